/* How programs find the driver's functions without linking to it: dlsym on the library they
 * dlopen'ed (ctypes, NVML users, and CUDA's runtime for cuGetProcAddress itself), and
 * cuGetProcAddress (how CUDA 12's runtime and PyTorch find every other entry point). Both
 * hand out the cap's wrapper for what it counts, and the driver's own function otherwise. */
#include <stdbool.h>
#include <string.h>

#include "gpu_cap/real_functions.h"
#include "gpu_cap/wrappers.h"

static bool maybe_hooked(const char* name) {
  return name != NULL && ((name[0] == 'c' && name[1] == 'u') || strncmp(name, "nvml", 4) == 0);
}

void* wrap_dlsym(void* handle, const char* name) {
  /* Everything else goes straight on as a tail call, so that glibc still sees the caller's
   * own return address (dlsym(RTLD_NEXT, …) means "after the caller"). */
  if (!maybe_hooked(name)) return real_dlsym(handle, name);
  void* real = real_dlsym(handle, name);
  int which = real == NULL ? -1 : hook_by_name(name);
  if (which < 0) return real;
  hook_learn_real((enum hook)which, real);
  return hook_wrapper((enum hook)which);
}

/* The driver answers first; its choice of variant for the caller's version and flags decides
 * which wrapper replaces it. */
static void substitute(const char* symbol, void** function, int cuda_version,
                       unsigned long long flags) {
  if (symbol == NULL || function == NULL || *function == NULL) return;
  int which = hook_for_request(symbol, cuda_version, flags);
  if (which < 0) return;
  hook_learn_real((enum hook)which, *function);
  *function = hook_wrapper((enum hook)which);
}

CUresult wrap_cuGetProcAddress(const char* symbol, void** function, int cuda_version,
                               unsigned long long flags) {
  __typeof__(&wrap_cuGetProcAddress) real =
      (__typeof__(&wrap_cuGetProcAddress))hook_real(HOOK_cuGetProcAddress);
  if (real == NULL) return CUDA_ERROR_NOT_FOUND;
  CUresult result = real(symbol, function, cuda_version, flags);
  if (result == CUDA_SUCCESS) substitute(symbol, function, cuda_version, flags);
  return result;
}

CUresult wrap_cuGetProcAddress_v2(const char* symbol, void** function, int cuda_version,
                                  unsigned long long flags, int* symbol_status) {
  __typeof__(&wrap_cuGetProcAddress_v2) real =
      (__typeof__(&wrap_cuGetProcAddress_v2))hook_real(HOOK_cuGetProcAddress_v2);
  if (real == NULL) return CUDA_ERROR_NOT_FOUND;
  CUresult result = real(symbol, function, cuda_version, flags, symbol_status);
  if (result == CUDA_SUCCESS) substitute(symbol, function, cuda_version, flags);
  return result;
}

GPUCAP_EXPORT(dlsym, wrap_dlsym);
GPUCAP_EXPORT(cuGetProcAddress, wrap_cuGetProcAddress);
GPUCAP_EXPORT(cuGetProcAddress_v2, wrap_cuGetProcAddress_v2);
