// ActivitySensor: reads a running session's signs of use on its node — the CPU time its
// container has used, its Jupyter kernels and terminals, and SSH connections to it — for the
// ActivityMonitor (activity_monitor.hpp) to turn into a SessionActivity. LiveActivitySensor
// asks the container engine, Jupyter's own API (with the session's token) and the kernel's
// table of the container's TCP connections; tests script their own. Called from the
// monitor's thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "engine/container_engine.hpp"

namespace gpupool::agent {

// A running session the agent watches.
struct WatchedSession {
  std::string session_id;
  std::string container_id;
  int jupyter_port = 0;  // published on the readiness host
  std::string jupyter_token;
};

// What Jupyter says of its kernels and terminals.
struct JupyterUse {
  int kernels = 0;
  int busy_kernels = 0;
  int terminals = 0;
  UnixMillis last_activity = 0;  // the latest of theirs (the node's clock); 0: nothing open
};

// One reading; a part that could not be read is empty.
struct ActivitySample {
  std::optional<std::int64_t> cpu_nanos;  // the container's CPU time so far
  std::optional<JupyterUse> jupyter;
  std::optional<int> ssh_connections;
};

class ActivitySensor {
 public:
  virtual ~ActivitySensor() = default;
  virtual ActivitySample sample(const WatchedSession& session) = 0;
};

class LiveActivitySensor final : public ActivitySensor {
 public:
  // `engine` must outlive the sensor; `jupyter_host` is where published Jupyter ports answer.
  LiveActivitySensor(ContainerEngine& engine, std::string jupyter_host)
      : engine_(engine), jupyter_host_(std::move(jupyter_host)) {}
  ActivitySample sample(const WatchedSession& session) override;

 private:
  std::optional<JupyterUse> read_jupyter(const WatchedSession& session);
  std::optional<int> count_ssh_connections(const std::string& container_id);

  ContainerEngine& engine_;
  const std::string jupyter_host_;
};

// Jupyter's GET /api/kernels and GET /api/terminals answers, read; nullopt when either is
// not the list Jupyter sends.
std::optional<JupyterUse> parse_jupyter_use(std::string_view kernels, std::string_view terminals);

// Established TCP connections to local `port` in a /proc/<pid>/net/tcp or tcp6 table.
int established_connections(std::string_view table, int port);

}  // namespace gpupool::agent
