#include "slurm/job_script.hpp"

#include <cmath>

#include <fmt/format.h>

namespace gpupool::slurm {

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'') {
      quoted += "'\\''";
    } else {
      quoted += c;
    }
  }
  return quoted + "'";
}

std::vector<std::string> sbatch_arguments(const JobRequest& request, int user_id, int group_id) {
  std::vector<std::string> argv = {
      "sbatch", "--parsable", fmt::format("--job-name={}", request.name),
      fmt::format("--uid={}", user_id), fmt::format("--gid={}", group_id), "--export=NONE",
      // A requeued job would be a second session under the first
      // one's name: a failed node ends the session instead.
      "--no-requeue", "--nodes=1", "--ntasks=1",
      fmt::format("--cpus-per-task={}", std::max(1, static_cast<int>(std::ceil(request.cpus)))),
      fmt::format("--mem={}M", std::max<std::int64_t>(request.memory_mb, 1)),
      fmt::format("--output={}", request.log_path), "--chdir=/tmp"};
  if (!request.partition.empty()) argv.push_back("--partition=" + request.partition);
  if (!request.qos.empty()) argv.push_back("--qos=" + request.qos);
  if (!request.account.empty()) argv.push_back("--account=" + request.account);
  auto gres = [&](std::string_view name, int count) {
    argv.push_back(request.gpu_type.empty()
                       ? fmt::format("--gres={}:{}", name, count)
                       : fmt::format("--gres={}:{}:{}", name, request.gpu_type, count));
  };
  if (request.gpus > 0) gres("gpu", request.gpus);
  if (request.shards > 0) gres("shard", request.shards);
  if (request.time_limit_minutes > 0)
    argv.push_back(fmt::format("--time={}", request.time_limit_minutes));
  return argv;
}

Result<std::string> session_job_script(const SessionJobValues& values) {
  const std::pair<const char*, const std::string*> fields[] = {
      {"GPUPOOL_SESSION", &values.session_id},
      {"GPUPOOL_USER", &values.user},
      {"GPUPOOL_HOME", &values.home},
      {"GPUPOOL_ROOTFS", &values.rootfs},
      {"GPUPOOL_READY_URL", &values.ready_url},
      {"GPUPOOL_ACTIVITY_URL", &values.activity_url},
      {"GPUPOOL_ACTIVITY_SECONDS", &values.activity_seconds},
      {"GPUPOOL_READY_SECRET", &values.ready_secret},
      {"GPUPOOL_TOKEN", &values.jupyter_token},
      {"GPUPOOL_AUTHORIZED_KEYS", &values.authorized_keys},
      {"GPUPOOL_GPU_DEVICES", &values.gpu_devices},
      {"GPUPOOL_READY_CA", &values.ready_ca},
      {"GPUPOOL_GPU_MEMORY_LIMIT_MB", &values.gpu_memory_limit_mb},
      {"GPUPOOL_GPU_CAP", &values.gpu_cap},
  };
  std::string script = "#!/bin/bash\n# A gpupool session (docs/slurm.md).\n";
  for (const auto& [name, value] : fields) {
    if (value->find('\0') != std::string::npos)
      return make_error(ErrorCode::invalid_argument, fmt::format("{} holds a NUL byte", name));
    script += fmt::format("{}={}\n", name, shell_quote(*value));
  }
  // The body follows its own shebang line, which is a comment here.
  return script + session_job_body();
}

}  // namespace gpupool::slurm
