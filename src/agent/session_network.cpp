#include "agent/session_network.hpp"

#include <spdlog/spdlog.h>

#include "agent/session_container.hpp"
#include "core/random.hpp"

namespace gpupool::agent {

namespace {

// Another gpupool on the same engine may take the subnet we picked between our list and our
// create, or still hold one it is removing; the engine refuses the overlap and we look again.
constexpr int kCreateAttempts = 8;

std::vector<Ipv4Block> ipv4_blocks(const std::vector<NetworkInfo>& networks) {
  std::vector<Ipv4Block> blocks;
  for (const auto& network : networks) {
    for (const auto& subnet : network.subnets) {
      if (auto block = parse_ipv4_block(subnet)) blocks.push_back(*block);
    }
  }
  return blocks;
}

}  // namespace

std::string session_network_name(const std::string& session_id) {
  return "gpupool-" + session_id;
}

std::string session_bridge_name(const std::string& session_id) {
  // A digest, not the id itself: interface names are short and must not collide.
  return kSessionBridgePrefix + digest_hex(session_id).substr(0, 12);
}

Result<Ipv4Block> free_subnet(const Ipv4Block& pool, int prefix,
                              const std::vector<Ipv4Block>& taken) {
  if (prefix < pool.prefix || prefix > 30)
    return make_error(ErrorCode::invalid_argument, "the session subnet pool is too small");
  std::uint64_t count = std::uint64_t{1} << (prefix - pool.prefix);
  std::uint64_t step = std::uint64_t{1} << (32 - prefix);
  for (std::uint64_t index = 0; index < count; ++index) {
    Ipv4Block candidate{static_cast<std::uint32_t>(pool.base + index * step), prefix};
    bool clashes = std::any_of(taken.begin(), taken.end(),
                               [&](const Ipv4Block& block) { return block.overlaps(candidate); });
    if (!clashes) return candidate;
  }
  return make_error(ErrorCode::unavailable, "no free subnet left in the session pool " +
                                                pool.to_string() +
                                                "; give the agent a larger --session-subnets");
}

SessionNetworks::SessionNetworks(ContainerEngine& engine, Ipv4Block pool, std::string node_name)
    : engine_(engine), pool_(pool), node_name_(std::move(node_name)) {}

Result<std::string> SessionNetworks::ensure(const std::string& session_id) {
  std::lock_guard lock(create_mutex_);
  const std::string name = session_network_name(session_id);
  Error last = make_error(ErrorCode::unavailable, "no attempt made");
  // Subnets the engine refused although no listed network holds them (one being removed
  // still holds its subnet for a moment): skipped from then on.
  std::vector<Ipv4Block> refused;
  for (int attempt = 0; attempt < kCreateAttempts; ++attempt) {
    auto networks = engine_.list_networks();
    if (!networks) return networks.error();
    for (const auto& network : *networks) {
      if (network.name == name) return name;
    }
    auto taken = ipv4_blocks(*networks);
    taken.insert(taken.end(), refused.begin(), refused.end());
    auto subnet = free_subnet(pool_, kSessionSubnetPrefix, taken);
    if (!subnet) return subnet.error();
    NetworkSpec spec{name,
                     subnet->to_string(),
                     session_bridge_name(session_id),
                     {{kSessionLabel, session_id}, {kNodeLabel, node_name_}}};
    auto created = engine_.create_network(spec);
    if (created) return name;
    last = created.error();
    if (last.code != ErrorCode::conflict) break;
    refused.push_back(*subnet);
  }
  return make_error(last.code, "cannot create the session's network: " + last.message);
}

Status SessionNetworks::remove(const std::string& session_id) {
  return engine_.remove_network(session_network_name(session_id));
}

void SessionNetworks::remove_all_but(const std::set<std::string>& keep) {
  auto networks = engine_.list_networks();
  if (!networks) return;
  for (const auto& network : *networks) {
    auto session = network.labels.find(kSessionLabel);
    auto node = network.labels.find(kNodeLabel);
    if (session == network.labels.end() || node == network.labels.end() ||
        node->second != node_name_ || keep.contains(session->second))
      continue;
    auto removed = engine_.remove_network(network.name);
    if (!removed)
      spdlog::warn("agent: cannot remove network {}: {}", network.name, removed.error().message);
  }
}

}  // namespace gpupool::agent
