#include "services/session_ports.hpp"

#include <algorithm>

namespace gpupool::services {

SessionPorts::SessionPorts(const std::vector<std::uint16_t>& ports) {
  for (auto port : ports) slots_.push_back({port, "", 0});
  std::sort(slots_.begin(), slots_.end(),
            [](const Slot& a, const Slot& b) { return a.port < b.port; });
}

const SessionPorts::Slot* SessionPorts::slot_of(std::uint16_t port) const {
  auto it = std::lower_bound(slots_.begin(), slots_.end(), port,
                             [](const Slot& slot, std::uint16_t p) { return slot.port < p; });
  return it != slots_.end() && it->port == port ? &*it : nullptr;
}

bool SessionPorts::is_session_port(std::uint16_t port) const {
  return slot_of(port) != nullptr;
}

std::optional<std::uint16_t> SessionPorts::assign(
    const std::string& session_id, const std::function<bool(const std::string&)>& is_open) {
  std::lock_guard lock(mutex_);
  ++entries_;
  for (auto& slot : slots_) {
    if (slot.session_id == session_id) {
      slot.entered = entries_;
      return slot.port;
    }
  }
  // Least recently entered first, never given before anything: a port is given again as
  // late as possible, since whatever a browser keeps for an origin outlives the session.
  std::vector<Slot*> candidates;
  for (auto& slot : slots_) candidates.push_back(&slot);
  std::sort(candidates.begin(), candidates.end(),
            [](const Slot* a, const Slot* b) { return a->entered < b->entered; });
  for (Slot* slot : candidates) {
    if (!slot->session_id.empty() && is_open(slot->session_id)) continue;
    slot->session_id = session_id;
    slot->entered = entries_;
    return slot->port;
  }
  return std::nullopt;
}

std::string SessionPorts::session_at(std::uint16_t port) const {
  const Slot* slot = slot_of(port);
  if (slot == nullptr) return "";
  std::lock_guard lock(mutex_);
  return slot->session_id;
}

}  // namespace gpupool::services
