// The container contract for one session: name, labels, limits, ports, home volume, GPUs,
// and the init script gpupool ships (images only need python3, Jupyter and openssh-server).
// Pure functions; thread-safe.
#pragma once

#include <string>

#include "agent/gpu_attachment.hpp"
#include "engine/container_engine.hpp"
#include "model/sync.hpp"

namespace gpupool::agent {

inline constexpr const char* kSessionLabel = "io.gpupool.session";
inline constexpr const char* kUserLabel = "io.gpupool.user";
inline constexpr const char* kNodeLabel = "io.gpupool.node";
// What the container holds ("0,1" and "8100,2201"), so that a server that lost its database
// can still fence it.
inline constexpr const char* kGpusLabel = "io.gpupool.gpus";
inline constexpr const char* kPortsLabel = "io.gpupool.ports";
inline constexpr int kJupyterContainerPort = 8888;
inline constexpr int kSshContainerPort = 2222;
// Where the init script puts the session's authorized keys: root's, out of the user's reach.
// The agent rewrites the file when the user's keys change, so no restart is needed.
inline constexpr const char* kAuthorizedKeysDirectory = "/etc/gpupool";
inline constexpr const char* kAuthorizedKeysFile = "authorized_keys";
// Jupyter's settings with the session's token, written by the init script (root's; the
// agent reads the token back only to report a container the server does not know).
inline constexpr const char* kJupyterConfigPath =
    "/etc/gpupool/jupyter/jupyter_notebook_config.json";
// The GPU-memory cap (src/gpu_cap) in a session that holds a GPU share: bind-mounted read-only
// from the node, loaded into every process of the session through /etc/ld.so.preload.
inline constexpr const char* kGpuCapLibraryPath = "/usr/lib/gpupool/libgpupool_gpu_cap.so";
// Written by the init script when it cannot start the session: one line saying why.
inline constexpr const char* kStartFailurePath = "/etc/gpupool/start-failure";
// Written by the init script; the agent reports it so users can verify the host.
inline constexpr const char* kHostPublicKeyPath = "/run/gpupool/ssh_host_ed25519_key.pub";

struct ContainerSettings {
  std::string node_name;
  std::string publish_ip;  // host address the SSH port is published on; "" for all
  GpuAttachment gpu_attachment = GpuAttachment::simulated;  // how the engine hands out GPUs
  // Jupyter's port only needs to reach the gateway: "127.0.0.1" on a single machine.
  std::string jupyter_publish_ip;
  // Session networks are IPv4 only: IPv6 is turned off in the container so that link-local
  // addresses cannot reach the host around the firewall. False where the host has no IPv6.
  bool disable_ipv6 = true;
  // What a session may write outside its home (the container's writable layer); 0: unbounded.
  std::int64_t disk_bytes = 0;
  // Set: homes are <home_root>/<username> on a shared filesystem (agent/shared_homes.hpp);
  // empty: a named volume per user on this node.
  std::string home_root = {};
  // The GPU-memory cap library on this node; empty: none (simulated GPUs only).
  std::string gpu_cap_library = {};
};

std::string container_name(const std::string& session_id);
// The authorized keys file's contents, as the init script writes it.
std::string authorized_keys_text(const DesiredSession& session);
std::string home_volume_name(const std::string& username);
// Where the user's home comes from: their volume, or their directory under the home root.
VolumeMount home_mount(const std::string& username, const ContainerSettings& settings);

ContainerSpec make_session_container(const DesiredSession& session,
                                     const ContainerSettings& settings);

// The report of one session container, with what its labels say it holds.
ObservedSession observed_container(const ContainerInfo& container, ObservedPhase phase);

// The token in Jupyter's settings file as the init script writes it; "" when it is not there.
std::string jupyter_token_of(const std::string& settings_file);

// How a stopped container ended, in words for its owner: "exit code 137, out of memory".
std::string stop_description(const ContainerStatus& status);

// The POSIX shell script (session_init.sh, compiled in) that runs as PID 1's child: user entry,
// authorized_keys, hardened sshd config, then drops to the user to run sshd and Jupyter.
const std::string& session_init_script();

}  // namespace gpupool::agent
