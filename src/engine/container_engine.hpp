// ContainerEngine: the narrow interface the agent uses to run session containers.
//
// docker_api/ implements it over the Docker Engine API (v1.41, which Docker 20.10+ and
// Podman 4's compatible service both serve). Implementations are thread-safe and make no
// call wait on another: concurrent creates run concurrently.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

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
  std::vector<std::string> gpu_uuids;  // real GPUs: requested from the engine's NVIDIA runtime
  std::string hostname;
};

struct ContainerInfo {
  std::string id;
  std::string name;
  std::map<std::string, std::string> labels;
  std::string state;  // "created", "running", "exited", …
  bool running() const { return state == "running"; }
};

struct ImageInfo {
  std::string reference;  // first repository:tag
  std::map<std::string, std::string> labels;
};

class ContainerEngine {
 public:
  virtual ~ContainerEngine() = default;

  // The engine's version string; an `unavailable` Error when it does not answer.
  virtual Result<std::string> version() = 0;
  virtual Result<bool> image_present(const std::string& reference) = 0;
  // Tagged images carrying the label key.
  virtual Result<std::vector<ImageInfo>> list_images(const std::string& label_key) = 0;
  virtual Status ensure_volume(const std::string& name,
                               const std::map<std::string, std::string>& labels) = 0;
  virtual Result<std::string> create_container(const ContainerSpec& spec) = 0;  // → id
  virtual Status start_container(const std::string& id) = 0;
  // The container's state ("running", "exited", …); not_found when there is none.
  virtual Result<std::string> container_state(const std::string& id_or_name) = 0;
  // The contents of one regular file inside a container (at most 64 KiB).
  virtual Result<std::string> read_file(const std::string& id_or_name, const std::string& path) = 0;
  // Force-removes; removing a container that is already gone succeeds.
  virtual Status remove_container(const std::string& id) = 0;
  // All containers (running or not) matching a label filter: "key" or "key=value".
  virtual Result<std::vector<ContainerInfo>> list_containers(const std::string& label_filter) = 0;
};

// Connects to an engine at "unix:///path"; does not contact it yet.
Result<std::unique_ptr<ContainerEngine>> make_docker_api_engine(const std::string& address);

// The first engine socket that answers: Docker's, then Podman's (rootful, then the user's).
Result<std::string> detect_engine_address();

}  // namespace gpupool
