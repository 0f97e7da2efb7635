#include "gpu_cap/real_functions.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <string.h>

#include "gpu_cap/cuda_abi.h"
#include "gpu_cap/glibc_versions.h"
#include "gpu_cap/wrappers.h"

struct hook_entry {
  const char* name;
  const char* base;
  int version;
  bool per_thread;
  void* wrapper;
  _Atomic(void*) real;
};

static struct hook_entry hooks[HOOK_COUNT] = {
#define GPUCAP_HOOK_ENTRY(variant, base, version, per_thread) \
  [HOOK_##variant] = {#variant, base, version, per_thread, (void*)wrap_##variant, NULL},
    GPUCAP_HOOKS(GPUCAP_HOOK_ENTRY)
#undef GPUCAP_HOOK_ENTRY
};

typedef void* (*dlsym_function)(void*, const char*);
static _Atomic(dlsym_function) glibc_dlsym;

void* real_dlsym(void* handle, const char* name) {
  dlsym_function found = atomic_load_explicit(&glibc_dlsym, memory_order_relaxed);
  if (found == NULL) {
    /* dlsym carries GLIBC_2.34 since glibc moved it into libc, and its first version before;
     * dlvsym is not interposed, so RTLD_NEXT reaches glibc's. */
    static const char* const versions[] = {"GLIBC_2.34", GLIBC_BASE_VERSION};
    for (size_t index = 0; found == NULL && index < sizeof versions / sizeof *versions; ++index) {
      found = (dlsym_function)dlvsym(RTLD_NEXT, "dlsym", versions[index]);
    }
    if (found == NULL) return NULL;
    atomic_store(&glibc_dlsym, found);
  }
  return found(handle, name);
}

int hook_by_name(const char* name) {
  for (int index = 0; index < HOOK_COUNT; ++index) {
    if (strcmp(hooks[index].name, name) == 0) return index;
  }
  return -1;
}

int hook_for_request(const char* base, int cuda_version, unsigned long long flags) {
  bool per_thread = (flags & CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM) != 0;
  int chosen = -1;
  bool base_has_per_thread = false;
  for (int index = 0; index < HOOK_COUNT; ++index) {
    if (strcmp(hooks[index].base, base) == 0 && hooks[index].per_thread) base_has_per_thread = true;
  }
  for (int index = 0; index < HOOK_COUNT; ++index) {
    const struct hook_entry* hook = &hooks[index];
    if (hook->base[0] == '\0' || strcmp(hook->base, base) != 0) continue;
    if (hook->per_thread != (per_thread && base_has_per_thread)) continue;
    /* The newest variant at or before the version the caller was built for. */
    if (hook->version <= cuda_version && (chosen < 0 || hooks[chosen].version < hook->version)) {
      chosen = index;
    }
  }
  return chosen;
}

void* hook_wrapper(enum hook which) {
  return hooks[which].wrapper;
}

void hook_learn_real(enum hook which, void* real) {
  /* Never our own wrapper: that would make the wrapper call itself. */
  if (real == NULL || real == hooks[which].wrapper) return;
  atomic_store(&hooks[which].real, real);
}

/* The loaded library that holds `known` (a function of it), or the one loaded by `soname`. */
static void* loaded_library(enum hook known, const char* soname) {
  void* real = atomic_load(&hooks[known].real);
  Dl_info info;
  if (real != NULL && dladdr(real, &info) != 0 && info.dli_fname != NULL) {
    void* handle = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
    if (handle != NULL) return handle;
  }
  return dlopen(soname, RTLD_NOW | RTLD_NOLOAD);
}

/* The library behind two hooks, looked up once and kept. */
static void* cached_library(_Atomic(void*)* cache, enum hook first, enum hook second,
                            const char* soname) {
  void* found = atomic_load(cache);
  if (found == NULL) {
    found = loaded_library(first, soname);
    if (found == NULL) found = loaded_library(second, soname);
    atomic_store(cache, found);
  }
  return found;
}

static void* cuda_library(void) {
  static _Atomic(void*) handle;
  return cached_library(&handle, HOOK_cuGetProcAddress_v2, HOOK_cuMemAlloc_v2, "libcuda.so.1");
}

static void* nvml_library(void) {
  static _Atomic(void*) handle;
  return cached_library(&handle, HOOK_nvmlDeviceGetMemoryInfo, HOOK_nvmlDeviceGetMemoryInfo_v2,
                        "libnvidia-ml.so.1");
}

void* hook_real(enum hook which) {
  void* real = atomic_load(&hooks[which].real);
  if (real != NULL) return real;
  void* library = hooks[which].base[0] == '\0' ? nvml_library() : cuda_library();
  if (library == NULL) return NULL;
  hook_learn_real(which, real_dlsym(library, hooks[which].name));
  return atomic_load(&hooks[which].real);
}

void* driver_function(const char* name) {
  void* library = cuda_library();
  return library == NULL ? NULL : real_dlsym(library, name);
}

void* nvml_function(const char* name) {
  void* library = nvml_library();
  return library == NULL ? NULL : real_dlsym(library, name);
}
