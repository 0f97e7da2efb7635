/* NVML's memory readings, as nvidia-smi and monitoring inside the session make them: the
 * share is the card's total, the session's own use is "used". Other sessions' use of the
 * same card is theirs, not shown. */
#include "gpu_cap/account.h"
#include "gpu_cap/cap_state.h"
#include "gpu_cap/real_functions.h"
#include "gpu_cap/wrappers.h"

/* total, free and used for one device as the session sees it; false when the cap cannot say
 * (the driver's answer then stands unchanged). */
static bool session_view(nvmlDevice_t device, unsigned long long* total, unsigned long long* free,
                         unsigned long long* used) {
  cap_after_fork_check();
  if (!cap_ready()) return false;
  int slot = cap_device_of_nvml(device);
  if (slot < 0) return false;
  unsigned long long limit = cap_limit_bytes();
  if (limit < *total) *total = limit;
  *used = account_used(slot);
  /* Free is what is left of the share, and never more than the card really has free. */
  unsigned long long left = *used < *total ? *total - *used : 0;
  if (left < *free) *free = left;
  return true;
}

nvmlReturn_t wrap_nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  __typeof__(&wrap_nvmlDeviceGetMemoryInfo) real =
      (__typeof__(&wrap_nvmlDeviceGetMemoryInfo))hook_real(HOOK_nvmlDeviceGetMemoryInfo);
  if (real == NULL) return 1; /* NVML_ERROR_UNINITIALIZED */
  nvmlReturn_t result = real(device, memory);
  if (result == NVML_SUCCESS && memory != NULL) {
    session_view(device, &memory->total, &memory->free, &memory->used);
  }
  return result;
}

nvmlReturn_t wrap_nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t* memory) {
  __typeof__(&wrap_nvmlDeviceGetMemoryInfo_v2) real =
      (__typeof__(&wrap_nvmlDeviceGetMemoryInfo_v2))hook_real(HOOK_nvmlDeviceGetMemoryInfo_v2);
  if (real == NULL) return 1;
  nvmlReturn_t result = real(device, memory);
  if (result == NVML_SUCCESS && memory != NULL &&
      session_view(device, &memory->total, &memory->free, &memory->used)) {
    memory->reserved = 0;
  }
  return result;
}

GPUCAP_EXPORT(nvmlDeviceGetMemoryInfo, wrap_nvmlDeviceGetMemoryInfo);
GPUCAP_EXPORT(nvmlDeviceGetMemoryInfo_v2, wrap_nvmlDeviceGetMemoryInfo_v2);
