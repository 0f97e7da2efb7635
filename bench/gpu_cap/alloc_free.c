/* Allocation/free pairs per second through the CUDA driver, found the way CUDA's runtime finds
 * it (dlopen, cuGetProcAddress_v2): run with and without the GPU-memory cap preloaded to see
 * what the cap adds to each pair. Usage: alloc_free PAIRS [MiB per allocation]. Prints
 * "pairs_per_second N". */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gpu_cap/cuda_abi.h"

typedef CUresult (*get_proc_address)(const char*, void**, int, unsigned long long, int*);
typedef CUresult (*init_function)(unsigned int);
typedef CUresult (*context_function)(void**, unsigned int, CUdevice);
typedef CUresult (*device_function)(CUdevice*, int);
typedef CUresult (*alloc_function)(CUdeviceptr*, size_t);
typedef CUresult (*free_function)(CUdeviceptr);

static void* find(get_proc_address lookup, const char* name) {
  void* function = NULL;
  int status = 0;
  if (lookup(name, &function, 12080, 0, &status) != CUDA_SUCCESS || function == NULL) {
    fprintf(stderr, "the driver has no %s\n", name);
    exit(2);
  }
  return function;
}

int main(int argc, char** argv) {
  long pairs = argc > 1 ? atol(argv[1]) : 1000000;
  size_t bytes = (size_t)(argc > 2 ? atol(argv[2]) : 2) << 20;
  void* driver = dlopen("libcuda.so.1", RTLD_NOW);
  get_proc_address lookup = driver ? (get_proc_address)dlsym(driver, "cuGetProcAddress_v2") : NULL;
  if (lookup == NULL) {
    fprintf(stderr, "no driver\n");
    return 2;
  }
  CUdevice device = 0;
  void* context = NULL;
  alloc_function allocate = (alloc_function)find(lookup, "cuMemAlloc");
  free_function release = (free_function)find(lookup, "cuMemFree");
  if (((init_function)find(lookup, "cuInit"))(0) != CUDA_SUCCESS ||
      ((device_function)find(lookup, "cuDeviceGet"))(&device, 0) != CUDA_SUCCESS ||
      ((context_function)find(lookup, "cuCtxCreate"))(&context, 0, device) != CUDA_SUCCESS) {
    fprintf(stderr, "the driver did not start\n");
    return 2;
  }
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (long index = 0; index < pairs; ++index) {
    CUdeviceptr pointer = 0;
    if (allocate(&pointer, bytes) != CUDA_SUCCESS || release(pointer) != CUDA_SUCCESS) {
      fprintf(stderr, "pair %ld failed\n", index);
      return 1;
    }
  }
  clock_gettime(CLOCK_MONOTONIC, &end);
  double seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
  printf("pairs_per_second %.0f\n", (double)pairs / seconds);
  return 0;
}
