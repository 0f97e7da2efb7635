#include "agent/gpu_attribution.hpp"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include "agent/session_container.hpp"

namespace gpupool::agent {

namespace {

constexpr std::size_t kContainerIdLength = 64;

bool is_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

}  // namespace

std::string container_id_of_cgroup(std::string_view cgroup_file) {
  // Each line is "hierarchy:controllers:path"; the id is the last 64-hex run in a path.
  std::string found;
  std::size_t start = 0;
  while (start < cgroup_file.size()) {
    std::size_t end = std::min(cgroup_file.find('\n', start), cgroup_file.size());
    std::string_view line = cgroup_file.substr(start, end - start);
    for (std::size_t at = 0; at + kContainerIdLength <= line.size(); ++at) {
      std::string_view candidate = line.substr(at, kContainerIdLength);
      bool bounded = (at == 0 || !is_hex(line.substr(at - 1, 1))) &&
                     (at + kContainerIdLength == line.size() ||
                      !is_hex(line.substr(at + kContainerIdLength, 1)));
      if (bounded && is_hex(candidate)) found = candidate;
    }
    start = end + 1;
  }
  return found;
}

std::string read_process_cgroup(int pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/cgroup");
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

void attribute_gpu_processes(std::vector<GpuReading>& readings,
                             const std::vector<ContainerInfo>& containers,
                             const CgroupReader& read_cgroup) {
  std::map<std::string, std::string> session_of_container;
  for (const auto& container : containers) {
    auto label = container.labels.find(kSessionLabel);
    if (label != container.labels.end()) session_of_container[container.id] = label->second;
  }
  for (auto& reading : readings) {
    std::map<std::string, SessionGpuUse> by_session;
    for (const auto& process : reading.processes) {
      auto session = session_of_container.find(container_id_of_cgroup(read_cgroup(process.pid)));
      if (session == session_of_container.end()) continue;
      SessionGpuUse& use = by_session[session->second];
      use.session_id = session->second;
      if (process.memory_used_mb)
        use.memory_used_mb = use.memory_used_mb.value_or(0) + *process.memory_used_mb;
      if (process.utilization_percent) {
        use.utilization_percent =
            std::min(100, use.utilization_percent.value_or(0) + *process.utilization_percent);
      }
    }
    reading.processes.clear();
    reading.sessions.clear();
    for (auto& [id, use] : by_session) reading.sessions.push_back(std::move(use));
  }
}

std::map<std::string, int> session_gpu_utilization(const std::vector<GpuReading>& readings,
                                                   const std::vector<ContainerInfo>& containers) {
  std::map<int, std::vector<std::string>> holders;  // GPU index → sessions holding it
  for (const auto& container : containers) {
    ObservedSession held = observed_container(container, ObservedPhase::running);
    for (int index : held.gpu_indices) holders[index].push_back(held.session_id);
  }
  std::map<std::string, int> busiest;
  auto note = [&](const std::string& session, int percent) {
    auto [entry, added] = busiest.emplace(session, percent);
    if (!added) entry->second = std::max(entry->second, percent);
  };
  for (const auto& reading : readings) {
    auto held = holders.find(reading.index);
    if (held == holders.end()) continue;
    if (held->second.size() == 1) {
      if (reading.utilization_percent) note(held->second.front(), *reading.utilization_percent);
      continue;
    }
    for (const auto& use : reading.sessions) {
      if (use.utilization_percent) note(use.session_id, *use.utilization_percent);
    }
  }
  return busiest;
}

}  // namespace gpupool::agent
