/* The cap's wrappers, one per hooked variant (real_functions.h lists them). Each is exported
 * under the driver's own name too, for programs linked against libcuda or NVML directly. */
#pragma once

#include "gpu_cap/cuda_abi.h"

CUresult wrap_cuMemAlloc_v2(CUdeviceptr* pointer, size_t bytes);
CUresult wrap_cuMemAllocPitch_v2(CUdeviceptr* pointer, size_t* pitch, size_t width, size_t height,
                                 unsigned int element_bytes);
CUresult wrap_cuMemAllocManaged(CUdeviceptr* pointer, size_t bytes, unsigned int flags);
CUresult wrap_cuMemAllocAsync(CUdeviceptr* pointer, size_t bytes, CUstream stream);
CUresult wrap_cuMemAllocAsync_ptsz(CUdeviceptr* pointer, size_t bytes, CUstream stream);
CUresult wrap_cuMemAllocFromPoolAsync(CUdeviceptr* pointer, size_t bytes, CUmemoryPool pool,
                                      CUstream stream);
CUresult wrap_cuMemAllocFromPoolAsync_ptsz(CUdeviceptr* pointer, size_t bytes, CUmemoryPool pool,
                                           CUstream stream);
CUresult wrap_cuMemCreate(CUmemGenericAllocationHandle* handle, size_t bytes,
                          const CUmemAllocationProp* properties, unsigned long long flags);
CUresult wrap_cuMemFree_v2(CUdeviceptr pointer);
CUresult wrap_cuMemFreeAsync(CUdeviceptr pointer, CUstream stream);
CUresult wrap_cuMemFreeAsync_ptsz(CUdeviceptr pointer, CUstream stream);
CUresult wrap_cuMemRelease(CUmemGenericAllocationHandle handle);
CUresult wrap_cuArrayCreate_v2(CUarray* array, const CUDA_ARRAY_DESCRIPTOR* descriptor);
CUresult wrap_cuArray3DCreate_v2(CUarray* array, const CUDA_ARRAY3D_DESCRIPTOR* descriptor);
CUresult wrap_cuArrayDestroy(CUarray array);
CUresult wrap_cuMipmappedArrayCreate(CUarray* array, const CUDA_ARRAY3D_DESCRIPTOR* descriptor,
                                     unsigned int levels);
CUresult wrap_cuMipmappedArrayDestroy(CUarray array);
CUresult wrap_cuMemGetInfo_v2(size_t* free_bytes, size_t* total_bytes);
CUresult wrap_cuDeviceTotalMem_v2(size_t* bytes, CUdevice device);
CUresult wrap_cuGetProcAddress(const char* symbol, void** function, int cuda_version,
                               unsigned long long flags);
CUresult wrap_cuGetProcAddress_v2(const char* symbol, void** function, int cuda_version,
                                  unsigned long long flags, int* symbol_status);
nvmlReturn_t wrap_nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory);
nvmlReturn_t wrap_nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t* memory);

void* wrap_dlsym(void* handle, const char* name);

/* Exports `wrapper` under the driver's name `exported`. */
#define GPUCAP_EXPORT(exported, wrapper) \
  extern __typeof__(wrapper) exported __attribute__((alias(#wrapper), visibility("default")))
