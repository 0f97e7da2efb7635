// SyncChannel: how an agent reaches the server's desired state (design.md's agent sync).
//
// `gpupool up` uses an in-process channel; `gpupool agent` will use one over HTTP long-poll.
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
};

}  // namespace gpupool::agent
