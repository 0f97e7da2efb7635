// The sync protocol each node's agent last spoke to this server (since it started): during a
// rolling upgrade, admins see which agents are still of the older release.
#pragma once

#include <map>
#include <mutex>
#include <string>

namespace gpupool::api {

class AgentProtocols {
 public:
  void record(const std::string& node, int version) {
    std::lock_guard lock(mutex_);
    versions_[node] = version;
  }
  // 0 when the node's agent has not synced with this server since it started.
  int of(const std::string& node) const {
    std::lock_guard lock(mutex_);
    auto found = versions_.find(node);
    return found == versions_.end() ? 0 : found->second;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, int> versions_;  // by node name; a few hundred at most
};

}  // namespace gpupool::api
