#include "app/gpus_command.hpp"

#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/json_input.hpp"
#include "gpu/gpu_probe.hpp"

namespace gpupool::app {

namespace {

using nlohmann::json;

std::string figure(const auto& value, const char* unit) {
  return value ? fmt::format("{}{}", *value, unit) : "-";
}

}  // namespace

int run_gpus(const GpusOptions& options) {
  auto probe = options.simulate.empty() ? make_nvml_gpu_probe(options.nvml)
                                        : make_simulated_gpu_probe(options.simulate);
  if (!probe) {
    std::cerr << "error: " << probe.error().message << "\n";
    return 1;
  }
  auto inventory = (*probe)->discover();
  if (!inventory) {
    std::cerr << "error: " << inventory.error().message << "\n";
    return 1;
  }
  auto readings = (*probe)->read_telemetry();
  if (!readings) {
    std::cerr << "error: " << readings.error().message << "\n";
    return 1;
  }
  if (options.json) {
    json gpus = json::array();
    for (std::size_t i = 0; i < inventory->gpus.size(); ++i) {
      const auto& gpu = inventory->gpus[i];
      json links = json::array();
      for (auto link : gpu.links) links.push_back(to_string(link));
      json view = {{"index", gpu.index},
                   {"uuid", gpu.uuid},
                   {"model", gpu.model},
                   {"memory_mb", gpu.memory_mb},
                   {"links", links}};
      if (i < readings->size()) {
        const auto& reading = (*readings)[i];
        view["utilization_percent"] = optional_json(reading.utilization_percent);
        view["memory_used_mb"] = optional_json(reading.memory_used_mb);
        view["temperature_c"] = optional_json(reading.temperature_celsius);
        view["power_w"] = optional_json(reading.power_watts);
        view["power_limit_w"] = optional_json(reading.power_limit_watts);
        // The compute processes on it, by host pid (what the agent maps to sessions).
        json processes = json::array();
        for (const auto& process : reading.processes) {
          processes.push_back(
              {{"pid", process.pid},
               {"memory_used_mb", optional_json(process.memory_used_mb)},
               {"utilization_percent", optional_json(process.utilization_percent)}});
        }
        view["processes"] = processes;
      }
      gpus.push_back(view);
    }
    std::cout << json{{"simulated", inventory->simulated},
                      {"driver_cuda", inventory->driver_cuda},
                      {"gpus", gpus}}
                     .dump(2)
              << "\n";
    return 0;
  }
  std::cout << fmt::format("{} GPU(s){}, driver CUDA {}\n", inventory->gpus.size(),
                           inventory->simulated ? " (SIMULATED)" : " via NVML",
                           inventory->driver_cuda.empty() ? "unknown" : inventory->driver_cuda);
  std::cout << fmt::format("{:>3} {:<24} {:>9} {:>6} {:>12} {:>6} {:>16}  {}\n", "GPU", "MODEL",
                           "MEMORY", "UTIL", "MEM USED", "TEMP", "POWER", "UUID");
  for (std::size_t i = 0; i < inventory->gpus.size(); ++i) {
    const auto& gpu = inventory->gpus[i];
    GpuReading reading = i < readings->size() ? (*readings)[i] : GpuReading{};
    std::string power = figure(reading.power_watts, " W");
    if (reading.power_limit_watts) power += fmt::format(" / {} W", *reading.power_limit_watts);
    std::cout << fmt::format("{:>3} {:<24} {:>6} MB {:>6} {:>12} {:>6} {:>16}  {}\n", gpu.index,
                             gpu.model, gpu.memory_mb, figure(reading.utilization_percent, "%"),
                             figure(reading.memory_used_mb, " MB"),
                             figure(reading.temperature_celsius, " C"), power, gpu.uuid);
  }
  return 0;
}

}  // namespace gpupool::app
