#include "services/unknown_containers.hpp"

namespace gpupool::services {

std::vector<UnknownContainer> UnknownContainers::update(const std::string& node,
                                                        const std::vector<ObservedSession>& unknown,
                                                        UnixMillis now) {
  std::lock_guard lock(mutex_);
  auto& previous = by_node_[node];
  std::map<std::string, UnknownContainer> current;
  std::vector<UnknownContainer> first_seen;
  for (const auto& observed : unknown) {
    auto found = previous.find(observed.session_id);
    UnknownContainer entry;
    if (found != previous.end()) {
      entry = found->second;
    } else {
      entry.node = node;
      entry.session_id = observed.session_id;
      entry.first_seen = now;
    }
    entry.user = observed.user;
    entry.gpu_indices = observed.gpu_indices;
    entry.host_ports = observed.host_ports;
    entry.holdings_known = observed.holdings_known;
    if (found == previous.end()) first_seen.push_back(entry);
    current[observed.session_id] = std::move(entry);
  }
  previous = std::move(current);
  if (previous.empty()) by_node_.erase(node);
  return first_seen;
}

std::vector<UnknownContainer> UnknownContainers::list() const {
  std::lock_guard lock(mutex_);
  std::vector<UnknownContainer> all;
  for (const auto& [node, entries] : by_node_) {
    for (const auto& [id, entry] : entries) all.push_back(entry);
  }
  return all;
}

Status UnknownContainers::request_removal(const std::string& node, const std::string& session_id) {
  std::lock_guard lock(mutex_);
  auto entries = by_node_.find(node);
  if (entries == by_node_.end() || !entries->second.contains(session_id))
    return make_error(ErrorCode::not_found, "no such unknown container");
  entries->second.at(session_id).removal_requested = true;
  return {};
}

std::vector<std::string> UnknownContainers::released(const std::string& node) const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> ids;
  auto entries = by_node_.find(node);
  if (entries == by_node_.end()) return ids;
  for (const auto& [id, entry] : entries->second) {
    if (entry.removal_requested) ids.push_back(id);
  }
  return ids;
}

std::vector<scheduler::Allocation> UnknownContainers::fences(const std::vector<Node>& nodes) const {
  std::lock_guard lock(mutex_);
  std::vector<scheduler::Allocation> fences;
  for (const auto& [node, entries] : by_node_) {
    for (const auto& [id, entry] : entries) {
      scheduler::Allocation fence;
      fence.session_id = "unknown:" + id;
      fence.node = node;
      fence.gpu_indices = entry.gpu_indices;
      if (!entry.holdings_known) {
        for (const auto& known : nodes) {
          if (known.name != node) continue;
          for (int index = 0; index < static_cast<int>(known.gpus.size()); ++index)
            fence.gpu_indices.push_back(index);
        }
      }
      if (!entry.host_ports.empty()) fence.jupyter_port = entry.host_ports.front();
      if (entry.host_ports.size() > 1) fence.ssh_port = entry.host_ports[1];
      fences.push_back(std::move(fence));
    }
  }
  return fences;
}

}  // namespace gpupool::services
