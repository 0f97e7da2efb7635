// Which session each process on a GPU belongs to: the driver knows processes by host pid,
// the kernel knows each process's cgroup, and the engine names the container behind it.
// Pure functions but read_process_cgroup; thread-safe.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/container_engine.hpp"
#include "model/gpu_reading.hpp"

namespace gpupool::agent {

// The container a process runs in, from the text of its /proc/PID/cgroup: the 64-hex id in
// Docker's cgroup paths ("/docker/ID", "docker-ID.scope") or Podman's ("libpod-ID.scope");
// "" when it runs in none.
std::string container_id_of_cgroup(std::string_view cgroup_file);

// /proc/PID/cgroup's text; "" when the process is gone.
std::string read_process_cgroup(int pid);

using CgroupReader = std::function<std::string(int pid)>;

// Turns each reading's processes into the sessions' use of that GPU (memory summed, time
// summed up to 100%), for the processes that run in one of `containers` (the node's session
// containers); drops the processes, which mean nothing off this node.
void attribute_gpu_processes(std::vector<GpuReading>& readings,
                             const std::vector<ContainerInfo>& containers,
                             const CgroupReader& read_cgroup = read_process_cgroup);

// The busiest GPU of each session in `containers`, for idle detection: a GPU's own utilisation
// where one session holds it, the session's processes' (attributed above) where several
// share it. A session none of whose GPUs has a known figure is left out.
std::map<std::string, int> session_gpu_utilization(const std::vector<GpuReading>& readings,
                                                   const std::vector<ContainerInfo>& containers);

}  // namespace gpupool::agent
