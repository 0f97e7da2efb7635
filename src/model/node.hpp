// Node and GPU: what a GPU server offers, as its agent reports it. Plain data.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace gpupool {

// How two GPUs of one node are connected, best first.
enum class GpuLink { same = 0, nvlink = 1, pcie_switch = 2, numa_node = 3, system = 4 };

struct GpuDevice {
  int index = 0;
  std::string uuid;
  std::string model;  // e.g. "A100-80GB"
  std::int64_t memory_mb = 0;
  bool simulated = false;
  // links[j]: how this GPU reaches GPU j of the node; empty when the probe could not tell.
  std::vector<GpuLink> links;
};

std::string_view to_string(GpuLink link);

// A node's name: 1-63 lower-case letters, digits, '.', '-' and '_', starting with a letter or
// digit. It names containers, labels and log lines, so nothing else is let in.
Status check_node_name(std::string_view name);

// The worst link within a set of GPUs of one node (GpuLink::same for one GPU).
GpuLink worst_link(const std::vector<GpuDevice>& gpus, const std::vector<int>& chosen);

// What a node's container engine takes of its disk, as its agent last measured it (reported
// with its syncs, kept by the server in memory like GPU readings).
struct NodeDisk {
  std::int64_t images_bytes = 0;
  std::int64_t containers_bytes = 0;  // the sessions' writable layers, and any other's
  std::int64_t volumes_bytes = 0;     // homes in engine volumes, and any other's
  std::int64_t free_bytes = -1;       // on the engine's data filesystem; -1: unknown
  std::int64_t total_bytes = -1;
  int images = 0;
  // Unused images the agent removed since it started, and what they held.
  int images_collected = 0;
  std::int64_t collected_bytes = 0;
};

struct Node {
  std::string name;
  std::string address;  // host users reach for SSH and published ports
  std::vector<GpuDevice> gpus;
  int cpus = 0;
  std::int64_t memory_mb = 0;
  int port_min = 0;  // published ports come from [port_min, port_max]
  int port_max = 0;
  std::string driver_cuda;  // highest CUDA version the driver supports, e.g. "12.4"; empty if none
  bool simulated = false;
  bool drained = false;                       // takes no new sessions; running ones stay
  std::map<std::string, std::string> labels;  // set on the agent, matched by node selectors
  UnixMillis last_seen = 0;
  std::string jupyter_host;  // where the gateway reaches Jupyter ports published here
  // An admin removed it (every credential it had is revoked): nothing new goes there, and
  // its agent is refused until it joins again with a new token. Read, never written.
  bool removed = false;
  // Its sessions' homes are on a filesystem every node shares (the agent's --home-root); else
  // each home lives on the node that made it.
  bool shared_homes = false;
  // Where on jupyter_host the node's app relay listens (app/app_relay.hpp): the gateway
  // reaches the web apps sessions serve through it. 0: none (Slurm nodes, older agents).
  int app_relay_port = 0;
  // Its container engine, as the agent found it ("Docker 28.2.2 (API 1.50)"); "" for older
  // agents and Slurm.
  std::string engine = {};
  // How the engine hands sessions their real GPUs: "cdi" or "nvidia" (agent/gpu_attachment.hpp);
  // "" without real GPUs.
  std::string gpu_devices = {};
};

}  // namespace gpupool
