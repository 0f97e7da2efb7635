// SessionPorts: which of the gateway's session ports serves which session, when sessions have
// no DNS name of their own (no --session-domain: the common lab set-up, a gateway reached by
// IP address).
//
// A browser keeps scripts, storage and service workers apart by origin — scheme, host and
// port — so a session served on a port of its own cannot read the portal's pages or API
// replies, nor another session's, whatever its notebooks run (docs/security.md). A port is
// given to a session when someone first enters it and stays its own while the session is
// open; when every port is taken, the one entered longest ago whose session is over is given
// again. Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace gpupool::services {

class SessionPorts {
 public:
  explicit SessionPorts(const std::vector<std::uint16_t>& ports);

  bool empty() const { return slots_.empty(); }
  bool is_session_port(std::uint16_t port) const;

  // The port serving `session_id`, given one if it has none: a port never given, else the
  // one entered longest ago whose session `is_open` says is over; nullopt when every port
  // serves an open session.
  std::optional<std::uint16_t> assign(const std::string& session_id,
                                      const std::function<bool(const std::string&)>& is_open);
  // The session `port` serves, or "" for none.
  std::string session_at(std::uint16_t port) const;

 private:
  struct Slot {
    std::uint16_t port = 0;
    std::string session_id;     // "" while never given
    std::uint64_t entered = 0;  // when it was last given or entered, as a count of entries
  };

  // The slot of `port` (found without the lock: the ports never change), or nullptr.
  const Slot* slot_of(std::uint16_t port) const;

  mutable std::mutex mutex_;
  std::vector<Slot> slots_;  // by port; the ports never change, the rest is guarded by mutex_
  std::uint64_t entries_ = 0;
};

}  // namespace gpupool::services
