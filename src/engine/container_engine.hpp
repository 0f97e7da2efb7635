// ContainerEngine: the narrow interface the agent uses to run session containers.
//
// docker_api/ implements it over the Docker Engine API (v1.41, which Docker 20.10+ and
// Podman 4's compatible service both serve). Implementations are thread-safe and make no
// call wait on another: concurrent creates run concurrently.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace gpupool {

struct PortBinding {
  int container_port = 0;  // TCP
  std::string host_ip;     // "" for all addresses
  int host_port = 0;
};

struct VolumeMount {
  std::string volume;  // named volume, created beforehand
  std::string target;  // path inside the container
  // Set instead of `volume`: this host directory, bind-mounted (it must exist).
  std::string host_path = {};
  bool read_only = false;
};

struct ContainerSpec {
  std::string name;
  std::string image;
  std::vector<std::string> command;
  std::vector<std::string> env;  // "KEY=value"
  std::map<std::string, std::string> labels;
  std::string user;                  // "uid:gid" or "0" for the init step
  std::vector<std::string> cap_add;  // everything else is dropped
  std::int64_t memory_bytes = 0;
  std::int64_t nano_cpus = 0;
  std::int64_t pids_limit = 0;
  std::vector<PortBinding> ports;
  std::vector<VolumeMount> mounts;
  std::vector<std::string> gpu_uuids;  // real GPUs: requested from the engine's nvidia driver
  // Real GPUs named for the Container Device Interface ("nvidia.com/gpu=GPU-…"), which the
  // engine resolves through the CDI specs on its host.
  std::vector<std::string> cdi_devices;
  std::string hostname;
  std::string network = "bridge";  // the one network it is attached to
  bool disable_ipv6 = false;       // turns IPv6 off inside the container (its net sysctls)
  // What the engine keeps of the container's output, at most: a session printing in a loop
  // must not fill the disk the database is on. 0: the engine's default (unbounded).
  std::int64_t log_max_bytes = 0;
  // The container's writable layer at most (the engine's storage option `size`): only some
  // storage drivers bound it (overlay2 on XFS with project quotas, btrfs, zfs); the others
  // refuse the container. 0: unbounded.
  std::int64_t disk_bytes = 0;
};

// A bridge network of its own (IPv4 only): a session's island on the host.
struct NetworkSpec {
  std::string name;
  std::string subnet;       // "10.213.0.16/28"
  std::string bridge_name;  // the host interface, at most 15 characters
  std::map<std::string, std::string> labels;
};

struct NetworkInfo {
  std::string name;
  std::vector<std::string> subnets;  // IPv4 and IPv6 blocks as the engine reports them
  std::map<std::string, std::string> labels;
};

struct ContainerInfo {
  std::string id;
  std::string name;
  std::string image;  // the reference it was created from
  std::map<std::string, std::string> labels;
  std::string state;  // "created", "running", "exited", …
  // Its IPv4 address on the network it is attached to; "" while it has none (not running).
  std::string ipv4 = {};
  bool running() const { return state == "running"; }
};

// One container's state as the engine records it, with the times of its last start and stop.
struct ContainerStatus {
  std::string state;           // "created", "running", "exited", …
  UnixMillis started_at = 0;   // 0: never started
  UnixMillis finished_at = 0;  // 0: never stopped, or the engine does not say
  int exit_code = 0;
  bool oom_killed = false;  // the kernel's OOM killer ended its main process
  int pid = 0;              // its main process on the host, while it runs; 0 otherwise
  bool running() const { return state == "running"; }
};

struct ImageInfo {
  std::string reference;  // first repository:tag
  std::map<std::string, std::string> labels;
};

// What an image says of itself: the configuration an image saved from a session takes over
// from the image the session ran.
struct ImageDetails {
  std::string id;               // "sha256:…"
  std::int64_t size_bytes = 0;  // its layers and its parents'
  std::vector<std::string> env;
  std::vector<std::string> cmd;
  std::vector<std::string> entrypoint;
  std::string user;
  std::string working_dir;
  std::map<std::string, std::string> labels;
};

// One image the engine holds, as its disk-use report says.
struct EngineImage {
  std::string id;                    // "sha256:…"
  std::vector<std::string> tags;     // "repo:tag"; none for an image pulled by digest
  std::vector<std::string> digests;  // "repo@sha256:…", as pulled from registries
  std::int64_t size_bytes = 0;       // with the layers it shares with others
  int containers = 0;                // containers made from it, running or not
};

// What the engine takes of its host's disk.
struct EngineDiskUsage {
  std::int64_t images_bytes = 0;      // the layers, each counted once
  std::int64_t containers_bytes = 0;  // their writable layers
  std::int64_t volumes_bytes = 0;
  std::int64_t free_bytes = -1;  // on the filesystem of the engine's data; -1: unknown
  std::int64_t total_bytes = -1;
  std::vector<EngineImage> images;
};

// What answers at the engine's socket, and whether it hands containers CDI devices.
struct EngineIdentity {
  std::string product;      // "Docker" or "Podman"
  std::string version;      // the product's own: "20.10.24", "5.4.2"
  std::string api_version;  // the newest Docker Engine API it serves: "1.41"
  // Where it reads CDI specs; empty when a CDI device asked for through its Docker-compatible
  // API would be dropped (Docker without CDI turned on, Podman before 5.4).
  std::vector<std::string> cdi_spec_dirs = {};
  // The CDI devices it says it found ("nvidia.com/gpu=GPU-…"), where it says (Docker 28.2+).
  std::optional<std::vector<std::string>> cdi_devices = {};
  bool podman() const { return product == "Podman"; }
  std::string describe() const;  // "Docker 20.10.24 (API 1.41)"
};

// Who pulls from a registry; both empty: anonymously.
struct RegistryCredentials {
  std::string username;
  std::string password;
  bool empty() const { return username.empty() && password.empty(); }
};

// Sees how far a pull is ("1.2 of 3.4 GB, 3 of 7 layers") each time the engine says more;
// returning false ends the pull.
using PullWatcher = std::function<bool(const std::string& done_so_far)>;

class ContainerEngine {
 public:
  virtual ~ContainerEngine() = default;

  // What the engine is; an `unavailable` Error when it does not answer.
  virtual Result<EngineIdentity> identify() = 0;
  virtual Result<bool> image_present(const std::string& reference) = 0;
  // Pulls an image from its registry (the reference names it). The registry's own words
  // when it refuses (unknown image, bad credentials); `unavailable` when it cannot be reached.
  virtual Status pull_image(const std::string& reference, const RegistryCredentials& credentials,
                            const PullWatcher& watcher) = 0;
  // Pushes repository:tag to the registry the repository names: the digest the registry
  // filed it under ("sha256:…"), or the registry's own words when it refuses.
  virtual Result<std::string> push_image(const std::string& repository, const std::string& tag,
                                         const RegistryCredentials& credentials) = 0;
  // not_found when the engine lacks it.
  virtual Result<ImageDetails> inspect_image(const std::string& reference) = 0;
  // Untags and deletes it unless a container uses it; removing an absent image succeeds.
  virtual Status remove_image(const std::string& reference) = 0;
  // A stopped container's filesystem as a new image repository:tag, its configuration exactly
  // `config` (not the container's: its environment and labels stay out): the image's id.
  virtual Result<std::string> commit_container(const std::string& id, const std::string& repository,
                                               const std::string& tag,
                                               const ImageDetails& config) = 0;
  // The host directory that holds what the container wrote over its image (overlayfs' upper
  // directory); an error naming the storage driver when it is not overlayfs.
  virtual Result<std::string> writable_layer_dir(const std::string& id) = 0;
  // Its images, containers and volumes, with their sizes (it may take the engine seconds).
  virtual Result<EngineDiskUsage> disk_usage() = 0;
  // Tagged images carrying the label key.
  virtual Result<std::vector<ImageInfo>> list_images(const std::string& label_key) = 0;
  virtual Status ensure_volume(const std::string& name,
                               const std::map<std::string, std::string>& labels) = 0;
  virtual Result<std::string> create_container(const ContainerSpec& spec) = 0;  // → id
  virtual Status start_container(const std::string& id) = 0;
  // The container's state and times; not_found when there is none.
  virtual Result<ContainerStatus> inspect_container(const std::string& id_or_name) = 0;
  // The contents of one regular file inside a container (at most 64 KiB).
  virtual Result<std::string> read_file(const std::string& id_or_name, const std::string& path) = 0;
  // Writes one file, owned by root, into an existing directory of the container (replacing
  // what was there); the engine resolves the path inside the container's own filesystem.
  virtual Status write_file(const std::string& id_or_name, const std::string& directory,
                            const std::string& name, const std::string& content, unsigned mode) = 0;
  // The last `lines` lines of what the container's processes wrote to stdout and stderr.
  virtual Result<std::string> container_log(const std::string& id_or_name, int lines) = 0;
  // Force-removes; removing a container that is already gone succeeds.
  virtual Status remove_container(const std::string& id) = 0;
  // The CPU time all of a running container's processes have used so far, in nanoseconds.
  virtual Result<std::int64_t> cpu_time_nanos(const std::string& id) = 0;
  // All containers (running or not) matching a label filter: "key" or "key=value".
  virtual Result<std::vector<ContainerInfo>> list_containers(const std::string& label_filter) = 0;
  // A conflict Error when the name is taken or the subnet overlaps another network's.
  virtual Status create_network(const NetworkSpec& spec) = 0;
  // Removing a network that is already gone succeeds.
  virtual Status remove_network(const std::string& name) = 0;
  // Every network the engine has, ours or not (their subnets are taken).
  virtual Result<std::vector<NetworkInfo>> list_networks() = 0;
};

// Connects to an engine at "unix:///path"; does not contact it yet.
Result<std::unique_ptr<ContainerEngine>> make_docker_api_engine(const std::string& address);

// The first engine socket that answers: Docker's, then Podman's (rootful, then the user's).
Result<std::string> detect_engine_address();

}  // namespace gpupool
