#include "services/slurm_backend.hpp"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "core/log.hpp"
#include "core/random.hpp"
#include "slurm/job_script.hpp"

namespace gpupool::services {

namespace {

std::string replaced(std::string text, std::string_view placeholder, const std::string& value) {
  for (auto at = text.find(placeholder); at != std::string::npos;
       at = text.find(placeholder, at + value.size())) {
    text.replace(at, placeholder.size(), value);
  }
  return text;
}

}  // namespace

std::string image_directory(const std::string& images_dir, const std::string& tag) {
  std::string name = tag;
  std::replace(name.begin(), name.end(), '/', '_');
  return images_dir + "/" + name;
}

std::vector<Node> SlurmBackend::pool_nodes(const std::vector<slurm::SlurmNode>& nodes) const {
  std::vector<Node> pool;
  for (const auto& slurm_node : nodes) {
    if (!settings_.partition.empty() &&
        std::find(slurm_node.partitions.begin(), slurm_node.partitions.end(),
                  settings_.partition) == slurm_node.partitions.end())
      continue;
    if (!check_node_name(slurm_node.name)) continue;
    Node node;
    node.name = slurm_node.name;
    node.address = slurm_node.address.empty() ? slurm_node.name : slurm_node.address;
    // The gateway reaches jobs' ports where Slurm says the node is (never where a job says).
    node.jupyter_host = node.address;
    node.cpus = slurm_node.cpus;
    node.memory_mb = slurm_node.memory_mb;
    node.driver_cuda = settings_.driver_cuda;
    node.shared_homes = true;  // a cluster's homes are the same on every node
    node.labels["slurm"] = slurm_node.unusable() ? "unavailable" : "available";
    for (const auto& gres : slurm_node.gres) {
      if (gres.name != "gpu") continue;
      auto model = settings_.gpu_models.find(gres.type);
      for (int i = 0; i < gres.count; ++i) {
        GpuDevice gpu;
        gpu.index = static_cast<int>(node.gpus.size());
        gpu.uuid = fmt::format("slurm-{}-{}", node.name, gpu.index);
        gpu.model = model != settings_.gpu_models.end() ? model->second
                    : gres.type.empty()                 ? "GPU"
                                                        : gres.type;
        gpu.memory_mb = settings_.gpu_memory_mb;
        node.gpus.push_back(std::move(gpu));
      }
    }
    pool.push_back(std::move(node));
  }
  return pool;
}

Result<int> SlurmBackend::shards_for(std::int64_t gpu_memory_mb) const {
  if (settings_.shards_per_gpu <= 0 || settings_.gpu_memory_mb <= 0 ||
      settings_.gpu_cap_library.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "this cluster offers whole GPUs only: gpupool runs no GPU shares on it "
                      "(docs/slurm.md: GPU shares)");
  }
  // Rounded up: a share never gets less of the GPU than it pays for.
  auto shards = (gpu_memory_mb * settings_.shards_per_gpu + settings_.gpu_memory_mb - 1) /
                settings_.gpu_memory_mb;
  return static_cast<int>(std::clamp<std::int64_t>(shards, 1, settings_.shards_per_gpu));
}

Result<slurm::JobRequest> SlurmBackend::job_for(const Session& session, const std::string& secret) {
  slurm::JobRequest request;
  request.name = std::string(slurm::kJobNamePrefix) + session.id;
  request.user = session.username;
  request.owner_id = session.user_id;
  auto owner = store_.find_user(session.user_id);
  if (!owner) return owner.error();
  if (owner->has_value() && (*owner)->uid_from_directory) request.directory_uid = (*owner)->uid;
  request.home = replaced(settings_.home_pattern, "{user}", session.username);
  request.partition = settings_.partition;
  request.account = settings_.account;
  auto groups = store_.groups_of(session.user_id);
  if (!groups) return groups.error();
  {
    for (const auto& group : *groups) {
      auto qos = settings_.group_qos.find(group.name);
      if (qos != settings_.group_qos.end()) {
        request.qos = qos->second;
        break;
      }
    }
  }
  if (session.request.gpu_memory_mb > 0) {
    auto shards = shards_for(session.request.gpu_memory_mb);
    if (!shards) return shards.error();
    request.shards = *shards;
  } else {
    request.gpus = session.request.gpus;
  }
  if (!session.request.gpu_model.empty()) {
    // The request names a gpupool model: Slurm knows it by its GRES type.
    for (const auto& [type, model] : settings_.gpu_models)
      if (model == session.request.gpu_model) request.gpu_type = type;
    if (request.gpu_type.empty()) request.gpu_type = session.request.gpu_model;
  }
  request.cpus = session.request.cpus;
  request.memory_mb = session.request.memory_mb;
  if (session.request.max_hours)
    request.time_limit_minutes = std::max<std::int64_t>(
        1, static_cast<std::int64_t>(std::ceil(*session.request.max_hours * 60.0)));
  request.log_path = settings_.log_pattern;

  auto keys = store_.ssh_keys(session.user_id);
  if (!keys) return keys.error();
  std::string authorized;
  for (const auto& key : *keys) authorized += key + "\n";
  slurm::SessionJobValues values{
      .session_id = session.id,
      .user = session.username,
      .home = request.home,
      .rootfs = image_directory(settings_.images_dir, session.request.image_tag),
      .ready_url = settings_.ready_url,
      .activity_url = settings_.activity_url,
      .activity_seconds = std::to_string(settings_.activity_seconds),
      .ready_secret = secret,
      .jupyter_token = session.jupyter_token,
      .authorized_keys = authorized,
      .gpu_devices = settings_.gpu_devices,
      .ready_ca = settings_.ready_ca,
  };
  if (request.shards > 0) {
    values.gpu_memory_limit_mb = std::to_string(session.request.gpu_memory_mb);
    values.gpu_cap = settings_.gpu_cap_library;
  }
  auto script = slurm::session_job_script(values);
  if (!script) return script.error();
  request.script = std::move(*script);
  return request;
}

bool SlurmBackend::submit(const Session& session) {
  std::string secret = random_hex(32);
  auto request = job_for(session, secret);
  Result<std::int64_t> job =
      request ? client_.submit(*request) : Result<std::int64_t>(request.error());
  if (!job) {
    // Slurm is unreachable: the session waits for the next pass. Refused: it ends, saying why.
    if (job.error().code == ErrorCode::unavailable) {
      spdlog::warn("session {}: {}", session.id, job.error().message);
      return false;
    }
    if (auto refused = sessions_.slurm_refused(session.id, job.error().message); !refused)
      spdlog::error("session {}: {}", session.id, refused.error().message);
    return false;
  }
  if (auto recorded = sessions_.slurm_submitted(session.id, *job, digest_hex(secret)); !recorded) {
    // Unrecorded, nobody could prove the job's report: the next pass cancels it.
    spdlog::error("session {}: job {} not recorded: {}", session.id, *job,
                  recorded.error().message);
  }
  return true;
}

Result<int> SlurmBackend::pass() {
  if (!store_.leads()) return 0;  // the leading server talks to Slurm (leader_lease.hpp)
  auto nodes = client_.nodes();
  if (!nodes) return nodes.error();
  auto jobs = client_.jobs();
  if (!jobs) return jobs.error();
  auto orders = sessions_.slurm_sync({std::move(*jobs), pool_nodes(*nodes)});
  if (!orders) return orders.error();
  for (auto job_id : orders->cancel) {
    if (auto cancelled = client_.cancel(job_id); !cancelled)
      spdlog::warn("cannot cancel Slurm job {}: {}", job_id, cancelled.error().message);
  }
  int submitted = 0;
  for (const auto& session : orders->submit) submitted += submit(session) ? 1 : 0;
  return submitted;
}

}  // namespace gpupool::services
