/* Allocation/free pairs per second through the CUDA driver, found the way CUDA's runtime finds
 * it (dlopen, cuGetProcAddress_v2): run with and without the GPU-memory cap preloaded to see
 * what the cap adds to each pair, and with several threads to see what its lock costs when
 * they allocate at once. Usage: alloc_free PAIRS [MiB per allocation] [THREADS]. Prints
 * "pairs_per_second N" (all threads together). */
#include <dlfcn.h>
#include <pthread.h>
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

static get_proc_address lookup;
static long pairs_per_thread;
static size_t bytes;

/* One thread's pairs, in a context of its own on device 0. */
static void* run_pairs(void* unused) {
  (void)unused;
  CUdevice device = 0;
  void* context = NULL;
  alloc_function allocate = (alloc_function)find(lookup, "cuMemAlloc");
  free_function release = (free_function)find(lookup, "cuMemFree");
  if (((device_function)find(lookup, "cuDeviceGet"))(&device, 0) != CUDA_SUCCESS ||
      ((context_function)find(lookup, "cuCtxCreate"))(&context, 0, device) != CUDA_SUCCESS) {
    fprintf(stderr, "no context\n");
    exit(2);
  }
  for (long index = 0; index < pairs_per_thread; ++index) {
    CUdeviceptr pointer = 0;
    if (allocate(&pointer, bytes) != CUDA_SUCCESS || release(pointer) != CUDA_SUCCESS) {
      fprintf(stderr, "pair %ld failed\n", index);
      exit(1);
    }
  }
  return NULL;
}

int main(int argc, char** argv) {
  long pairs = argc > 1 ? atol(argv[1]) : 1000000;
  bytes = (size_t)(argc > 2 ? atol(argv[2]) : 2) << 20;
  int threads = argc > 3 ? atoi(argv[3]) : 1;
  if (threads < 1 || threads > 64) threads = 1;
  pairs_per_thread = pairs / threads;
  void* driver = dlopen("libcuda.so.1", RTLD_NOW);
  lookup = driver ? (get_proc_address)dlsym(driver, "cuGetProcAddress_v2") : NULL;
  if (lookup == NULL || ((init_function)find(lookup, "cuInit"))(0) != CUDA_SUCCESS) {
    fprintf(stderr, "no driver\n");
    return 2;
  }
  pthread_t workers[64];
  struct timespec start, end;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (int index = 0; index < threads; ++index)
    pthread_create(&workers[index], NULL, run_pairs, NULL);
  for (int index = 0; index < threads; ++index) pthread_join(workers[index], NULL);
  clock_gettime(CLOCK_MONOTONIC, &end);
  double seconds =
      (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
  printf("pairs_per_second %.0f\n", (double)(pairs_per_thread * threads) / seconds);
  return 0;
}
