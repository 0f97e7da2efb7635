/* The few CUDA driver API and NVML types the cap library touches, as their public headers
 * define them. The library is built without NVIDIA's headers: the driver is whatever the
 * container's image and the host's driver provide at run time. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef void* CUstream;
typedef void* CUmemoryPool;
typedef void* CUarray;
typedef unsigned long long CUmemGenericAllocationHandle;

enum {
  CUDA_SUCCESS = 0,
  CUDA_ERROR_INVALID_VALUE = 1,
  CUDA_ERROR_OUT_OF_MEMORY = 2,
  CUDA_ERROR_NOT_FOUND = 500,
};

/* cuGetProcAddress flags: the per-thread-default-stream variants end in _ptsz/_ptds. */
enum { CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM = 2 };

typedef struct {
  char bytes[16];
} CUuuid;

/* CUmemLocationType: only a DEVICE location is GPU memory; HOST and HOST_NUMA are not. */
enum { CU_MEM_LOCATION_TYPE_DEVICE = 1 };

typedef struct {
  int type; /* CUmemAllocationType */
  int requestedHandleTypes;
  struct {
    int type; /* CUmemLocationType */
    int id;   /* the device's ordinal for a DEVICE location */
  } location;
  /* more members follow, which the cap does not read */
} CUmemAllocationProp;

typedef struct {
  size_t Width;
  size_t Height;
  int Format; /* CUarray_format */
  unsigned int NumChannels;
} CUDA_ARRAY_DESCRIPTOR;

typedef struct {
  size_t Width;
  size_t Height;
  size_t Depth;
  int Format;
  unsigned int NumChannels;
  unsigned int Flags;
} CUDA_ARRAY3D_DESCRIPTOR;

typedef int nvmlReturn_t;
typedef void* nvmlDevice_t;
enum { NVML_SUCCESS = 0 };
enum { NVML_DEVICE_UUID_BUFFER_SIZE = 96 };

typedef struct {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
} nvmlMemory_t;

typedef struct {
  unsigned int version;
  unsigned long long total;
  unsigned long long reserved;
  unsigned long long free;
  unsigned long long used;
} nvmlMemory_v2_t;
