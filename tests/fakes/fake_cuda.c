/* A stand-in for the driver's libcuda.so.1, for the GPU-memory cap's tests on machines without
 * a GPU: two devices of FAKE_CUDA_TOTAL_MB each (80 GiB unless set), memory that is only
 * counted, every allocation, free and query the cap interposes, and cuGetProcAddress in both
 * forms with the driver's choice of variant by version and per-thread flag. FAKE_CUDA_DELAY_MS
 * makes allocations wait inside the driver, so a test can kill a process mid-allocation. */
#define _GNU_SOURCE
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gpu_cap/cuda_abi.h"

enum { INVALID_DEVICE = 101, INVALID_CONTEXT = 201 };
enum { DEVICE_COUNT = 2, MAX_ALLOCATIONS = 4096 };

struct allocation {
  unsigned long long key;
  unsigned long long bytes;
  int device;
};

static struct allocation allocations[MAX_ALLOCATIONS];
static unsigned long long used[DEVICE_COUNT];
static _Atomic unsigned long long next_address = 0x7f0000000000ULL;
static __thread int current_device = -1;
static atomic_flag table_busy = ATOMIC_FLAG_INIT; /* threads allocate at once in the benchmark */

static void lock_table(void) {
  while (atomic_flag_test_and_set(&table_busy)) {
  }
}

static void unlock_table(void) {
  atomic_flag_clear(&table_busy);
}

static unsigned long long total_bytes(void) {
  const char* text = getenv("FAKE_CUDA_TOTAL_MB");
  return (text != NULL ? strtoull(text, NULL, 10) : 81920ULL) << 20;
}

static void delay(void) {
  const char* text = getenv("FAKE_CUDA_DELAY_MS");
  if (text == NULL) return;
  long milliseconds = strtol(text, NULL, 10);
  struct timespec wait = {milliseconds / 1000, (milliseconds % 1000) * 1000000L};
  nanosleep(&wait, NULL);
}

static CUresult take(int device, unsigned long long bytes, unsigned long long* key) {
  if (device < 0) return INVALID_CONTEXT;
  delay();
  unsigned long long total = total_bytes();
  CUresult result = CUDA_ERROR_OUT_OF_MEMORY;
  lock_table();
  for (int index = 0; index < MAX_ALLOCATIONS && used[device] + bytes <= total; ++index) {
    if (allocations[index].key == 0) {
      *key = atomic_fetch_add(&next_address, (bytes + 0x1fffff) / 0x200000 * 0x200000 + 0x200000);
      allocations[index] = (struct allocation){*key, bytes, device};
      used[device] += bytes;
      result = CUDA_SUCCESS;
      break;
    }
  }
  unlock_table();
  return result;
}

static CUresult give(unsigned long long key) {
  CUresult result = CUDA_ERROR_INVALID_VALUE;
  lock_table();
  for (int index = 0; index < MAX_ALLOCATIONS && key != 0; ++index) {
    if (allocations[index].key == key) {
      used[allocations[index].device] -= allocations[index].bytes;
      allocations[index].key = 0;
      result = CUDA_SUCCESS;
      break;
    }
  }
  unlock_table();
  return result;
}

CUresult cuInit(unsigned int flags) {
  (void)flags;
  return CUDA_SUCCESS;
}
CUresult cuDriverGetVersion(int* version) {
  *version = 12080;
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetCount(int* count) {
  *count = DEVICE_COUNT;
  return CUDA_SUCCESS;
}
CUresult cuDeviceGet(CUdevice* device, int ordinal) {
  if (ordinal < 0 || ordinal >= DEVICE_COUNT) return INVALID_DEVICE;
  *device = ordinal;
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetUuid(unsigned char* uuid, CUdevice device) {
  if (device < 0 || device >= DEVICE_COUNT) return INVALID_DEVICE;
  for (int index = 0; index < 16; ++index) uuid[index] = (unsigned char)(0xa0 + index + device);
  return CUDA_SUCCESS;
}
CUresult cuDeviceGetUuid_v2(unsigned char* uuid, CUdevice device) {
  return cuDeviceGetUuid(uuid, device);
}
CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice device) {
  if (device < 0 || device >= DEVICE_COUNT) return INVALID_DEVICE;
  *bytes = total_bytes();
  return CUDA_SUCCESS;
}
/* A context is only "the current device" here. */
CUresult cuCtxCreate_v2(void** context, unsigned int flags, CUdevice device) {
  (void)flags;
  if (device < 0 || device >= DEVICE_COUNT) return INVALID_DEVICE;
  current_device = device;
  *context = (void*)(size_t)(device + 1);
  return CUDA_SUCCESS;
}
CUresult cuCtxGetDevice(CUdevice* device) {
  if (current_device < 0) return INVALID_CONTEXT;
  *device = current_device;
  return CUDA_SUCCESS;
}
CUresult cuMemGetInfo_v2(size_t* free_bytes, size_t* total) {
  if (current_device < 0) return INVALID_CONTEXT;
  *free_bytes = total_bytes() - used[current_device];
  *total = total_bytes();
  return CUDA_SUCCESS;
}

CUresult cuMemAlloc_v2(CUdeviceptr* pointer, size_t bytes) {
  return take(current_device, bytes, pointer);
}
CUresult cuMemAllocPitch_v2(CUdeviceptr* pointer, size_t* pitch, size_t width, size_t height,
                            unsigned int element_bytes) {
  (void)element_bytes;
  *pitch = (width + 511) / 512 * 512;
  return take(current_device, *pitch * height, pointer);
}
CUresult cuMemAllocManaged(CUdeviceptr* pointer, size_t bytes, unsigned int flags) {
  (void)flags;
  return take(current_device, bytes, pointer);
}
CUresult cuMemAllocAsync(CUdeviceptr* pointer, size_t bytes, void* stream) {
  (void)stream;
  return take(current_device, bytes, pointer);
}
CUresult cuMemAllocAsync_ptsz(CUdeviceptr* pointer, size_t bytes, void* stream) {
  return cuMemAllocAsync(pointer, bytes, stream);
}
CUresult cuMemAllocFromPoolAsync(CUdeviceptr* pointer, size_t bytes, void* pool, void* stream) {
  (void)pool;
  return cuMemAllocAsync(pointer, bytes, stream);
}
CUresult cuMemAllocFromPoolAsync_ptsz(CUdeviceptr* pointer, size_t bytes, void* pool,
                                      void* stream) {
  return cuMemAllocFromPoolAsync(pointer, bytes, pool, stream);
}
CUresult cuMemCreate(CUmemGenericAllocationHandle* handle, size_t bytes,
                     const CUmemAllocationProp* prop, unsigned long long flags) {
  (void)flags;
  if (prop == NULL) return CUDA_ERROR_INVALID_VALUE;
  /* Host memory: not the device's. */
  if (prop->location.type != CU_MEM_LOCATION_TYPE_DEVICE) {
    *handle = atomic_fetch_add(&next_address, 0x200000);
    return CUDA_SUCCESS;
  }
  return take(prop->location.id, bytes, handle);
}
CUresult cuMemFree_v2(CUdeviceptr pointer) {
  return give(pointer);
}
CUresult cuMemFreeAsync(CUdeviceptr pointer, void* stream) {
  (void)stream;
  return give(pointer);
}
CUresult cuMemFreeAsync_ptsz(CUdeviceptr pointer, void* stream) {
  return cuMemFreeAsync(pointer, stream);
}
CUresult cuMemRelease(CUmemGenericAllocationHandle handle) {
  give(handle);
  return CUDA_SUCCESS;
}
CUresult cuArrayCreate_v2(void** array, const CUDA_ARRAY_DESCRIPTOR* descriptor) {
  unsigned long long key = 0;
  CUresult result = take(current_device,
                         descriptor->Width * (descriptor->Height ? descriptor->Height : 1) *
                             descriptor->NumChannels * 4,
                         &key);
  *array = (void*)(size_t)key;
  return result;
}
CUresult cuArray3DCreate_v2(void** array, const CUDA_ARRAY3D_DESCRIPTOR* descriptor) {
  unsigned long long key = 0;
  CUresult result =
      take(current_device,
           descriptor->Width * (descriptor->Height ? descriptor->Height : 1) *
               (descriptor->Depth ? descriptor->Depth : 1) * descriptor->NumChannels * 4,
           &key);
  *array = (void*)(size_t)key;
  return result;
}
CUresult cuMipmappedArrayCreate(void** array, const CUDA_ARRAY3D_DESCRIPTOR* descriptor,
                                unsigned int levels) {
  (void)levels; /* the stand-in keeps the first level only; the cap counts them all */
  return cuArray3DCreate_v2(array, descriptor);
}
CUresult cuMipmappedArrayDestroy(void* array) {
  return give((unsigned long long)(size_t)array);
}
CUresult cuArrayDestroy(void* array) {
  return give((unsigned long long)(size_t)array);
}
CUresult cuGetErrorString(CUresult error, const char** text) {
  *text = error == CUDA_ERROR_OUT_OF_MEMORY ? "out of memory" : "error";
  return CUDA_SUCCESS;
}

/* What cuGetProcAddress knows: the base name, the version each variant came with, whether it
 * is the per-thread-default-stream variant. */
struct entry {
  const char* base;
  int version;
  bool per_thread;
  void* function;
};
CUresult cuGetProcAddress(const char* symbol, void** function, int version,
                          unsigned long long flags);
CUresult cuGetProcAddress_v2(const char* symbol, void** function, int version,
                             unsigned long long flags, int* status);
static const struct entry entries[] = {
    {"cuInit", 2000, false, (void*)cuInit},
    {"cuDriverGetVersion", 2020, false, (void*)cuDriverGetVersion},
    {"cuDeviceGet", 2000, false, (void*)cuDeviceGet},
    {"cuDeviceGetCount", 2000, false, (void*)cuDeviceGetCount},
    {"cuDeviceGetUuid", 9020, false, (void*)cuDeviceGetUuid},
    {"cuDeviceGetUuid", 11040, false, (void*)cuDeviceGetUuid_v2},
    {"cuDeviceTotalMem", 3020, false, (void*)cuDeviceTotalMem_v2},
    {"cuCtxCreate", 3020, false, (void*)cuCtxCreate_v2},
    {"cuCtxGetDevice", 2000, false, (void*)cuCtxGetDevice},
    {"cuMemGetInfo", 3020, false, (void*)cuMemGetInfo_v2},
    {"cuMemAlloc", 3020, false, (void*)cuMemAlloc_v2},
    {"cuMemAllocPitch", 3020, false, (void*)cuMemAllocPitch_v2},
    {"cuMemAllocManaged", 6000, false, (void*)cuMemAllocManaged},
    {"cuMemAllocAsync", 11020, false, (void*)cuMemAllocAsync},
    {"cuMemAllocAsync", 11020, true, (void*)cuMemAllocAsync_ptsz},
    {"cuMemAllocFromPoolAsync", 11020, false, (void*)cuMemAllocFromPoolAsync},
    {"cuMemAllocFromPoolAsync", 11020, true, (void*)cuMemAllocFromPoolAsync_ptsz},
    {"cuMemCreate", 10020, false, (void*)cuMemCreate},
    {"cuMemFree", 3020, false, (void*)cuMemFree_v2},
    {"cuMemFreeAsync", 11020, false, (void*)cuMemFreeAsync},
    {"cuMemFreeAsync", 11020, true, (void*)cuMemFreeAsync_ptsz},
    {"cuMemRelease", 10020, false, (void*)cuMemRelease},
    {"cuArrayCreate", 3020, false, (void*)cuArrayCreate_v2},
    {"cuArray3DCreate", 3020, false, (void*)cuArray3DCreate_v2},
    {"cuArrayDestroy", 2000, false, (void*)cuArrayDestroy},
    {"cuMipmappedArrayCreate", 5000, false, (void*)cuMipmappedArrayCreate},
    {"cuMipmappedArrayDestroy", 5000, false, (void*)cuMipmappedArrayDestroy},
    {"cuGetErrorString", 6000, false, (void*)cuGetErrorString},
    {"cuGetProcAddress", 11030, false, (void*)cuGetProcAddress},
    {"cuGetProcAddress", 12000, false, (void*)cuGetProcAddress_v2},
};

CUresult cuGetProcAddress_v2(const char* symbol, void** function, int version,
                             unsigned long long flags, int* status) {
  bool per_thread = (flags & 2) != 0;
  const struct entry* chosen = NULL;
  bool known = false;
  for (size_t pass = 0; pass < 2 && chosen == NULL; ++pass) {
    for (size_t index = 0; index < sizeof entries / sizeof *entries; ++index) {
      const struct entry* entry = &entries[index];
      if (strcmp(entry->base, symbol) != 0) continue;
      known = true;
      /* First the per-thread variant when asked for one, then the default. */
      if (entry->per_thread != (per_thread && pass == 0)) continue;
      if (entry->version <= version && (chosen == NULL || chosen->version < entry->version)) {
        chosen = entry;
      }
    }
  }
  *function = chosen == NULL ? NULL : chosen->function;
  if (status != NULL) *status = chosen != NULL ? 0 : known ? 2 : 1;
  return chosen != NULL ? CUDA_SUCCESS : CUDA_ERROR_NOT_FOUND;
}

CUresult cuGetProcAddress(const char* symbol, void** function, int version,
                          unsigned long long flags) {
  return cuGetProcAddress_v2(symbol, function, version, flags, NULL);
}
