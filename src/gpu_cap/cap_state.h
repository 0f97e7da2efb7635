/* The session's cap as this process sees it: the limit and the account file, read once
 * from a root-owned file (never the environment, which any process sets as it likes), and
 * which account slot each CUDA device is. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "gpu_cap/cuda_abi.h"

/* Where the agent's init puts the cap's settings in a session container. */
#define GPUCAP_CONFIG_PATH "/etc/gpupool/gpu-cap.conf"

/* Loads the settings and maps the account on first call. False when either is missing:
 * the cap then refuses every allocation rather than let it through uncounted. */
bool cap_ready(void);
uint64_t cap_limit_bytes(void);

/* The account's slot for a CUDA device ordinal, or for the calling thread's current context;
 * a driver error (no context, a bad ordinal) otherwise, passed on to the caller. */
CUresult cap_device_of(CUdevice ordinal, int* device);
CUresult cap_current_device(int* device);

/* The account slot of an NVML device; -1 when unknown. */
int cap_device_of_nvml(nvmlDevice_t device);

/* Writes one line to standard error, once per process for each distinct `what`. */
void cap_complain_once(int what, const char* message);
enum { COMPLAINT_NO_SETTINGS, COMPLAINT_OVER_LIMIT, COMPLAINT_COUNT };

/* Call before touching per-process state: a forked child starts with none of its parent's. */
void cap_after_fork_check(void);

/* "GPU-xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", as NVML writes a device's UUID. */
void cap_uuid_text(const CUuuid* uuid, char* text, size_t size);
