#include "api/metrics.hpp"

#include <fmt/format.h>

#include <vector>

namespace gpupool::api {

using nlohmann::json;

std::string prometheus_label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

namespace {

struct GpuMetric {
  const char* name;
  const char* help;
  const char* field;  // in the nodes document's GPU view
  double scale;       // to the metric's unit
};

// Base units, as Prometheus asks: ratios, bytes, watts.
const std::vector<GpuMetric> kGpuMetrics = {
    {"gpupool_gpu_utilization_ratio", "Share of the last sample period a kernel ran.",
     "utilization_percent", 0.01},
    {"gpupool_gpu_memory_used_bytes", "Device memory in use by all processes.", "memory_used_gb",
     1024.0 * 1024 * 1024},
    {"gpupool_gpu_temperature_celsius", "GPU die temperature.", "temperature_c", 1},
    {"gpupool_gpu_power_watts", "Board power draw.", "power_w", 1},
    {"gpupool_gpu_power_limit_watts", "The power limit the driver enforces.", "power_limit_w", 1},
};

// Each session's own use of a GPU it holds: who takes what of a shared GPU.
const std::vector<GpuMetric> kSessionGpuMetrics = {
    {"gpupool_session_gpu_utilization_ratio",
     "Share of the last sample period the session's kernels ran on the GPU.", "utilization_percent",
     0.01},
    {"gpupool_session_gpu_memory_used_bytes",
     "Device memory the session's processes use on the GPU.", "memory_used_gb",
     1024.0 * 1024 * 1024},
};

void header(std::string& out, const char* name, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} gauge\n", name, help, name);
}

std::string gpu_labels(const json& node, const json& gpu) {
  return fmt::format("node=\"{}\",gpu=\"{}\",uuid=\"{}\",model=\"{}\",simulated=\"{}\"",
                     prometheus_label(node["name"].get<std::string>()), gpu["index"].get<int>(),
                     prometheus_label(gpu["uuid"].get<std::string>()),
                     prometheus_label(gpu["model"].get<std::string>()),
                     gpu["simulated"].get<bool>() ? "true" : "false");
}

}  // namespace

std::string prometheus_exposition(const json& nodes_document,
                                  const std::map<std::string, int>& sessions_by_state,
                                  int queue_length,
                                  const std::map<std::string, std::string>& group_of_user) {
  const json& nodes = nodes_document["nodes"];
  std::string out;
  header(out, "gpupool_node_up", "1 while the node's agent syncs, else 0.");
  for (const auto& node : nodes) {
    out += fmt::format("gpupool_node_up{{node=\"{}\"}} {}\n",
                       prometheus_label(node["name"].get<std::string>()),
                       node["state"] == "ready" || node["state"] == "draining" ? 1 : 0);
  }
  // What each node's engine takes of its disk, by kind; free space where the agent could see it.
  header(out, "gpupool_node_disk_bytes",
         "The node's container engine on disk: images, containers' writable layers, volumes, "
         "and free space on its data filesystem.");
  for (const auto& node : nodes) {
    const json& disk = node.contains("disk") ? node["disk"] : json();
    if (!disk.is_object()) continue;
    for (const char* kind : {"images", "containers", "volumes", "free"}) {
      const json& value = disk[std::string(kind) + "_bytes"];
      if (!value.is_number()) continue;
      out += fmt::format("gpupool_node_disk_bytes{{node=\"{}\",kind=\"{}\"}} {}\n",
                         prometheus_label(node["name"].get<std::string>()), kind,
                         value.get<std::int64_t>());
    }
  }
  header(out, "gpupool_gpu_allocated", "1 while a session holds the GPU (whole or a share).");
  for (const auto& node : nodes) {
    for (const auto& gpu : node["gpus"])
      out += fmt::format("gpupool_gpu_allocated{{{}}} {}\n", gpu_labels(node, gpu),
                         gpu["sessions"].empty() ? 0 : 1);
  }
  // A figure the GPU cannot give is left out rather than reported as 0.
  for (const auto& metric : kGpuMetrics) {
    header(out, metric.name, metric.help);
    for (const auto& node : nodes) {
      for (const auto& gpu : node["gpus"]) {
        const json& value = gpu[metric.field];
        if (value.is_null()) continue;
        out += fmt::format("{}{{{}}} {}\n", metric.name, gpu_labels(node, gpu),
                           value.get<double>() * metric.scale);
      }
    }
  }
  // Counts over the GPU's life, kept by its driver: a counter, as such.
  out +=
      "# HELP gpupool_gpu_ecc_uncorrected_errors_total Uncorrected ECC errors over the GPU's "
      "life.\n# TYPE gpupool_gpu_ecc_uncorrected_errors_total counter\n";
  for (const auto& node : nodes) {
    for (const auto& gpu : node["gpus"]) {
      auto errors = gpu.find("ecc_uncorrected_errors");
      if (errors == gpu.end() || !errors->is_number()) continue;
      out += fmt::format("gpupool_gpu_ecc_uncorrected_errors_total{{{}}} {}\n",
                         gpu_labels(node, gpu), errors->get<std::int64_t>());
    }
  }
  for (const auto& metric : kSessionGpuMetrics) {
    header(out, metric.name, metric.help);
    for (const auto& node : nodes) {
      for (const auto& gpu : node["gpus"]) {
        for (const auto& holder : gpu["sessions"]) {
          auto value = holder.find(metric.field);
          if (value == holder.end() || !value->is_number()) continue;
          std::string user = holder.value("user", "");
          auto group = group_of_user.find(user);
          out += fmt::format("{}{{{},session=\"{}\",user=\"{}\",group=\"{}\"}} {}\n", metric.name,
                             gpu_labels(node, gpu), prometheus_label(holder.value("id", "")),
                             prometheus_label(user),
                             prometheus_label(group != group_of_user.end() ? group->second : ""),
                             value->get<double>() * metric.scale);
        }
      }
    }
  }
  header(out, "gpupool_sessions", "Sessions not yet ended, by state.");
  for (const auto& [state, count] : sessions_by_state)
    out += fmt::format("gpupool_sessions{{state=\"{}\"}} {}\n", state, count);
  header(out, "gpupool_queue_length", "Requests waiting for GPUs.");
  out += fmt::format("gpupool_queue_length {}\n", queue_length);
  return out;
}

}  // namespace gpupool::api
