#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "gpu/gpu_probe.hpp"

namespace gpupool {

namespace {

// The board power limit of the common data-centre models (SXM where there are two), in
// watts; others get a PCIe card's 300 W.
double power_limit_watts(const std::string& model) {
  if (model.starts_with("H100") || model.starts_with("H200") || model.starts_with("B200"))
    return 700;
  if (model.starts_with("A100")) return 400;
  if (model.starts_with("T4")) return 70;
  return 300;
}

// Nothing runs on a simulated GPU, so it reads as an idle one would: no utilisation, no memory
// in use, a cool die, the board's idle draw (about a seventh of its limit), no ECC errors.
std::vector<GpuReading> idle_readings(const std::vector<GpuDevice>& gpus) {
  std::vector<GpuReading> readings;
  for (const auto& gpu : gpus) {
    double limit = power_limit_watts(gpu.model);
    readings.push_back({gpu.index, 0, 0, 30 + gpu.index % 4, std::round(limit / 7), limit, 0});
  }
  return readings;
}

Error bad_readings(const std::string& file, const std::string& why) {
  return make_error(ErrorCode::invalid_argument,
                    fmt::format("--simulated-gpu-readings {}: {}", file, why));
}

// The file's figures over the idle readings (simulated_gpu_probe's header in gpu_probe.hpp).
Result<std::vector<GpuReading>> apply_readings_file(std::vector<GpuReading> readings,
                                                    const std::string& file) {
  std::ifstream in(file);
  if (!in) return readings;  // none (yet): idle
  auto document = nlohmann::json::parse(in, nullptr, false);
  if (!document.is_object() || !document.contains("gpus") || !document["gpus"].is_array())
    return bad_readings(file, "expected {\"gpus\": [...]}");
  for (const auto& gpu : document["gpus"]) {
    if (!gpu.is_object() || !gpu.contains("index") || !gpu["index"].is_number_integer())
      return bad_readings(file, "each GPU needs an integer index");
    auto index = gpu["index"].get<int>();
    auto reading = std::find_if(readings.begin(), readings.end(),
                                [&](const GpuReading& item) { return item.index == index; });
    if (reading == readings.end()) return bad_readings(file, fmt::format("no GPU {}", index));
    if (gpu.contains("utilization_percent"))
      reading->utilization_percent = gpu.value("utilization_percent", 0);
    if (gpu.contains("memory_used_mb"))
      reading->memory_used_mb = gpu.value("memory_used_mb", std::int64_t{0});
    if (gpu.contains("ecc_uncorrected_errors"))
      reading->ecc_uncorrected_errors = gpu.value("ecc_uncorrected_errors", std::int64_t{0});
    reading->processes.clear();
    for (const auto& process : gpu.value("processes", nlohmann::json::array())) {
      if (!process.is_object() || !process.contains("pid"))
        return bad_readings(file, "each process needs a pid");
      GpuProcessUse use;
      use.pid = process.value("pid", 0);
      if (process.contains("memory_used_mb"))
        use.memory_used_mb = process.value("memory_used_mb", std::int64_t{0});
      if (process.contains("utilization_percent"))
        use.utilization_percent = process.value("utilization_percent", 0);
      reading->processes.push_back(use);
    }
  }
  return readings;
}

class SimulatedGpuProbe final : public GpuProbe {
 public:
  SimulatedGpuProbe(GpuInventory inventory, std::string readings_file)
      : inventory_(std::move(inventory)),
        readings_(idle_readings(inventory_.gpus)),
        readings_file_(std::move(readings_file)) {}
  Result<GpuInventory> discover() override { return inventory_; }
  Result<std::vector<GpuReading>> read_telemetry() override {
    if (readings_file_.empty()) return readings_;
    try {
      return apply_readings_file(readings_, readings_file_);
    } catch (const nlohmann::json::exception& error) {  // a field of the wrong type
      return bad_readings(readings_file_, error.what());
    }
  }

 private:
  const GpuInventory inventory_;
  const std::vector<GpuReading> readings_;
  const std::string readings_file_;
};

Error bad_spec(const std::string& spec) {
  return make_error(ErrorCode::invalid_argument,
                    fmt::format("--simulate-gpus \"{}\": expected COUNTxMODEL[,COUNTxMODEL…], "
                                "e.g. 4xA100-80GB",
                                spec));
}

std::int64_t memory_mb_from_model(const std::string& model) {
  auto dash = model.rfind('-');
  if (dash == std::string::npos || !model.ends_with("GB")) return 16 * 1024;
  int gigabytes = 0;
  auto digits = std::string_view(model).substr(dash + 1, model.size() - dash - 3);
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), gigabytes);
  if (ec != std::errc() || end != digits.data() + digits.size() || gigabytes <= 0) return 16 * 1024;
  return std::int64_t{gigabytes} * 1024;
}

}  // namespace

Result<std::unique_ptr<GpuProbe>> make_simulated_gpu_probe(const std::string& spec,
                                                           const std::string& readings_file) {
  GpuInventory inventory;
  inventory.simulated = true;
  inventory.driver_cuda = "12.4";
  std::size_t start = 0;
  while (start <= spec.size()) {
    auto end = spec.find(',', start);
    std::string part = spec.substr(start, end - start);
    auto x = part.find('x');
    if (x == std::string::npos || x == 0 || x + 1 >= part.size()) return bad_spec(spec);
    int count = 0;
    auto [digits_end, ec] = std::from_chars(part.data(), part.data() + x, count);
    if (ec != std::errc() || digits_end != part.data() + x || count < 1 || count > 64) {
      return bad_spec(spec);
    }
    std::string model = part.substr(x + 1);
    for (char c : model) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return bad_spec(spec);
    }
    for (int i = 0; i < count; ++i) {
      int index = static_cast<int>(inventory.gpus.size());
      inventory.gpus.push_back({index,
                                fmt::format("GPU-sim-{:08x}-{:04}", 0x5eed, index),
                                model,
                                memory_mb_from_model(model),
                                true,
                                {}});
    }
    if (end == std::string::npos) break;
    start = end + 1;
  }
  if (inventory.gpus.size() > 64) return bad_spec(spec);
  // A typical 8-GPU PCIe server: NVLink bridges join GPUs 2k and 2k+1, each half of the GPUs
  // hangs off one CPU socket, and the halves talk across the sockets.
  for (auto& gpu : inventory.gpus) {
    for (const auto& other : inventory.gpus) {
      GpuLink link = GpuLink::system;
      if (other.index == gpu.index) {
        link = GpuLink::same;
      } else if (other.index / 2 == gpu.index / 2) {
        link = GpuLink::nvlink;
      } else if (other.index / 4 == gpu.index / 4) {
        link = GpuLink::numa_node;
      }
      gpu.links.push_back(link);
    }
  }
  return std::unique_ptr<GpuProbe>(new SimulatedGpuProbe(std::move(inventory), readings_file));
}

}  // namespace gpupool
