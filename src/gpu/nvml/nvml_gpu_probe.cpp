// NVML loaded at run time with dlopen, so gpupool builds and runs on hosts without NVIDIA
// packages. Only the handful of entry points discovery and telemetry need are resolved; the
// telemetry ones are optional, as older drivers or some boards lack them.
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <vector>

#include <fmt/format.h>

#include "gpu/gpu_probe.hpp"

namespace gpupool {

namespace {

using NvmlReturn = int;  // nvmlReturn_t; 0 is NVML_SUCCESS
using NvmlDevice = void*;
struct NvmlMemory {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};

struct NvmlUtilization {
  unsigned int gpu;     // percent of the last sample period a kernel ran
  unsigned int memory;  // percent of it device memory was read or written
};

// nvmlProcessInfo_v2_t, which the _v2 and _v3 process listings fill.
struct NvmlProcessInfo {
  unsigned int pid;
  unsigned long long used_memory;  // bytes; kNotAvailable when the driver cannot say
  unsigned int gpu_instance;
  unsigned int compute_instance;
};

struct NvmlProcessSample {
  unsigned int pid;
  unsigned long long time_stamp;  // microseconds since the epoch
  unsigned int sm;                // percent of the period the process's kernels ran
  unsigned int memory;
  unsigned int encoder;
  unsigned int decoder;
};

struct NvmlApi {
  NvmlReturn (*init)();
  NvmlReturn (*device_count)(unsigned int*);
  NvmlReturn (*device_by_index)(unsigned int, NvmlDevice*);
  NvmlReturn (*device_name)(NvmlDevice, char*, unsigned int);
  NvmlReturn (*device_uuid)(NvmlDevice, char*, unsigned int);
  NvmlReturn (*device_memory)(NvmlDevice, NvmlMemory*);
  NvmlReturn (*driver_cuda_version)(int*);
  // Optional: topology. nvmlGpuTopologyLevel_t and nvmlGpuP2PStatus_t are ints.
  NvmlReturn (*common_ancestor)(NvmlDevice, NvmlDevice, int*);
  NvmlReturn (*p2p_status)(NvmlDevice, NvmlDevice, int, int*);
  // Optional: telemetry. Power comes in milliwatts; the temperature sensor is an enum.
  NvmlReturn (*utilization)(NvmlDevice, NvmlUtilization*);
  NvmlReturn (*temperature)(NvmlDevice, int, unsigned int*);
  NvmlReturn (*power_usage)(NvmlDevice, unsigned int*);
  NvmlReturn (*power_limit)(NvmlDevice, unsigned int*);
  // nvmlMemoryErrorType_t and nvmlEccCounterType_t are ints.
  NvmlReturn (*ecc_errors)(NvmlDevice, int, int, unsigned long long*);
  // Optional: what each process uses, for readings per session.
  NvmlReturn (*running_processes)(NvmlDevice, unsigned int*, NvmlProcessInfo*);
  NvmlReturn (*process_utilization)(NvmlDevice, NvmlProcessSample*, unsigned int*,
                                    unsigned long long);
};

// NVML's values for the calls above.
constexpr int kTopologyInternal = 0;
constexpr int kTopologyMultipleSwitches = 20;  // same PCIe tree, through switches
constexpr int kTopologyNumaNode = 40;          // same CPU socket
constexpr int kP2pCapsNvlink = 2;
constexpr int kP2pStatusOk = 0;
constexpr int kTemperatureGpu = 0;  // NVML_TEMPERATURE_GPU: the die
constexpr int kEccUncorrected = 1;  // NVML_MEMORY_ERROR_TYPE_UNCORRECTED
constexpr int kEccAggregate = 1;    // NVML_AGGREGATE_ECC: over the GPU's life
constexpr int kNotFound = 6;        // NVML_ERROR_NOT_FOUND: no process samples in the window
constexpr unsigned long long kNotAvailable = ~0ULL;
constexpr unsigned int kMaxProcesses = 256;
// Process samples newer than this count: a process without one ran no kernel lately.
constexpr auto kSampleWindow = std::chrono::seconds(5);

GpuLink link_from_ancestor(int level) {
  if (level <= kTopologyInternal) return GpuLink::same;
  if (level <= kTopologyMultipleSwitches) return GpuLink::pcie_switch;
  if (level <= kTopologyNumaNode) return GpuLink::numa_node;
  return GpuLink::system;
}

template <typename Function>
bool resolve(void* library, const char* name, Function& target) {
  target = reinterpret_cast<Function>(dlsym(library, name));
  return target != nullptr;
}

// "NVIDIA A100-SXM4-80GB" → "A100-SXM4-80GB": the vendor prefix says nothing to users.
std::string short_model(std::string name) {
  constexpr std::string_view kPrefix = "NVIDIA ";
  if (name.starts_with(kPrefix)) name = name.substr(kPrefix.size());
  for (char& c : name) {
    if (c == ' ') c = '-';
  }
  return name;
}

class NvmlGpuProbe final : public GpuProbe {
 public:
  explicit NvmlGpuProbe(NvmlApi api) : api_(api) {}

  Result<GpuInventory> discover() override {
    std::lock_guard lock(mutex_);
    GpuInventory inventory;
    std::vector<NvmlDevice> devices;
    unsigned int count = 0;
    if (api_.device_count(&count) != 0) return unavailable("nvmlDeviceGetCount failed");
    for (unsigned int i = 0; i < count; ++i) {
      NvmlDevice device = nullptr;
      if (api_.device_by_index(i, &device) != 0)
        return unavailable("nvmlDeviceGetHandleByIndex failed");
      char name[96] = {};
      char uuid[96] = {};
      NvmlMemory memory{};
      if (api_.device_name(device, name, sizeof name) != 0 ||
          api_.device_uuid(device, uuid, sizeof uuid) != 0 ||
          api_.device_memory(device, &memory) != 0) {
        return unavailable(fmt::format("cannot read GPU {}", i));
      }
      inventory.gpus.push_back({static_cast<int>(i),
                                uuid,
                                short_model(name),
                                static_cast<std::int64_t>(memory.total / (1024 * 1024)),
                                false,
                                {}});
      devices.push_back(device);
    }
    fill_links(inventory, devices);
    int cuda = 0;
    if (api_.driver_cuda_version(&cuda) == 0 && cuda > 0) {
      inventory.driver_cuda = fmt::format("{}.{}", cuda / 1000, (cuda % 1000) / 10);
    }
    return inventory;
  }

  // NVML's device handles stay valid while it is initialised, so asking again is cheap.
  Result<std::vector<GpuReading>> read_telemetry() override {
    std::lock_guard lock(mutex_);
    unsigned int count = 0;
    if (api_.device_count(&count) != 0) return unavailable("nvmlDeviceGetCount failed");
    std::vector<GpuReading> readings;
    for (unsigned int i = 0; i < count; ++i) {
      GpuReading reading;
      reading.index = static_cast<int>(i);
      NvmlDevice device = nullptr;
      // A GPU that fell off the bus reads empty; the others still report.
      if (api_.device_by_index(i, &device) == 0) read_device(device, reading);
      readings.push_back(reading);
    }
    return readings;
  }

 private:
  // NVLink where peer access goes over it, else the closest common PCIe ancestor. Left
  // empty (unknown) when this NVML lacks the calls.
  void fill_links(GpuInventory& inventory, const std::vector<NvmlDevice>& devices) {
    if (api_.common_ancestor == nullptr) return;
    for (std::size_t a = 0; a < devices.size(); ++a) {
      for (std::size_t b = 0; b < devices.size(); ++b) {
        GpuLink link = GpuLink::same;
        int nvlink = -1;
        int level = 50;
        if (a != b && api_.p2p_status != nullptr &&
            api_.p2p_status(devices[a], devices[b], kP2pCapsNvlink, &nvlink) == 0 &&
            nvlink == kP2pStatusOk) {
          link = GpuLink::nvlink;
        } else if (a != b) {
          link = api_.common_ancestor(devices[a], devices[b], &level) == 0
                     ? link_from_ancestor(level)
                     : GpuLink::system;
        }
        inventory.gpus[a].links.push_back(link);
      }
    }
  }

  // Each reading on its own: one the board does not support leaves only that field empty.
  void read_device(NvmlDevice device, GpuReading& reading) {
    NvmlMemory memory{};
    if (api_.device_memory(device, &memory) == 0)
      reading.memory_used_mb = static_cast<std::int64_t>(memory.used / (1024 * 1024));
    NvmlUtilization utilization{};
    if (api_.utilization != nullptr && api_.utilization(device, &utilization) == 0)
      reading.utilization_percent = static_cast<int>(utilization.gpu);
    unsigned int value = 0;
    if (api_.temperature != nullptr && api_.temperature(device, kTemperatureGpu, &value) == 0)
      reading.temperature_celsius = static_cast<int>(value);
    if (api_.power_usage != nullptr && api_.power_usage(device, &value) == 0)
      reading.power_watts = value / 1000.0;
    if (api_.power_limit != nullptr && api_.power_limit(device, &value) == 0)
      reading.power_limit_watts = value / 1000.0;
    unsigned long long errors = 0;
    if (api_.ecc_errors != nullptr &&
        api_.ecc_errors(device, kEccUncorrected, kEccAggregate, &errors) == 0)
      reading.ecc_uncorrected_errors = static_cast<std::int64_t>(errors);
    read_processes(device, reading);
  }

  // The compute processes on the GPU with their memory and, from the recent samples, their
  // share of the GPU's time.
  void read_processes(NvmlDevice device, GpuReading& reading) {
    if (api_.running_processes == nullptr) return;
    std::vector<NvmlProcessInfo> infos(kMaxProcesses);
    unsigned int count = kMaxProcesses;
    if (api_.running_processes(device, &count, infos.data()) != 0) return;
    std::map<int, GpuProcessUse> by_pid;
    for (unsigned int i = 0; i < count && i < kMaxProcesses; ++i) {
      GpuProcessUse& use = by_pid[static_cast<int>(infos[i].pid)];
      use.pid = static_cast<int>(infos[i].pid);
      if (infos[i].used_memory != kNotAvailable)
        use.memory_used_mb = static_cast<std::int64_t>(infos[i].used_memory / (1024 * 1024));
    }
    if (api_.process_utilization != nullptr) {
      auto since = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::system_clock::now().time_since_epoch() - kSampleWindow);
      std::vector<NvmlProcessSample> samples(kMaxProcesses);
      unsigned int sampled = kMaxProcesses;
      NvmlReturn result = api_.process_utilization(device, samples.data(), &sampled,
                                                   static_cast<unsigned long long>(since.count()));
      if (result == 0 || result == kNotFound) {
        std::map<int, unsigned long long> newest;
        for (auto& [pid, use] : by_pid) use.utilization_percent = 0;
        for (unsigned int i = 0; result == 0 && i < sampled && i < kMaxProcesses; ++i) {
          auto found = by_pid.find(static_cast<int>(samples[i].pid));
          if (found == by_pid.end() || samples[i].time_stamp < newest[found->first]) continue;
          newest[found->first] = samples[i].time_stamp;
          found->second.utilization_percent = static_cast<int>(std::min(samples[i].sm, 100u));
        }
      }
    }
    for (auto& [pid, use] : by_pid) reading.processes.push_back(use);
  }

  static Error unavailable(const std::string& message) {
    return make_error(ErrorCode::unavailable, "NVML: " + message);
  }

  std::mutex mutex_;  // NVML is thread-safe, but one probe at a time keeps reads consistent
  NvmlApi api_;
};

}  // namespace

Result<std::unique_ptr<GpuProbe>> make_nvml_gpu_probe(const std::string& library_name) {
  void* library = dlopen(library_name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (library == nullptr) {
    return make_error(ErrorCode::unavailable,
                      fmt::format("NVML library {} not found", library_name));
  }
  NvmlApi api{};
  bool resolved = resolve(library, "nvmlInit_v2", api.init) &&
                  resolve(library, "nvmlDeviceGetCount_v2", api.device_count) &&
                  resolve(library, "nvmlDeviceGetHandleByIndex_v2", api.device_by_index) &&
                  resolve(library, "nvmlDeviceGetName", api.device_name) &&
                  resolve(library, "nvmlDeviceGetUUID", api.device_uuid) &&
                  resolve(library, "nvmlDeviceGetMemoryInfo", api.device_memory) &&
                  resolve(library, "nvmlSystemGetCudaDriverVersion_v2", api.driver_cuda_version);
  if (!resolved) return make_error(ErrorCode::unavailable, "NVML library lacks expected symbols");
  resolve(library, "nvmlDeviceGetTopologyCommonAncestor", api.common_ancestor);
  resolve(library, "nvmlDeviceGetP2PStatus", api.p2p_status);
  resolve(library, "nvmlDeviceGetUtilizationRates", api.utilization);
  resolve(library, "nvmlDeviceGetTemperature", api.temperature);
  resolve(library, "nvmlDeviceGetPowerUsage", api.power_usage);
  resolve(library, "nvmlDeviceGetEnforcedPowerLimit", api.power_limit);
  resolve(library, "nvmlDeviceGetTotalEccErrors", api.ecc_errors);
  if (!resolve(library, "nvmlDeviceGetComputeRunningProcesses_v3", api.running_processes))
    resolve(library, "nvmlDeviceGetComputeRunningProcesses_v2", api.running_processes);
  resolve(library, "nvmlDeviceGetProcessUtilization", api.process_utilization);
  if (api.init() != 0)
    return make_error(ErrorCode::unavailable, "nvmlInit failed (no driver loaded?)");
  unsigned int count = 0;
  if (api.device_count(&count) != 0 || count == 0) {
    return make_error(ErrorCode::unavailable, "NVML reports no GPUs");
  }
  // The library stays loaded for the life of the process: NVML has no safe unload.
  return std::unique_ptr<GpuProbe>(new NvmlGpuProbe(api));
}

}  // namespace gpupool
