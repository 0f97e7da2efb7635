// SyncChannel: how an agent reaches the server's desired state (design.md's agent sync).
//
// `gpupool up` uses an in-process channel; `gpupool agent` one over HTTPS with a long poll.
// The agent never learns which: that is what lets one node become many without a rewrite.
#pragma once

#include <functional>

#include "core/result.hpp"
#include "model/sync.hpp"

namespace gpupool::agent {

class SyncChannel {
 public:
  virtual ~SyncChannel() = default;

  // Reports inventory and observations; answers with the node's whole desired state.
  virtual Result<SyncResponse> sync(const SyncRequest& request) = 0;

  // Registers a callback the channel calls whenever the desired state may have changed, so
  // the agent need not wait for its next periodic sync. Called from any thread.
  virtual void on_change(std::function<void()> callback) = 0;

  // Whether sync() waits at the server until the node's desired state differs from the
  // request's held_state, up to its wait_millis (a long poll): the agent then syncs again as
  // soon as an answer comes instead of pausing between syncs.
  virtual bool long_polls() const { return false; }
  // Ends a sync under way at once, and one that begins before clear_interrupt(): the agent has
  // news (a session became ready) that must not wait for the server's answer.
  virtual void interrupt() {}
  virtual void clear_interrupt() {}
};

}  // namespace gpupool::agent
