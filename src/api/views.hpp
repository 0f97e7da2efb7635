// JSON views of model objects for the REST API: what callers see, nothing more (no hashes,
// no other users' data). Pure functions.
#pragma once

#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "api/imports.hpp"
#include "model/session.hpp"
#include "model/user.hpp"

namespace gpupool::api {

// Where users reach published session ports, and whether GPUs are simulated.
struct ViewContext {
  std::string public_host;  // host name or address for SSH links
  bool simulated = false;   // a session not placed yet: whether the pool's GPUs are simulated
  std::string gateway_url;  // e.g. "https://gpus.lab.example:8080": Jupyter links go here
  // Where each node's published ports are reached, by node name (Node::address); a session
  // on a node not listed here is reached at public_host.
  std::map<std::string, std::string> node_hosts = {};
  // Nodes whose GPUs are simulated (Node::simulated): a placed session says what its node has.
  std::set<std::string> simulated_nodes = {};
  // Nodes whose homes are on a filesystem every node shares (Node::shared_homes).
  std::set<std::string> shared_home_nodes = {};
  // Catalog images with no SSH server (Image::ssh): their sessions offer Jupyter only.
  std::set<std::string> images_without_ssh = {};
  // Catalog images whose check found code-server: their sessions offer VS Code where their
  // node relays to it (has an app relay: not Slurm nodes, nor agents older than the server).
  std::set<std::string> images_with_vscode = {};
  std::set<std::string> relaying_nodes = {};
  // The nodes' latest GPU readings, for what a session's processes use of its GPUs; none:
  // not shown.
  const TelemetryBoard* telemetry = nullptr;
  // What the server knows of running sessions' use; none: the idle block is left empty.
  const IdleWatch* idle = nullptr;
};

// `now` gives the time left under a time limit, and the warning in its last 15 minutes.
nlohmann::json session_view(const Session& session, const ViewContext& context, UnixMillis now);

// A running session's idle state (idle_view.cpp): its policy, when it was last used, by which
// signals, its warning and "keep it"s; null while it is not running or not yet checked.
nlohmann::json idle_view(const Session& session, const ViewContext& context, UnixMillis now);
// The owner's warning of an imminent reclaim, in English; "" when not warned.
std::string idle_warning(const Session& session, const ViewContext& context);
// Money in the API is in credits (JSON numbers); the store keeps micro-credits.
double credits(std::int64_t micros);
nlohmann::json user_view(const User& user);
// An image with where it can run; admins also see who added it and where it was checked.
nlohmann::json image_view(const Image& image, const std::vector<services::ImageFit>& fits,
                          bool admin);
// What a node's engine takes of its disk, and what its agent collected.
nlohmann::json node_disk_view(const NodeDisk& disk);
// A save of a session as its owner's image (services/image_saves.hpp).
nlohmann::json image_save_view(const ImageSave& save);
nlohmann::json pool_view(const PoolSummary& pool);

// The GPUs of one node for admins: what each is, who holds it (from `active` sessions) and
// its latest reading (null fields when `readings` is null or lacks them).
nlohmann::json node_gpus_view(const Node& node, const std::vector<Session>& active,
                              const NodeReadings* readings);

}  // namespace gpupool::api
