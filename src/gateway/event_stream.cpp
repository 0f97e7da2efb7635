#include "gateway/event_stream.hpp"

namespace gpupool::gateway {

EventStream::~EventStream() {
  if (released_) released_();
}

std::optional<std::string> EventStream::next() {
  if (closed_) return std::nullopt;
  UnixMillis now = sources_.now();
  std::uint64_t changes = sources_.change_count();
  bool changed = !started_ || changes != seen_changes_;
  bool keep_alive_due = now - last_write_ >= kEventKeepAliveMillis;
  if (!changed && !keep_alive_due) return std::string();
  if (!sources_.still_allowed()) return std::nullopt;

  std::string out;
  if (!started_) out += "retry: 3000\n\n";  // how soon a browser reconnects after a drop
  started_ = true;
  if (changed) {
    // Read before the documents: a change made while they are read shows next time.
    seen_changes_ = changes;
    auto documents = sources_.documents();
    if (!documents) return std::nullopt;  // the browser reconnects and starts afresh
    for (auto& [name, json] : *documents) {
      auto& sent = sent_[name];
      if (sent == json) continue;
      out.append("event: ").append(name).append("\ndata: ").append(json).append("\n\n");
      sent = std::move(json);
    }
  }
  if (out.empty() && keep_alive_due) out = ": keep-alive\n\n";
  if (!out.empty()) last_write_ = now;
  return out;
}

}  // namespace gpupool::gateway
