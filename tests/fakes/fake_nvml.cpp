// A stand-in for the driver's libnvidia-ml.so.1 with two scripted GPUs, for unit tests of the
// NVML probe (dlopen, symbol lookup, units, unsupported readings) on machines without NVIDIA
// hardware. GPU 0 is an H100 that reports everything; GPU 1 answers NOT_SUPPORTED for
// utilisation and power, as boards without those sensors do. fake_nvml_set() changes a reading.
#include <cstring>
#include <string>

namespace {

constexpr int kSuccess = 0;
constexpr int kInvalidArgument = 2;
constexpr int kNotSupported = 3;

struct FakeGpu {
  const char* name;
  const char* uuid;
  unsigned long long memory_total;
  unsigned long long memory_used;
  unsigned int utilization;  // percent
  unsigned int temperature;  // °C
  unsigned int power_mw;
  unsigned int power_limit_mw;
  bool has_power_and_utilization;
  unsigned long long ecc_uncorrected = 0;  // with power and utilisation, or NOT_SUPPORTED
};

constexpr unsigned long long kGiB = 1024ULL * 1024 * 1024;
FakeGpu gpus[2] = {
    {"NVIDIA H100 80GB HBM3", "GPU-fake-0000", 80 * kGiB, 10 * kGiB, 73, 61, 312'500, 700'000,
     true},
    {"NVIDIA H100 80GB HBM3", "GPU-fake-0001", 80 * kGiB, 0, 0, 33, 0, 0, false},
};

FakeGpu* gpu_of(void* device) {
  for (auto& gpu : gpus) {
    if (device == &gpu) return &gpu;
  }
  return nullptr;
}

}  // namespace

extern "C" {

struct FakeMemory {
  unsigned long long total, free, used;
};
struct FakeUtilization {
  unsigned int gpu, memory;
};

int nvmlInit_v2() {
  return kSuccess;
}
int nvmlDeviceGetCount_v2(unsigned int* count) {
  *count = 2;
  return kSuccess;
}
int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void** device) {
  if (index >= 2) return kInvalidArgument;
  *device = &gpus[index];
  return kSuccess;
}
int nvmlDeviceGetName(void* device, char* name, unsigned int length) {
  std::strncpy(name, gpu_of(device)->name, length - 1);
  return kSuccess;
}
int nvmlDeviceGetUUID(void* device, char* uuid, unsigned int length) {
  std::strncpy(uuid, gpu_of(device)->uuid, length - 1);
  return kSuccess;
}
int nvmlDeviceGetMemoryInfo(void* device, FakeMemory* memory) {
  FakeGpu* gpu = gpu_of(device);
  *memory = {gpu->memory_total, gpu->memory_total - gpu->memory_used, gpu->memory_used};
  return kSuccess;
}
int nvmlSystemGetCudaDriverVersion_v2(int* version) {
  *version = 12040;
  return kSuccess;
}
// The two GPUs share an NVLink bridge.
int nvmlDeviceGetP2PStatus(void*, void*, int, int* status) {
  *status = 0;
  return kSuccess;
}
int nvmlDeviceGetTopologyCommonAncestor(void*, void*, int* level) {
  *level = 10;
  return kSuccess;
}
int nvmlDeviceGetUtilizationRates(void* device, FakeUtilization* utilization) {
  FakeGpu* gpu = gpu_of(device);
  if (!gpu->has_power_and_utilization) return kNotSupported;
  *utilization = {gpu->utilization, 0};
  return kSuccess;
}
int nvmlDeviceGetTemperature(void* device, int sensor, unsigned int* temperature) {
  if (sensor != 0) return kInvalidArgument;
  *temperature = gpu_of(device)->temperature;
  return kSuccess;
}
int nvmlDeviceGetTotalEccErrors(void* device, int error_type, int counter_type,
                                unsigned long long* count) {
  FakeGpu* gpu = gpu_of(device);
  if (!gpu->has_power_and_utilization) return kNotSupported;
  if (error_type != 1 || counter_type != 1) return kInvalidArgument;  // the probe's only question
  *count = gpu->ecc_uncorrected;
  return kSuccess;
}
int nvmlDeviceGetPowerUsage(void* device, unsigned int* milliwatts) {
  FakeGpu* gpu = gpu_of(device);
  if (!gpu->has_power_and_utilization) return kNotSupported;
  *milliwatts = gpu->power_mw;
  return kSuccess;
}
int nvmlDeviceGetEnforcedPowerLimit(void* device, unsigned int* milliwatts) {
  FakeGpu* gpu = gpu_of(device);
  if (!gpu->has_power_and_utilization) return kNotSupported;
  *milliwatts = gpu->power_limit_mw;
  return kSuccess;
}

// Compute processes, GPU 0 only: fake_nvml_add_process() adds one (host pid, MiB, SM %).
struct FakeProcessInfo {
  unsigned int pid;
  unsigned long long used_memory;
  unsigned int gpu_instance, compute_instance;
};
struct FakeProcessSample {
  unsigned int pid;
  unsigned long long time_stamp;
  unsigned int sm, memory, encoder, decoder;
};
constexpr int kInsufficientSize = 7;
constexpr int kMaxFakeProcesses = 8;
FakeProcessSample fake_processes[kMaxFakeProcesses];
unsigned int fake_process_count = 0;
unsigned long long fake_process_memory[kMaxFakeProcesses];

int nvmlDeviceGetComputeRunningProcesses_v3(void* device, unsigned int* count,
                                            FakeProcessInfo* infos) {
  unsigned int running = gpu_of(device) == &gpus[0] ? fake_process_count : 0;
  if (*count < running) {
    *count = running;
    return kInsufficientSize;
  }
  for (unsigned int i = 0; i < running; ++i)
    infos[i] = {fake_processes[i].pid, fake_process_memory[i], 0, 0};
  *count = running;
  return kSuccess;
}
int nvmlDeviceGetProcessUtilization(void* device, FakeProcessSample* samples, unsigned int* count,
                                    unsigned long long) {
  unsigned int running = gpu_of(device) == &gpus[0] ? fake_process_count : 0;
  if (running == 0) return 6;  // NVML_ERROR_NOT_FOUND: no samples in the window
  if (*count < running) {
    *count = running;
    return kInsufficientSize;
  }
  for (unsigned int i = 0; i < running; ++i) samples[i] = fake_processes[i];
  *count = running;
  return kSuccess;
}

void fake_nvml_add_process(unsigned int pid, unsigned long long memory_mib, unsigned int sm) {
  if (fake_process_count == kMaxFakeProcesses) return;
  fake_process_memory[fake_process_count] = memory_mib * 1024 * 1024;
  fake_processes[fake_process_count++] = {pid, 1, sm, 0, 0, 0};
}

// For tests: "utilization", "temperature", "power_mw", "memory_used_mib" or "processes" (0) of
// GPU `index`.
void fake_nvml_set(int index, const char* field, unsigned long long value) {
  FakeGpu& gpu = gpus[index];
  std::string name = field;
  if (name == "utilization") gpu.utilization = static_cast<unsigned int>(value);
  if (name == "ecc_uncorrected") gpu.ecc_uncorrected = value;
  if (name == "temperature") gpu.temperature = static_cast<unsigned int>(value);
  if (name == "power_mw") gpu.power_mw = static_cast<unsigned int>(value);
  if (name == "memory_used_mib") gpu.memory_used = value * 1024 * 1024;
  if (name == "processes") fake_process_count = 0;  // forgets them all
}

}  // extern "C"
