#include "gpu_cap/cap_state.h"

#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gpu_cap/account.h"
#include "gpu_cap/allocations.h"
#include "gpu_cap/real_functions.h"

enum { STATE_UNKNOWN, STATE_LOADING, STATE_READY, STATE_FAILED };
enum { MAX_ORDINALS = 64 };

static _Atomic int state = STATE_UNKNOWN;
static uint64_t limit_bytes;
static _Atomic int ordinal_slots[MAX_ORDINALS]; /* account slot + 1; 0: not looked up yet */
static _Atomic pid_t known_pid;
/* A page the kernel zeroes in a forked child (MADV_WIPEONFORK): a set flag there means "no
 * fork since we last looked", without a system call on every allocation. */
static volatile int* fork_canary;
static _Atomic int complained[COMPLAINT_COUNT];

static const char* config_path(void) {
#ifdef GPUCAP_CONFIG_FROM_ENVIRONMENT
  /* Only the build for tests: in sessions the path is fixed, or the cap would be one
   * environment variable away from gone. */
  const char* path = getenv("GPUPOOL_GPU_CAP_CONFIG");
  if (path != NULL) return path;
#endif
  return GPUCAP_CONFIG_PATH;
}

/* "limit_mb=N" and "account=PATH" lines; false when either is missing or malformed. */
static bool load_settings(char* account_path, size_t size) {
  int fd = open(config_path(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char text[4096];
  ssize_t length = read(fd, text, sizeof text - 1);
  close(fd);
  if (length <= 0) return false;
  text[length] = '\0';
  bool have_limit = false;
  account_path[0] = '\0';
  for (char* line = strtok(text, "\n"); line != NULL; line = strtok(NULL, "\n")) {
    if (strncmp(line, "limit_mb=", 9) == 0) {
      char* end = NULL;
      unsigned long long megabytes = strtoull(line + 9, &end, 10);
      have_limit = end != line + 9 && *end == '\0' && megabytes > 0 && megabytes < (1ULL << 40);
      limit_bytes = megabytes << 20;
    } else if (strncmp(line, "account=", 8) == 0 && strlen(line + 8) < size) {
      strcpy(account_path, line + 8);
    }
  }
  return have_limit && account_path[0] == '/';
}

bool cap_ready(void) {
  int seen = atomic_load(&state);
  if (seen == STATE_READY) return true;
  if (seen == STATE_FAILED) return false;
  int expected = STATE_UNKNOWN;
  if (atomic_compare_exchange_strong(&state, &expected, STATE_LOADING)) {
    char account_path[512];
    bool ok = load_settings(account_path, sizeof account_path) && account_open(account_path);
    atomic_store(&state, ok ? STATE_READY : STATE_FAILED);
    if (!ok) {
      cap_complain_once(COMPLAINT_NO_SETTINGS,
                        "gpupool: the GPU-memory cap's settings or account are missing; GPU "
                        "memory allocations are refused");
    }
  }
  while (atomic_load(&state) == STATE_LOADING) sched_yield();
  return atomic_load(&state) == STATE_READY;
}

uint64_t cap_limit_bytes(void) {
  return limit_bytes;
}

void cap_uuid_text(const CUuuid* uuid, char* text, size_t size) {
  const unsigned char* bytes = (const unsigned char*)uuid->bytes;
  snprintf(text, size, "GPU-%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
           bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8],
           bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]);
}

/* A function of the loaded driver or NVML, looked up once: the current-device query runs on
 * every allocation, and a dlsym each time cost more than the rest of the cap's work. */
static void* looked_up_once(_Atomic(void*)* cache, void* (*lookup)(const char*), const char* name) {
  void* found = atomic_load_explicit(cache, memory_order_acquire);
  if (found == NULL) {
    found = lookup(name);
    if (found != NULL) atomic_store_explicit(cache, found, memory_order_release);
  }
  return found;
}

typedef CUresult (*uuid_function)(CUuuid*, CUdevice);
typedef CUresult (*current_device_function)(CUdevice*);
typedef nvmlReturn_t (*nvml_uuid_function)(nvmlDevice_t, char*, unsigned int);

CUresult cap_device_of(CUdevice ordinal, int* device) {
  if (ordinal >= 0 && ordinal < MAX_ORDINALS) {
    int known = atomic_load(&ordinal_slots[ordinal]);
    if (known > 0) {
      *device = known - 1;
      return CUDA_SUCCESS;
    }
  }
  uuid_function get_uuid = (uuid_function)driver_function("cuDeviceGetUuid_v2");
  if (get_uuid == NULL) get_uuid = (uuid_function)driver_function("cuDeviceGetUuid");
  if (get_uuid == NULL) return CUDA_ERROR_NOT_FOUND;
  CUuuid uuid;
  CUresult result = get_uuid(&uuid, ordinal);
  if (result != CUDA_SUCCESS) return result;
  char text[GPUCAP_UUID_LENGTH];
  cap_uuid_text(&uuid, text, sizeof text);
  int slot = account_device(text);
  if (slot < 0) return CUDA_ERROR_OUT_OF_MEMORY; /* more devices than the account holds */
  if (ordinal >= 0 && ordinal < MAX_ORDINALS) atomic_store(&ordinal_slots[ordinal], slot + 1);
  *device = slot;
  return CUDA_SUCCESS;
}

CUresult cap_current_device(int* device) {
  static _Atomic(void*) cached;
  current_device_function current =
      (current_device_function)looked_up_once(&cached, driver_function, "cuCtxGetDevice");
  if (current == NULL) return CUDA_ERROR_NOT_FOUND;
  CUdevice ordinal = 0;
  CUresult result = current(&ordinal);
  return result == CUDA_SUCCESS ? cap_device_of(ordinal, device) : result;
}

int cap_device_of_nvml(nvmlDevice_t device) {
  static _Atomic(void*) cached;
  nvml_uuid_function get_uuid =
      (nvml_uuid_function)looked_up_once(&cached, nvml_function, "nvmlDeviceGetUUID");
  char text[NVML_DEVICE_UUID_BUFFER_SIZE];
  if (get_uuid == NULL || get_uuid(device, text, sizeof text) != NVML_SUCCESS) return -1;
  text[GPUCAP_UUID_LENGTH - 1] = '\0';
  return account_device(text);
}

void cap_complain_once(int what, const char* message) {
  if (atomic_exchange(&complained[what], 1) != 0) return;
  char line[512];
  int length = snprintf(line, sizeof line, "%s\n", message);
  if (length > 0) (void)!write(STDERR_FILENO, line, (size_t)length);
}

static void watch_for_fork(void) {
  void* page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (page == MAP_FAILED) return;
  if (madvise(page, 4096, MADV_WIPEONFORK) != 0) { /* before Linux 4.14: getpid each time */
    munmap(page, 4096);
    return;
  }
  fork_canary = page;
}

void cap_after_fork_check(void) {
  if (fork_canary != NULL && *fork_canary != 0) return;
  pid_t self = getpid();
  if (atomic_load_explicit(&known_pid, memory_order_relaxed) != self) {
    if (atomic_exchange(&known_pid, self) != 0) allocations_forget_all();
    account_set_process(self);
    for (int index = 0; index < COMPLAINT_COUNT; ++index) atomic_store(&complained[index], 0);
  }
  if (fork_canary == NULL) watch_for_fork();
  if (fork_canary != NULL) *fork_canary = 1;
}

__attribute__((destructor)) static void leave_account(void) {
  if (atomic_load(&state) == STATE_READY) account_leave();
}
