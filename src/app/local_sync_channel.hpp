// The in-process SyncChannel of `gpupool up`: the local agent calls the SessionService
// directly, through the same request/response types a remote agent sends over HTTP. The GPU
// readings riding on each sync go to the TelemetryBoard.
#pragma once

#include <functional>
#include <mutex>
#include <vector>

#include "agent/sync_channel.hpp"
#include "services/session_service.hpp"
#include "services/telemetry_board.hpp"

namespace gpupool::app {

class LocalSyncChannel final : public agent::SyncChannel {
 public:
  // Registers itself with `service`; all three must outlive any sync.
  LocalSyncChannel(services::SessionService& service, services::TelemetryBoard& telemetry,
                   const Clock& clock)
      : service_(service), telemetry_(telemetry), clock_(clock) {
    service_.on_desired_change([this] {
      std::lock_guard lock(mutex_);
      for (const auto& callback : callbacks_) callback();
    });
  }

  Result<SyncResponse> sync(const SyncRequest& request) override {
    telemetry_.record(request.node.name, request.gpu_readings, clock_.now(), request.disk);
    return service_.sync(request);
  }

  void on_change(std::function<void()> callback) override {
    std::lock_guard lock(mutex_);
    callbacks_.push_back(std::move(callback));
  }

 private:
  services::SessionService& service_;
  services::TelemetryBoard& telemetry_;
  const Clock& clock_;
  std::mutex mutex_;
  std::vector<std::function<void()>> callbacks_;  // guarded by mutex_
};

}  // namespace gpupool::app
