// The node side of a process: its GPUs, its container engine, its session networks and the
// agent over them. `up` runs one beside the server (in-process sync); `gpupool agent` runs one
// alone (sync over HTTPS). Made in two steps because `up` needs the engine before the
// server's parts exist, and the agent needs the server's sync channel.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <utility>

#include "agent/agent.hpp"
#include "app/session_network_options.hpp"
#include "app/up_command.hpp"
#include "gateway/tcp_relay.hpp"

namespace gpupool::app {

struct NodeRuntime {
  std::unique_ptr<GpuProbe> probe;
  GpuInventory inventory;
  std::string gpu_cap_library;  // on this node; "" when none was found (simulated GPUs only)
  std::string engine_address;
  std::unique_ptr<ContainerEngine> engine;
  EngineIdentity engine_identity;
  agent::GpuAttachment gpu_attachment = agent::GpuAttachment::simulated;
  SessionNetwork network;
  std::unique_ptr<agent::HttpReadinessCheck> readiness;
  std::unique_ptr<agent::LiveActivitySensor> activity;
  std::unique_ptr<agent::Agent> agent;  // set by start_agent
  // Its sessions' web apps, for the gateway (app_relay.hpp); goes before the agent it asks.
  std::unique_ptr<gateway::TcpRelay> app_relay;
};

// Where the node's sessions are reached: users' SSH host, and the address Jupyter ports are
// published on (the only one; the gateway connects there, the agent's readiness check too).
struct NodeAddresses {
  std::string public_host;
  std::string jupyter_address;
};

// "LOW-HIGH" within 1024-65535 (at least two ports); the error names `option`.
Result<std::pair<int, int>> parse_port_range(const std::string& option, const std::string& text);

// Probes the GPUs and connects to the engine; checks the options.
Result<std::unique_ptr<NodeRuntime>> open_node(const NodeOptions& options);

// Makes the node's agent over `channel` (not started), syncing every `sync_interval`
// (AgentSettings::sync_interval).
Status make_agent(NodeRuntime& node, const NodeOptions& options, const NodeAddresses& addresses,
                  agent::SyncChannel& channel, std::chrono::milliseconds sync_interval,
                  const Clock& clock);

// This machine's host name, or "localhost".
std::string host_name();

// Logs that the GPUs are simulated, loudly, or which real ones there are.
void log_gpus(const GpuInventory& inventory);

}  // namespace gpupool::app
