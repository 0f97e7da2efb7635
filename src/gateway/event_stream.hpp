// EventStream: the portal's live view, as server-sent events (text/event-stream). Each named
// document (the caller's sessions, the pool) is sent at the start and again whenever its
// JSON changes; it is only read again when the store's change count has moved. A comment
// line every 15 s lets both ends notice a dead connection. The stream ends when its
// credential logs out (close(), through the TunnelRegistry) or no longer holds.
//
// Everything it reads comes through EventSources, so tests drive it with plain functions.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "gateway/http_proxy.hpp"
#include "gateway/http_server.hpp"

namespace gpupool::gateway {

// Event name and its JSON document (one line).
using NamedDocuments = std::vector<std::pair<std::string, std::string>>;

struct EventSources {
  std::function<std::uint64_t()> change_count;
  std::function<Result<NamedDocuments>()> documents;
  std::function<bool()> still_allowed;  // the caller's credential still holds
  std::function<UnixMillis()> now;
};

inline constexpr UnixMillis kEventKeepAliveMillis = 15000;

class EventStream final : public ReplyStream, public Tunnel {
 public:
  explicit EventStream(EventSources sources) : sources_(std::move(sources)) {}
  ~EventStream() override;
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // What to send now: "" for nothing, nullopt to end the stream.
  std::optional<std::string> next() override;
  void close() override { closed_ = true; }
  // Called once, when the stream is destroyed (to give back what opening it took).
  void on_release(std::function<void()> released) { released_ = std::move(released); }

 private:
  EventSources sources_;
  std::function<void()> released_;
  std::atomic<bool> closed_{false};
  bool started_ = false;
  std::uint64_t seen_changes_ = 0;
  UnixMillis last_write_ = 0;
  std::map<std::string, std::string> sent_;  // by event name
};

}  // namespace gpupool::gateway
