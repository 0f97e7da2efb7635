// ScriptedChannel: a server stand-in for agent tests. It hands out a fixed desired state and
// records the last report the agent sent. Like the server, it releases the containers of
// sessions it once wanted and wants no more, and never those of sessions it never knew.
// Thread-safe.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/sync_channel.hpp"

namespace gpupool::testing {

class ScriptedChannel final : public agent::SyncChannel {
 public:
  Result<SyncResponse> sync(const SyncRequest& request) override {
    std::lock_guard lock(mutex_);
    ++syncs_;
    if (failure_) {
      Error error = *failure_;
      failure_.reset();
      return error;
    }
    last_request_ = request;
    SyncResponse response = desired_;
    for (const auto& observed : request.observed) {
      bool wanted = false;
      for (const auto& session : desired_.desired)
        wanted |= session.session_id == observed.session_id;
      if (!wanted && known_.contains(observed.session_id))
        response.release.push_back(observed.session_id);
    }
    return response;
  }
  void on_change(std::function<void()> callback) override { callback_ = std::move(callback); }

  // The next sync fails with `error` (the server cannot be reached), once.
  void fail_next(Error error) {
    std::lock_guard lock(mutex_);
    failure_ = std::move(error);
  }
  int syncs() {
    std::lock_guard lock(mutex_);
    return syncs_;
  }

  void set_desired(std::vector<DesiredSession> desired) {
    {
      std::lock_guard lock(mutex_);
      desired_.desired = std::move(desired);
      for (const auto& session : desired_.desired) known_.insert(session.session_id);
    }
    if (callback_) callback_();
  }
  void set_prepull(std::vector<ImageToPull> images) {
    {
      std::lock_guard lock(mutex_);
      desired_.prepull = std::move(images);
    }
    if (callback_) callback_();
  }
  // The server lost its database: every session it knew is unknown from now on.
  void forget_everything() {
    std::lock_guard lock(mutex_);
    known_.clear();
    desired_.desired.clear();
  }
  // An admin asked for an unknown session's container to go.
  void release_unknown(const std::string& id) {
    std::lock_guard lock(mutex_);
    known_.insert(id);
  }
  std::optional<ObservedSession> observed(const std::string& id) {
    std::lock_guard lock(mutex_);
    for (const auto& observed : last_request_.observed) {
      if (observed.session_id == id) return observed;
    }
    return std::nullopt;
  }
  std::vector<GpuReading> gpu_readings() {
    std::lock_guard lock(mutex_);
    return last_request_.gpu_readings;
  }
  std::optional<ObservedPhase> phase_of(const std::string& id) {
    auto found = observed(id);
    return found ? std::optional(found->phase) : std::nullopt;
  }

 private:
  std::mutex mutex_;
  SyncResponse desired_;
  std::set<std::string> known_;  // every session ever desired
  SyncRequest last_request_;
  std::function<void()> callback_;
  std::optional<Error> failure_;
  int syncs_ = 0;
};

}  // namespace gpupool::testing
