// Each session runs on a bridge network of its own, an island: one container, one subnet, a
// host interface named "gp-…" that the session firewall recognises. Subnets are carved from
// a pool the admin chooses (default 10.213.0.0/16, a /28 each: 4096 sessions per node),
// avoiding every network the engine already has. Thread-safe: creations are serialised so
// two sessions never pick one subnet; a subnet another gpupool on the same engine took at
// the same moment is detected by the engine and the next free one tried.
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "core/ipv4.hpp"
#include "core/result.hpp"
#include "engine/container_engine.hpp"

namespace gpupool::agent {

inline constexpr const char* kDefaultSessionSubnets = "10.213.0.0/16";
inline constexpr int kSessionSubnetPrefix = 28;
// Every session bridge's name starts with this; the firewall matches it as "gp-+".
inline constexpr const char* kSessionBridgePrefix = "gp-";

std::string session_network_name(const std::string& session_id);
std::string session_bridge_name(const std::string& session_id);  // 15 characters

// The first block of `prefix` bits in `pool` that overlaps none of `taken`.
Result<Ipv4Block> free_subnet(const Ipv4Block& pool, int prefix,
                              const std::vector<Ipv4Block>& taken);

class SessionNetworks {
 public:
  // `pool` must be at most /28 (checked by the caller's option parsing).
  SessionNetworks(ContainerEngine& engine, Ipv4Block pool, std::string node_name);

  // The session's network, created when missing; returns its name.
  Result<std::string> ensure(const std::string& session_id);
  // Removing a network that is already gone succeeds.
  Status remove(const std::string& session_id);
  // Removes this node's session networks whose session is not in `keep`.
  void remove_all_but(const std::set<std::string>& keep);

 private:
  ContainerEngine& engine_;
  const Ipv4Block pool_;
  const std::string node_name_;
  std::mutex create_mutex_;
};

}  // namespace gpupool::agent
