#include <mutex>

#include "gateway/http_proxy.hpp"

namespace gpupool::gateway {

void TunnelRegistry::add(const std::string& credential, const std::shared_ptr<Tunnel>& tunnel) {
  std::lock_guard lock(mutex_);
  tunnels_[credential][tunnel.get()] = tunnel;
}

void TunnelRegistry::remove(const std::string& credential, const Tunnel* tunnel) {
  std::lock_guard lock(mutex_);
  auto it = tunnels_.find(credential);
  if (it == tunnels_.end()) return;
  it->second.erase(tunnel);
  if (it->second.empty()) tunnels_.erase(it);
}

void TunnelRegistry::close_all(const std::string& credential) {
  std::vector<std::shared_ptr<Tunnel>> open;
  {
    std::lock_guard lock(mutex_);
    auto it = tunnels_.find(credential);
    if (it == tunnels_.end()) return;
    for (auto& [key, weak] : it->second) {
      if (auto tunnel = weak.lock()) open.push_back(std::move(tunnel));
    }
  }
  for (auto& tunnel : open) tunnel->close();
}

void TunnelRegistry::close_everything() {
  std::vector<std::shared_ptr<Tunnel>> open;
  {
    std::lock_guard lock(mutex_);
    for (auto& [credential, tunnels] : tunnels_) {
      for (auto& [key, weak] : tunnels) {
        if (auto tunnel = weak.lock()) open.push_back(std::move(tunnel));
      }
    }
  }
  for (auto& tunnel : open) tunnel->close();
}

std::size_t TunnelRegistry::open_count() const {
  std::lock_guard lock(mutex_);
  std::size_t count = 0;
  for (const auto& [credential, tunnels] : tunnels_) count += tunnels.size();
  return count;
}

}  // namespace gpupool::gateway
