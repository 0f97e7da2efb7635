/* The functions the cap interposes: each one's wrapper, and the driver's own function it
 * forwards to, learned from dlsym, cuGetProcAddress or the loaded driver. */
#pragma once

#include <stdbool.h>

/* X(variant, base name as cuGetProcAddress is asked for it, the CUDA version that introduced
 *   the variant, whether it is the per-thread-default-stream variant). NVML's have no base. */
#define GPUCAP_HOOKS(X)                                                   \
  X(cuMemAlloc_v2, "cuMemAlloc", 3020, false)                             \
  X(cuMemAllocPitch_v2, "cuMemAllocPitch", 3020, false)                   \
  X(cuMemAllocManaged, "cuMemAllocManaged", 6000, false)                  \
  X(cuMemAllocAsync, "cuMemAllocAsync", 11020, false)                     \
  X(cuMemAllocAsync_ptsz, "cuMemAllocAsync", 11020, true)                 \
  X(cuMemAllocFromPoolAsync, "cuMemAllocFromPoolAsync", 11020, false)     \
  X(cuMemAllocFromPoolAsync_ptsz, "cuMemAllocFromPoolAsync", 11020, true) \
  X(cuMemCreate, "cuMemCreate", 10020, false)                             \
  X(cuMemFree_v2, "cuMemFree", 3020, false)                               \
  X(cuMemFreeAsync, "cuMemFreeAsync", 11020, false)                       \
  X(cuMemFreeAsync_ptsz, "cuMemFreeAsync", 11020, true)                   \
  X(cuMemRelease, "cuMemRelease", 10020, false)                           \
  X(cuArrayCreate_v2, "cuArrayCreate", 3020, false)                       \
  X(cuArray3DCreate_v2, "cuArray3DCreate", 3020, false)                   \
  X(cuArrayDestroy, "cuArrayDestroy", 2000, false)                        \
  X(cuMipmappedArrayCreate, "cuMipmappedArrayCreate", 5000, false)        \
  X(cuMipmappedArrayDestroy, "cuMipmappedArrayDestroy", 5000, false)      \
  X(cuMemGetInfo_v2, "cuMemGetInfo", 3020, false)                         \
  X(cuDeviceTotalMem_v2, "cuDeviceTotalMem", 3020, false)                 \
  X(cuGetProcAddress, "cuGetProcAddress", 11030, false)                   \
  X(cuGetProcAddress_v2, "cuGetProcAddress", 12000, false)                \
  X(nvmlDeviceGetMemoryInfo, "", 0, false)                                \
  X(nvmlDeviceGetMemoryInfo_v2, "", 0, false)

enum hook {
#define GPUCAP_HOOK_ENUM(variant, base, version, per_thread) HOOK_##variant,
  GPUCAP_HOOKS(GPUCAP_HOOK_ENUM)
#undef GPUCAP_HOOK_ENUM
      HOOK_COUNT
};

/* The hook whose wrapper stands for this exported name ("cuMemAlloc_v2"); -1 for none. */
int hook_by_name(const char* name);
/* The variant cuGetProcAddress(base, version, flags) hands out, when it is one the cap
 * wraps; -1 otherwise (the driver's pointer is passed on unchanged). */
int hook_for_request(const char* base, int cuda_version, unsigned long long flags);
void* hook_wrapper(enum hook which);
/* Records the driver's function behind a hook, as dlsym or cuGetProcAddress returned it. */
void hook_learn_real(enum hook which, void* real);
/* The driver's function behind a hook; looked up in the loaded driver when not learned yet.
 * NULL when no driver is loaded. */
void* hook_real(enum hook which);

/* A function of the loaded CUDA driver or NVML that the cap calls but does not wrap. */
void* driver_function(const char* name);
void* nvml_function(const char* name);

/* glibc's own dlsym, past the cap's. */
void* real_dlsym(void* handle, const char* name);
