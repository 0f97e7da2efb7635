/* Drives the CUDA driver as programs do, for the GPU-memory cap's tests: finds the driver's
 * functions the way CUDA's runtime does (dlopen + dlsym of cuGetProcAddress_v2, then each
 * function through it, with the per-thread flag or without), the way ctypes does (dlsym), or
 * linked to the driver (the build with CAP_CLIENT_LINKED). Each argument is one step; each
 * step prints one line:
 *   alloc:KIND:MB   KIND: plain pitch managed async pool vmm host-vmm array array3d mipmap
 *   free-all  info  info-null  total  hold  where:NAME  next-dlsym  nvml:LIBRARY  fork:MB
 * Exit status 0 unless the driver could not be set up. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gpu_cap/cuda_abi.h"

/* The driver's allocation properties are longer than the part the cap reads. */
struct allocation_properties {
  CUmemAllocationProp known;
  char rest[48];
};
enum { FORMAT_FLOAT = 0x20, PINNED = 1, LOCATION_HOST = 2 };

static const char* via = "procaddress";
static void* driver;

#ifdef CAP_CLIENT_LINKED
/* Linked to the driver: the names bind at load time, to the cap's when it is preloaded. */
CUresult cuMemAlloc_v2(CUdeviceptr*, size_t);
CUresult cuMemFree_v2(CUdeviceptr);
CUresult cuMemGetInfo_v2(size_t*, size_t*);
CUresult cuCtxCreate_v2(void**, unsigned int, int);
CUresult cuInit(unsigned int);
static void* linked_function(const char* name) {
  if (strcmp(name, "cuMemAlloc_v2") == 0) return (void*)cuMemAlloc_v2;
  if (strcmp(name, "cuMemFree_v2") == 0) return (void*)cuMemFree_v2;
  if (strcmp(name, "cuMemGetInfo_v2") == 0) return (void*)cuMemGetInfo_v2;
  if (strcmp(name, "cuCtxCreate_v2") == 0) return (void*)cuCtxCreate_v2;
  if (strcmp(name, "cuInit") == 0) return (void*)cuInit;
  return NULL;
}
#endif

/* `base` as cuGetProcAddress is asked, `exported` as the library exports it. */
static void* function(const char* base, const char* exported) {
#ifdef CAP_CLIENT_LINKED
  (void)base;
  return linked_function(exported);
#else
  if (strcmp(via, "dlsym") == 0) return dlsym(driver, exported);
  typedef CUresult (*get_proc_address)(const char*, void**, int, unsigned long long, int*);
  get_proc_address lookup = (get_proc_address)dlsym(driver, "cuGetProcAddress_v2");
  void* found = NULL;
  int status = 0;
  unsigned long long flags = strcmp(via, "procaddress-per-thread") == 0 ? 2 : 0;
  if (lookup == NULL || lookup(base, &found, 12080, flags, &status) != 0) return NULL;
  return found;
#endif
}

#define CALL(type, base, exported, ...)         \
  ({                                            \
    type call = (type)function(base, exported); \
    call == NULL ? -1 : call(__VA_ARGS__);      \
  })

typedef CUresult (*alloc_fn)(CUdeviceptr*, size_t);
typedef CUresult (*alloc_flags_fn)(CUdeviceptr*, size_t, unsigned int);
typedef CUresult (*alloc_stream_fn)(CUdeviceptr*, size_t, void*);
typedef CUresult (*alloc_pool_fn)(CUdeviceptr*, size_t, void*, void*);
typedef CUresult (*pitch_fn)(CUdeviceptr*, size_t*, size_t, size_t, unsigned int);
typedef CUresult (*create_fn)(unsigned long long*, size_t, const struct allocation_properties*,
                              unsigned long long);
typedef CUresult (*free_fn)(CUdeviceptr);
typedef CUresult (*free_stream_fn)(CUdeviceptr, void*);
typedef CUresult (*array_fn)(void**, const void*);
typedef CUresult (*destroy_fn)(void*);
typedef CUresult (*info_fn)(size_t*, size_t*);
typedef CUresult (*total_fn)(size_t*, int);

struct held {
  char kind[32];
  unsigned long long key;
};
static struct held held[1024];
static int held_count;

static CUresult allocate(const char* kind, size_t bytes, unsigned long long* key) {
  if (strcmp(kind, "plain") == 0) return CALL(alloc_fn, "cuMemAlloc", "cuMemAlloc_v2", key, bytes);
  if (strcmp(kind, "managed") == 0)
    return CALL(alloc_flags_fn, "cuMemAllocManaged", "cuMemAllocManaged", key, bytes, 1);
  const char* per_thread = strcmp(via, "dlsym") == 0 && getenv("CAP_CLIENT_PTSZ") ? "_ptsz" : "";
  char name[64];
  if (strcmp(kind, "async") == 0) {
    snprintf(name, sizeof name, "cuMemAllocAsync%s", per_thread);
    return CALL(alloc_stream_fn, "cuMemAllocAsync", name, key, bytes, NULL);
  }
  if (strcmp(kind, "pool") == 0) {
    snprintf(name, sizeof name, "cuMemAllocFromPoolAsync%s", per_thread);
    return CALL(alloc_pool_fn, "cuMemAllocFromPoolAsync", name, key, bytes, NULL, NULL);
  }
  if (strcmp(kind, "pitch") == 0) {
    size_t pitch = 0;
    return CALL(pitch_fn, "cuMemAllocPitch", "cuMemAllocPitch_v2", key, &pitch, 1 << 20,
                bytes >> 20, 4);
  }
  if (strcmp(kind, "vmm") == 0 || strcmp(kind, "host-vmm") == 0) {
    struct allocation_properties properties = {
        {PINNED, 0, {strcmp(kind, "vmm") == 0 ? CU_MEM_LOCATION_TYPE_DEVICE : LOCATION_HOST, 0}},
        {0}};
    return CALL(create_fn, "cuMemCreate", "cuMemCreate", key, bytes, &properties, 0);
  }
  if (strcmp(kind, "mipmap") == 0) {
    /* Two levels: MB, then an eighth of it (every dimension halved). */
    void* array = NULL;
    CUDA_ARRAY3D_DESCRIPTOR descriptor = {bytes / 4096, 512, 2, FORMAT_FLOAT, 1, 0};
    typedef CUresult (*mipmap_fn)(void**, const void*, unsigned int);
    CUresult result =
        CALL(mipmap_fn, "cuMipmappedArrayCreate", "cuMipmappedArrayCreate", &array, &descriptor, 2);
    *key = (unsigned long long)(size_t)array;
    return result;
  }
  if (strcmp(kind, "array") == 0 || strcmp(kind, "array3d") == 0) {
    /* One 32-bit float channel: width × 1024 rows, or width × 512 rows × 2 layers. */
    void* array = NULL;
    CUresult result;
    if (strcmp(kind, "array") == 0) {
      CUDA_ARRAY_DESCRIPTOR descriptor = {bytes / 4096, 1024, FORMAT_FLOAT, 1};
      result = CALL(array_fn, "cuArrayCreate", "cuArrayCreate_v2", &array, &descriptor);
    } else {
      CUDA_ARRAY3D_DESCRIPTOR descriptor = {bytes / 4096, 512, 2, FORMAT_FLOAT, 1, 0};
      result = CALL(array_fn, "cuArray3DCreate", "cuArray3DCreate_v2", &array, &descriptor);
    }
    *key = (unsigned long long)(size_t)array;
    return result;
  }
  return -2;
}

static CUresult release(const struct held* item) {
  if (strcmp(item->kind, "vmm") == 0 || strcmp(item->kind, "host-vmm") == 0)
    return CALL(free_fn, "cuMemRelease", "cuMemRelease", item->key);
  if (strcmp(item->kind, "mipmap") == 0)
    return CALL(destroy_fn, "cuMipmappedArrayDestroy", "cuMipmappedArrayDestroy",
                (void*)(size_t)item->key);
  if (strcmp(item->kind, "array") == 0 || strcmp(item->kind, "array3d") == 0)
    return CALL(destroy_fn, "cuArrayDestroy", "cuArrayDestroy", (void*)(size_t)item->key);
  if (strcmp(item->kind, "async") == 0 || strcmp(item->kind, "pool") == 0)
    return CALL(free_stream_fn, "cuMemFreeAsync", "cuMemFreeAsync", item->key, NULL);
  return CALL(free_fn, "cuMemFree", "cuMemFree_v2", item->key);
}

/* "LIBRARY SYMBOL" of the function at `pointer`, as the dynamic linker knows it. */
static void print_origin(const char* label, void* pointer) {
  Dl_info info;
  if (pointer == NULL || dladdr(pointer, &info) == 0 || info.dli_fname == NULL) {
    printf("%s none\n", label);
    return;
  }
  printf("%s %s %s\n", label, basename((char*)info.dli_fname),
         info.dli_sname != NULL ? info.dli_sname : "?");
}

static void step(const char* argument) {
  char kind[32];
  unsigned long megabytes = 0;
  if (sscanf(argument, "alloc:%31[a-z0-9-]:%lu", kind, &megabytes) == 2) {
    unsigned long long key = 0;
    CUresult result = allocate(kind, (size_t)megabytes << 20, &key);
    if (result == 0 && held_count < 1024) {
      snprintf(held[held_count].kind, sizeof held[held_count].kind, "%s", kind);
      held[held_count++].key = key;
    }
    printf("alloc %s %lu %s %d\n", kind, megabytes, result == 0 ? "ok" : "error", result);
  } else if (strcmp(argument, "free-all") == 0) {
    int failures = 0;
    while (held_count > 0) failures += release(&held[--held_count]) != 0;
    printf("free-all %s\n", failures == 0 ? "ok" : "error");
  } else if (strcmp(argument, "info") == 0 || strcmp(argument, "info-null") == 0) {
    size_t free_bytes = 0;
    size_t total = 0;
    CUresult result = CALL(info_fn, "cuMemGetInfo", "cuMemGetInfo_v2",
                           strcmp(argument, "info") == 0 ? &free_bytes : NULL, &total);
    printf("%s %d free_mb=%zu total_mb=%zu\n", argument, result, free_bytes >> 20, total >> 20);
  } else if (strcmp(argument, "total") == 0) {
    size_t total = 0;
    CUresult result = CALL(total_fn, "cuDeviceTotalMem", "cuDeviceTotalMem_v2", &total, 0);
    printf("total %d total_mb=%zu\n", result, total >> 20);
  } else if (strcmp(argument, "hold") == 0) {
    printf("holding\n");
    fflush(stdout);
    pause();
  } else if (strncmp(argument, "where:", 6) == 0) {
    /* "where:cuMemAlloc/cuMemAlloc_v2" */
    char base[64];
    char exported[64];
    if (sscanf(argument + 6, "%63[^/]/%63s", base, exported) == 2)
      print_origin("where", function(base, exported));
  } else if (strcmp(argument, "next-dlsym") == 0) {
    print_origin("next-dlsym", dlsym(RTLD_NEXT, "dlsym"));
  } else if (strncmp(argument, "nvml:", 5) == 0) {
    void* nvml = dlopen(argument + 5, RTLD_NOW);
    typedef int (*init_fn)(void);
    typedef int (*handle_fn)(unsigned int, void**);
    typedef int (*memory_fn)(void*, unsigned long long*);
    init_fn init = nvml ? (init_fn)dlsym(nvml, "nvmlInit_v2") : NULL;
    handle_fn handle = nvml ? (handle_fn)dlsym(nvml, "nvmlDeviceGetHandleByIndex_v2") : NULL;
    memory_fn memory = nvml ? (memory_fn)dlsym(nvml, "nvmlDeviceGetMemoryInfo") : NULL;
    void* device = NULL;
    unsigned long long values[3] = {0, 0, 0}; /* total, free, used */
    int result = init && handle && memory && init() == 0 && handle(0, &device) == 0
                     ? memory(device, values)
                     : -1;
    printf("nvml %d total_mb=%llu free_mb=%llu used_mb=%llu\n", result, values[0] >> 20,
           values[1] >> 20, values[2] >> 20);
  } else if (sscanf(argument, "fork:%lu", &megabytes) == 1) {
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
      unsigned long long key = 0;
      printf("child alloc %lu %s\n", megabytes,
             allocate("plain", (size_t)megabytes << 20, &key) == 0 ? "ok" : "error");
      fflush(stdout);
      _exit(0);
    }
    waitpid(child, NULL, 0);
  } else {
    printf("unknown step %s\n", argument);
  }
  fflush(stdout);
}

int main(int argc, char** argv) {
  int first = 1;
  if (argc > 2 && strcmp(argv[1], "--via") == 0) {
    via = argv[2];
    first = 3;
  }
  driver = dlopen("libcuda.so.1", RTLD_NOW);
  if (driver == NULL) {
    fprintf(stderr, "no driver: %s\n", dlerror());
    return 2;
  }
  void* context = NULL;
  typedef CUresult (*init_fn)(unsigned int);
  typedef CUresult (*context_fn)(void**, unsigned int, int);
  if (CALL(init_fn, "cuInit", "cuInit", 0) != 0 ||
      CALL(context_fn, "cuCtxCreate", "cuCtxCreate_v2", &context, 0, 0) != 0) {
    fprintf(stderr, "the driver did not start\n");
    return 2;
  }
  for (int index = first; index < argc; ++index) step(argv[index]);
  return 0;
}
