#include <charconv>
#include <cmath>

#include <fmt/format.h>

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
// in use, a cool die and the board's idle draw (about a seventh of its limit).
std::vector<GpuReading> idle_readings(const std::vector<GpuDevice>& gpus) {
  std::vector<GpuReading> readings;
  for (const auto& gpu : gpus) {
    double limit = power_limit_watts(gpu.model);
    readings.push_back({gpu.index, 0, 0, 30 + gpu.index % 4, std::round(limit / 7), limit});
  }
  return readings;
}

class SimulatedGpuProbe final : public GpuProbe {
 public:
  explicit SimulatedGpuProbe(GpuInventory inventory)
      : inventory_(std::move(inventory)), readings_(idle_readings(inventory_.gpus)) {}
  Result<GpuInventory> discover() override { return inventory_; }
  Result<std::vector<GpuReading>> read_telemetry() override { return readings_; }

 private:
  const GpuInventory inventory_;
  const std::vector<GpuReading> readings_;
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

Result<std::unique_ptr<GpuProbe>> make_simulated_gpu_probe(const std::string& spec) {
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
  return std::unique_ptr<GpuProbe>(new SimulatedGpuProbe(std::move(inventory)));
}

}  // namespace gpupool
