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
    entry.image = observed.image;
    if (!observed.jupyter_token.empty()) entry.jupyter_token = observed.jupyter_token;
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

Result<UnknownContainer> UnknownContainers::take(const std::string& node,
                                                 const std::string& session_id) {
  std::lock_guard lock(mutex_);
  auto entries = by_node_.find(node);
  if (entries == by_node_.end() || !entries->second.contains(session_id))
    return make_error(ErrorCode::not_found, "no such unknown container");
  UnknownContainer taken = std::move(entries->second.at(session_id));
  entries->second.erase(session_id);
  if (entries->second.empty()) by_node_.erase(entries);
  return taken;
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

scheduler::Allocation fence_of(const std::string& node, const std::string& label,
                               const ObservedSession& held, const std::vector<Node>& nodes) {
  scheduler::Allocation fence;
  fence.session_id = label;
  fence.node = node;
  fence.gpu_indices = held.gpu_indices;
  if (!held.holdings_known) {
    for (const auto& known : nodes) {
      if (known.name != node) continue;
      for (int index = 0; index < static_cast<int>(known.gpus.size()); ++index)
        fence.gpu_indices.push_back(index);
    }
  }
  if (!held.host_ports.empty()) fence.jupyter_port = held.host_ports.front();
  if (held.host_ports.size() > 1) fence.ssh_port = held.host_ports[1];
  return fence;
}

std::vector<scheduler::Allocation> UnknownContainers::fences(const std::vector<Node>& nodes) const {
  std::lock_guard lock(mutex_);
  std::vector<scheduler::Allocation> fences;
  for (const auto& [node, entries] : by_node_) {
    for (const auto& [id, entry] : entries) {
      ObservedSession held;
      held.gpu_indices = entry.gpu_indices;
      held.host_ports = entry.host_ports;
      held.holdings_known = entry.holdings_known;
      fences.push_back(fence_of(node, "unknown:" + id, held, nodes));
    }
  }
  return fences;
}

void DepartingContainers::update(const std::string& node, std::vector<ObservedSession> departing) {
  std::lock_guard lock(mutex_);
  if (departing.empty()) {
    by_node_.erase(node);
  } else {
    by_node_[node] = std::move(departing);
  }
}

std::vector<scheduler::Allocation> DepartingContainers::fences(
    const std::vector<Node>& nodes) const {
  std::lock_guard lock(mutex_);
  std::vector<scheduler::Allocation> fences;
  for (const auto& [node, entries] : by_node_) {
    for (const auto& entry : entries)
      fences.push_back(fence_of(node, "departing:" + entry.session_id, entry, nodes));
  }
  return fences;
}

}  // namespace gpupool::services
