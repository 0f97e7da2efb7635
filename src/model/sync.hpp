// The desired-state sync between server and agents (design.md: POST /api/v1/agent/sync).
//
// Level-triggered: each sync carries the agent's whole inventory and everything it observes,
// and the answer is the whole desired state for that node, so lost or repeated messages
// converge at the next sync. The local agent of `gpupool up` uses the same types in-process.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/gpu_reading.hpp"
#include "model/idle.hpp"
#include "model/node.hpp"

namespace gpupool {

// The most of a failed session's output an agent reports (its last lines).
inline constexpr std::size_t kMaxStartLogBytes = 16 * 1024;

// What the agent is doing about one session, as it reports it.
enum class ObservedPhase {
  starting,  // container being created, started, or Jupyter not answering yet
  running,   // container running and Jupyter answering
  failed,    // could not start, or stopped and will not be restarted; `message` says why
  stopping,  // being removed
  // It stopped without being asked (the engine or the host restarted, or its main process
  // ended) and is being started again: processes and /tmp are gone, the home is not.
  restarting,
};

struct ObservedSession {
  std::string session_id;
  ObservedPhase phase = ObservedPhase::starting;
  std::string message;
  std::string ssh_host_key;  // running: the container's SSH host public key, if read
  // failed: the last lines its container printed (at most kMaxStartLogBytes), for its owner.
  std::string log = {};
  // failed or restarting: when the container stopped, by the engine's record; 0 when unknown
  // (it never ran, or the engine does not say).
  UnixMillis stopped_at = 0;
  // What the container holds, from its labels: the server fences it when its database does
  // not know the session (a lost or replaced database), so nothing else is placed on it.
  std::string user;
  std::vector<int> gpu_indices;
  std::vector<int> host_ports;
  bool holdings_known = false;  // the container carries those labels (older ones do not)
  // Only for a container of a session the server does not know, so that an admin can adopt
  // it as a session: its image, and the Jupyter token the gateway needs to reach it.
  std::string image;
  std::string jupyter_token;
  // Running: how much it is used (model/idle.hpp); empty until the agent has measured it.
  std::optional<SessionActivity> activity = {};
};

// What a throwaway container of a catalog image found inside it (the contract check): the
// agent reports it, the server judges it (catalog/image_contract.hpp).
struct ImageCheckReport {
  std::string tag;
  std::string reference;
  // The container could not be made or run (pull refused, no shell, timed out): why.
  std::string error = {};
  std::string python = {};  // versions; "" when absent
  std::string notebook = {};
  std::string jupyterlab = {};
  std::string code_server = {};  // VS Code in the browser
  std::string torch = {};
  std::string torch_cuda = {};
  bool sshd = false;     // /usr/sbin/sshd and ssh-keygen
  bool setpriv = false;  // the session init drops to the user with it
};

// What came of a save the server ordered (ImageSaveOrder), reported at each sync while ordered.
struct ImageSaveReport {
  std::int64_t id = 0;
  std::string error = {};       // why it was not saved; "" when it was
  std::string digest = {};      // "sha256:…", as the registry filed it
  std::int64_t size_bytes = 0;  // what it adds to the image the session ran
};

struct SyncRequest {
  Node node;  // inventory; `last_seen` is set by the server
  std::vector<ObservedSession> observed;
  // What the node's GPUs are doing now; empty when the probe could not read them. Kept by
  // the server in memory only (telemetry_board.hpp): it changes every sync and is not state.
  std::vector<GpuReading> gpu_readings;
  // A long poll (protocol 2): the state the agent holds (SyncResponse::state), and how long
  // the server may hold this sync while the node's desired state is still that one. 0: answer
  // at once.
  std::string held_state = {};
  std::int64_t wait_millis = 0;
  // Contract checks the server ordered (SyncResponse::image_checks) that have run.
  std::vector<ImageCheckReport> image_checks = {};
  std::vector<ImageSaveReport> image_saves = {};  // saves ordered that have ended
  std::optional<NodeDisk> disk = {};              // once the agent has measured it
};

// A directory of the node lent read-only to the session, at /datasets/<name>.
struct DatasetMount {
  std::string name;
  std::string host_path;
};

// Everything the agent needs to run one session's container.
struct DesiredSession {
  std::string session_id;
  std::string username;
  int uid = 0;
  int gid = 0;  // 0: the same as uid
  std::string image_reference;
  // For pulling it when the node lacks it; both empty: anonymously. Only sessions whose image
  // is in a registry the server has credentials for carry them.
  std::string registry_username = {};
  std::string registry_password = {};
  std::vector<int> gpu_indices;
  std::vector<std::string> gpu_uuids;
  int jupyter_port = 0;
  int ssh_port = 0;
  std::string jupyter_token;
  std::vector<std::string> authorized_keys;
  double cpus = 1;
  std::int64_t memory_mb = 1024;
  std::int64_t gpu_memory_mb = 0;  // > 0: a share of the one GPU, capped at this
  std::vector<DatasetMount> datasets = {};
};

// A catalog image every node should hold before anyone asks for it.
struct ImageToPull {
  std::string reference;
  std::string registry_username = {};  // both empty: anonymously
  std::string registry_password = {};
};

// A contract check the server asks this node to run: the image in a throwaway container.
struct ImageCheckOrder {
  std::string tag;
  ImageToPull image;
};

// A running session's container saved as its owner's image (services/image_saves.hpp): what
// the session wrote over its image, gpupool's own files left out, committed and pushed.
struct ImageSaveOrder {
  std::int64_t id = 0;
  std::string session_id;
  std::string repository;      // "registry:5000/gpupool-users/alice/torch-env"
  std::string tag;             // "20261205-213500"
  std::int64_t max_bytes = 0;  // the most it may add to the session's image
  ImageToPull base;            // the session's image, and who may push to the registry
};

struct SyncResponse {
  std::vector<DesiredSession> desired;
  // Sessions the server knows and wants gone (ended, stopping, or placed elsewhere): the only
  // containers the agent removes. One in neither list belongs to a session the server does
  // not know; it is left running, never removed on the strength of a missing row.
  std::vector<std::string> release;
  // A fingerprint of the node's desired state (desired_state_fingerprint), for the agent to
  // name in its next sync: the server holds that sync until the state differs.
  std::string state = {};
  // Pulled in the background, one at a time, so that the first session there starts at once.
  std::vector<ImageToPull> prepull = {};
  // Run one at a time, reported at each sync while ordered.
  std::vector<ImageCheckOrder> image_checks = {};
  std::vector<ImageSaveOrder> image_saves = {};  // likewise
};

// The same text for the same desired sessions and containers to remove, in any order; a
// change in anything an agent acts on (a session, its GPUs, ports, keys, limits) changes it.
// `checks`: the tags and references of the contract checks ordered to the node.
std::string desired_state_fingerprint(std::vector<DesiredSession> desired,
                                      std::vector<std::string> removals,
                                      std::vector<std::string> checks = {});

}  // namespace gpupool
