/* The CUDA driver's allocation, free and memory-query calls, counted against the session's
 * share: an allocation first reserves its bytes in the shared account (so two processes
 * cannot both take the last gigabyte), then calls the driver, and gives the bytes back if the
 * driver refused. Past the share the answer is CUDA_ERROR_OUT_OF_MEMORY, the one error on
 * which PyTorch empties its cache and tries again. */
#include <stdbool.h>

#include "gpu_cap/account.h"
#include "gpu_cap/allocations.h"
#include "gpu_cap/cap_state.h"
#include "gpu_cap/real_functions.h"
#include "gpu_cap/wrappers.h"

/* Set while this thread is inside the driver: a driver that calls its own exported functions
 * (through the cap's) must not count the same memory twice. */
/* initial-exec: the library is preloaded, so its thread-locals are in the static block and
 * reading one is a plain memory access. */
static __thread int inside_driver __attribute__((tls_model("initial-exec")));
#define DRIVER(call)                  \
  ({                                  \
    ++inside_driver;                  \
    CUresult driver_result_ = (call); \
    --inside_driver;                  \
    driver_result_;                   \
  })

/* Reserves `bytes` on `device`; CUDA_ERROR_OUT_OF_MEMORY when the share has no room. */
static CUresult reserve(int device, uint64_t bytes) {
  if (account_reserve(device, bytes, cap_limit_bytes())) return CUDA_SUCCESS;
  cap_complain_once(COMPLAINT_OVER_LIMIT,
                    "gpupool: GPU memory allocation refused: it would exceed this session's "
                    "share of the GPU");
  return CUDA_ERROR_OUT_OF_MEMORY;
}

/* Finds the device and reserves on it; on success the caller calls the driver and settles. */
static CUresult begin(bool current, CUdevice ordinal, uint64_t bytes, int* device) {
  cap_after_fork_check();
  if (!cap_ready()) return CUDA_ERROR_OUT_OF_MEMORY;
  CUresult found = current ? cap_current_device(device) : cap_device_of(ordinal, device);
  return found == CUDA_SUCCESS ? reserve(*device, bytes) : found;
}

/* After the driver answered: keep the reservation under the allocation's key, or give it
 * back. */
static void settle(CUresult result, enum allocation_kind kind, uint64_t key, int device,
                   uint64_t bytes) {
  if (result != CUDA_SUCCESS) {
    account_release(device, bytes);
    return;
  }
  struct allocation replaced;
  if (!allocations_add(kind, key, (struct allocation){bytes, device}, &replaced)) {
    account_release(device, bytes); /* not remembered: its free would go uncounted */
  }
  if (replaced.bytes > 0) account_release(replaced.device, replaced.bytes);
}

/* A free the driver carried out: what the allocation reserved goes back. */
static void give_back(CUresult result, enum allocation_kind kind, uint64_t key) {
  cap_after_fork_check();
  struct allocation allocation;
  if (result == CUDA_SUCCESS && allocations_take(kind, key, &allocation)) {
    account_release(allocation.device, allocation.bytes);
  }
}

#define REAL(variant) ((__typeof__(&wrap_##variant))hook_real(HOOK_##variant))
/* The driver's function, or CUDA_ERROR_NOT_FOUND out of the wrapper when none is loaded;
 * called straight away when the driver itself called the wrapper. */
#define REAL_OR_RETURN(name, variant, ...)          \
  __typeof__(&wrap_##variant) name = REAL(variant); \
  if (name == NULL) return CUDA_ERROR_NOT_FOUND;    \
  if (inside_driver > 0) return name(__VA_ARGS__)

CUresult wrap_cuMemAlloc_v2(CUdeviceptr* pointer, size_t bytes) {
  REAL_OR_RETURN(real, cuMemAlloc_v2, pointer, bytes);
  int device = 0;
  CUresult result = begin(true, 0, bytes, &device);
  if (result != CUDA_SUCCESS) return result;
  result = DRIVER(real(pointer, bytes));
  settle(result, ALLOCATION_POINTER, result == CUDA_SUCCESS ? *pointer : 0, device, bytes);
  return result;
}

CUresult wrap_cuMemAllocPitch_v2(CUdeviceptr* pointer, size_t* pitch, size_t width, size_t height,
                                 unsigned int element_bytes) {
  REAL_OR_RETURN(real, cuMemAllocPitch_v2, pointer, pitch, width, height, element_bytes);
  /* The driver picks the pitch; reserve rows rounded up to 512 bytes, then the exact size. */
  uint64_t estimate = ((uint64_t)width + 511) / 512 * 512 * height;
  int device = 0;
  CUresult result = begin(true, 0, estimate, &device);
  if (result != CUDA_SUCCESS) return result;
  result = DRIVER(real(pointer, pitch, width, height, element_bytes));
  if (result != CUDA_SUCCESS) {
    account_release(device, estimate);
    return result;
  }
  uint64_t exact = (uint64_t)*pitch * height;
  if (exact > estimate && reserve(device, exact - estimate) != CUDA_SUCCESS) {
    account_release(device, estimate);
    __typeof__(&wrap_cuMemFree_v2) real_free = REAL(cuMemFree_v2);
    if (real_free != NULL) DRIVER(real_free(*pointer));
    return CUDA_ERROR_OUT_OF_MEMORY;
  }
  if (exact < estimate) account_release(device, estimate - exact);
  settle(CUDA_SUCCESS, ALLOCATION_POINTER, *pointer, device, exact);
  return CUDA_SUCCESS;
}

CUresult wrap_cuMemAllocManaged(CUdeviceptr* pointer, size_t bytes, unsigned int flags) {
  REAL_OR_RETURN(real, cuMemAllocManaged, pointer, bytes, flags);
  int device = 0;
  CUresult result = begin(true, 0, bytes, &device);
  if (result != CUDA_SUCCESS) return result;
  result = DRIVER(real(pointer, bytes, flags));
  settle(result, ALLOCATION_POINTER, result == CUDA_SUCCESS ? *pointer : 0, device, bytes);
  return result;
}

/* Stream-ordered allocations count from the call: the bytes are the session's from then on. */
#define ALLOC_ASYNC(variant)                                                                  \
  CUresult wrap_##variant(CUdeviceptr* pointer, size_t bytes, CUstream stream) {              \
    REAL_OR_RETURN(real, variant, pointer, bytes, stream);                                    \
    int device = 0;                                                                           \
    CUresult result = begin(true, 0, bytes, &device);                                         \
    if (result != CUDA_SUCCESS) return result;                                                \
    result = DRIVER(real(pointer, bytes, stream));                                            \
    settle(result, ALLOCATION_POINTER, result == CUDA_SUCCESS ? *pointer : 0, device, bytes); \
    return result;                                                                            \
  }
ALLOC_ASYNC(cuMemAllocAsync)
ALLOC_ASYNC(cuMemAllocAsync_ptsz)

#define ALLOC_FROM_POOL(variant)                                                              \
  CUresult wrap_##variant(CUdeviceptr* pointer, size_t bytes, CUmemoryPool pool,              \
                          CUstream stream) {                                                  \
    REAL_OR_RETURN(real, variant, pointer, bytes, pool, stream);                              \
    int device = 0;                                                                           \
    CUresult result = begin(true, 0, bytes, &device);                                         \
    if (result != CUDA_SUCCESS) return result;                                                \
    result = DRIVER(real(pointer, bytes, pool, stream));                                      \
    settle(result, ALLOCATION_POINTER, result == CUDA_SUCCESS ? *pointer : 0, device, bytes); \
    return result;                                                                            \
  }
ALLOC_FROM_POOL(cuMemAllocFromPoolAsync)
ALLOC_FROM_POOL(cuMemAllocFromPoolAsync_ptsz)

CUresult wrap_cuMemCreate(CUmemGenericAllocationHandle* handle, size_t bytes,
                          const CUmemAllocationProp* properties, unsigned long long flags) {
  REAL_OR_RETURN(real, cuMemCreate, handle, bytes, properties, flags);
  /* Host and NUMA-node allocations (NCCL makes them) are not the GPU's memory. */
  if (properties == NULL || properties->location.type != CU_MEM_LOCATION_TYPE_DEVICE) {
    return real(handle, bytes, properties, flags);
  }
  int device = 0;
  CUresult result = begin(false, properties->location.id, bytes, &device);
  if (result != CUDA_SUCCESS) return result;
  result = DRIVER(real(handle, bytes, properties, flags));
  settle(result, ALLOCATION_HANDLE, result == CUDA_SUCCESS ? *handle : 0, device, bytes);
  return result;
}

CUresult wrap_cuMemFree_v2(CUdeviceptr pointer) {
  REAL_OR_RETURN(real, cuMemFree_v2, pointer);
  CUresult result = DRIVER(real(pointer));
  give_back(result, ALLOCATION_POINTER, pointer);
  return result;
}

#define FREE_ASYNC(variant)                                       \
  CUresult wrap_##variant(CUdeviceptr pointer, CUstream stream) { \
    REAL_OR_RETURN(real, variant, pointer, stream);               \
    CUresult result = DRIVER(real(pointer, stream));              \
    give_back(result, ALLOCATION_POINTER, pointer);               \
    return result;                                                \
  }
FREE_ASYNC(cuMemFreeAsync)
FREE_ASYNC(cuMemFreeAsync_ptsz)

CUresult wrap_cuMemRelease(CUmemGenericAllocationHandle handle) {
  REAL_OR_RETURN(real, cuMemRelease, handle);
  CUresult result = DRIVER(real(handle));
  give_back(result, ALLOCATION_HANDLE, handle);
  return result;
}

/* Bytes per channel of a CUarray_format; formats the cap does not know count as 4. */
static uint64_t format_bytes(int format) {
  switch (format) {
    case 0x01: /* UNSIGNED_INT8 */
    case 0x08: /* SIGNED_INT8 */
      return 1;
    case 0x02: /* UNSIGNED_INT16 */
    case 0x09: /* SIGNED_INT16 */
    case 0x10: /* HALF */
      return 2;
    default:
      return 4;
  }
}

static uint64_t array_bytes(size_t width, size_t height, size_t depth, int format,
                            unsigned int channels) {
  return (uint64_t)width * (height > 0 ? height : 1) * (depth > 0 ? depth : 1) *
         (channels > 0 ? channels : 1) * format_bytes(format);
}

/* Both array creations: the descriptor differs, the counting does not. */
typedef CUresult (*array_creation)(CUarray*, const void*);
static CUresult create_array(array_creation real, CUarray* array, const void* descriptor,
                             uint64_t bytes) {
  int device = 0;
  CUresult result = begin(true, 0, bytes, &device);
  if (result != CUDA_SUCCESS) return result;
  result = DRIVER(real(array, descriptor));
  settle(result, ALLOCATION_ARRAY, result == CUDA_SUCCESS ? (uint64_t)(uintptr_t)*array : 0, device,
         bytes);
  return result;
}

CUresult wrap_cuArrayCreate_v2(CUarray* array, const CUDA_ARRAY_DESCRIPTOR* descriptor) {
  REAL_OR_RETURN(real, cuArrayCreate_v2, array, descriptor);
  if (descriptor == NULL) return real(array, descriptor);
  return create_array((array_creation)real, array, descriptor,
                      array_bytes(descriptor->Width, descriptor->Height, 1, descriptor->Format,
                                  descriptor->NumChannels));
}

CUresult wrap_cuArray3DCreate_v2(CUarray* array, const CUDA_ARRAY3D_DESCRIPTOR* descriptor) {
  REAL_OR_RETURN(real, cuArray3DCreate_v2, array, descriptor);
  if (descriptor == NULL) return real(array, descriptor);
  return create_array((array_creation)real, array, descriptor,
                      array_bytes(descriptor->Width, descriptor->Height, descriptor->Depth,
                                  descriptor->Format, descriptor->NumChannels));
}

CUresult wrap_cuArrayDestroy(CUarray array) {
  REAL_OR_RETURN(real, cuArrayDestroy, array);
  CUresult result = DRIVER(real(array));
  give_back(result, ALLOCATION_ARRAY, (uint64_t)(uintptr_t)array);
  return result;
}

/* Each level halves every dimension the array has, down to 1. */
static uint64_t mipmap_bytes(const CUDA_ARRAY3D_DESCRIPTOR* descriptor, unsigned int levels) {
  uint64_t total = 0;
  size_t width = descriptor->Width, height = descriptor->Height, depth = descriptor->Depth;
  for (unsigned int level = 0; level < levels && level < 32; ++level) {
    total += array_bytes(width, height, depth, descriptor->Format, descriptor->NumChannels);
    width = width > 1 ? width / 2 : 1;
    height = height > 1 ? height / 2 : height;
    depth = depth > 1 ? depth / 2 : depth;
  }
  return total;
}

CUresult wrap_cuMipmappedArrayCreate(CUarray* array, const CUDA_ARRAY3D_DESCRIPTOR* descriptor,
                                     unsigned int levels) {
  REAL_OR_RETURN(real, cuMipmappedArrayCreate, array, descriptor, levels);
  if (descriptor == NULL) return real(array, descriptor, levels);
  uint64_t bytes = mipmap_bytes(descriptor, levels);
  int device = 0;
  CUresult result = begin(true, 0, bytes, &device);
  if (result != CUDA_SUCCESS) return result;
  result = DRIVER(real(array, descriptor, levels));
  settle(result, ALLOCATION_ARRAY, result == CUDA_SUCCESS ? (uint64_t)(uintptr_t)*array : 0, device,
         bytes);
  return result;
}

CUresult wrap_cuMipmappedArrayDestroy(CUarray array) {
  REAL_OR_RETURN(real, cuMipmappedArrayDestroy, array);
  CUresult result = DRIVER(real(array));
  give_back(result, ALLOCATION_ARRAY, (uint64_t)(uintptr_t)array);
  return result;
}

/* The share is the card as the session sees it: its size is the total, and free is what the
 * session has left of it (never more than the card really has free). */
CUresult wrap_cuMemGetInfo_v2(size_t* free_bytes, size_t* total_bytes) {
  REAL_OR_RETURN(real, cuMemGetInfo_v2, free_bytes, total_bytes);
  size_t real_free = 0;
  size_t real_total = 0;
  CUresult result = DRIVER(real(&real_free, &real_total));
  if (result != CUDA_SUCCESS) return result;
  cap_after_fork_check();
  int device = 0;
  if (!cap_ready()) return CUDA_ERROR_OUT_OF_MEMORY;
  result = cap_current_device(&device);
  if (result != CUDA_SUCCESS) return result;
  uint64_t limit = cap_limit_bytes();
  uint64_t used = account_used(device);
  uint64_t left = used < limit ? limit - used : 0;
  if (total_bytes != NULL) *total_bytes = (size_t)(limit < real_total ? limit : real_total);
  if (free_bytes != NULL) *free_bytes = (size_t)(left < real_free ? left : real_free);
  return CUDA_SUCCESS;
}

CUresult wrap_cuDeviceTotalMem_v2(size_t* bytes, CUdevice device) {
  REAL_OR_RETURN(real, cuDeviceTotalMem_v2, bytes, device);
  CUresult result = DRIVER(real(bytes, device));
  if (result != CUDA_SUCCESS || bytes == NULL) return result;
  if (!cap_ready()) return CUDA_ERROR_OUT_OF_MEMORY;
  if (cap_limit_bytes() < *bytes) *bytes = (size_t)cap_limit_bytes();
  return CUDA_SUCCESS;
}

GPUCAP_EXPORT(cuMemAlloc_v2, wrap_cuMemAlloc_v2);
GPUCAP_EXPORT(cuMemAllocPitch_v2, wrap_cuMemAllocPitch_v2);
GPUCAP_EXPORT(cuMemAllocManaged, wrap_cuMemAllocManaged);
GPUCAP_EXPORT(cuMemAllocAsync, wrap_cuMemAllocAsync);
GPUCAP_EXPORT(cuMemAllocAsync_ptsz, wrap_cuMemAllocAsync_ptsz);
GPUCAP_EXPORT(cuMemAllocFromPoolAsync, wrap_cuMemAllocFromPoolAsync);
GPUCAP_EXPORT(cuMemAllocFromPoolAsync_ptsz, wrap_cuMemAllocFromPoolAsync_ptsz);
GPUCAP_EXPORT(cuMemCreate, wrap_cuMemCreate);
GPUCAP_EXPORT(cuMemFree_v2, wrap_cuMemFree_v2);
GPUCAP_EXPORT(cuMemFreeAsync, wrap_cuMemFreeAsync);
GPUCAP_EXPORT(cuMemFreeAsync_ptsz, wrap_cuMemFreeAsync_ptsz);
GPUCAP_EXPORT(cuMemRelease, wrap_cuMemRelease);
GPUCAP_EXPORT(cuArrayCreate_v2, wrap_cuArrayCreate_v2);
GPUCAP_EXPORT(cuArray3DCreate_v2, wrap_cuArray3DCreate_v2);
GPUCAP_EXPORT(cuArrayDestroy, wrap_cuArrayDestroy);
GPUCAP_EXPORT(cuMipmappedArrayCreate, wrap_cuMipmappedArrayCreate);
GPUCAP_EXPORT(cuMipmappedArrayDestroy, wrap_cuMipmappedArrayDestroy);
GPUCAP_EXPORT(cuMemGetInfo_v2, wrap_cuMemGetInfo_v2);
GPUCAP_EXPORT(cuDeviceTotalMem_v2, wrap_cuDeviceTotalMem_v2);
