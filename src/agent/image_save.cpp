#include "agent/image_save.hpp"

#include <fmt/format.h>

#include "agent/session_container.hpp"
#include "agent/throwaway_container.hpp"
#include "core/log.hpp"
#include "engine/docker_api/pull_progress.hpp"

namespace gpupool::agent {

namespace {

constexpr const char* kChangesMount = "/mnt";

// Runs as root (with only the capabilities to read everything and set owners and modes) in a
// container of the
// session's image, the session's upper directory at /mnt. Left out: gpupool's own files
// (/etc/gpupool, the cap's preload, /run, the restart notice), /tmp (emptied at every start),
// and the mount points of the home, datasets, the cap library and the engine's init. Overlayfs
// marks what the session deleted from its image with a character device: those paths are deleted
// here. Errors go to a file the agent reads when it fails, removed when it succeeds (it would be in
// the image).
constexpr const char* kErrorsPath = "/tmp/gpupool-save-errors";
constexpr const char* kCopyScript = R"script(set -eu
exec 2>/tmp/gpupool-save-errors
cd /mnt
walk() {
  find . -xdev \( -path ./etc/gpupool -o -path ./etc/ld.so.preload -o -path ./etc/motd \
    -o -path ./run -o -path ./tmp -o -path ./home -o -path ./datasets -o -path ./usr/lib/gpupool \
    -o -path ./mnt -o -path ./usr/sbin/docker-init -o -path ./dev \) -prune -o "$@"
}
walk -type c -exec sh -c 'for p; do rm -rf -- "/${p#./}"; done' sh {} +
walk ! -type c ! -path . -print0 |
  tar --null --no-recursion --numeric-owner -T - -cf - |
  tar -C / --numeric-owner -xpf -
rm /tmp/gpupool-save-errors
)script";

// The first error said (what caused the rest), cut to 300 characters.
std::string first_line(std::string_view text) {
  while (!text.empty() && (text.front() == '\n' || text.front() == ' ')) text.remove_prefix(1);
  return std::string(text.substr(0, std::min<std::size_t>(text.find('\n'), 300)));
}

ImageSaveReport failed(const ImageSaveOrder& order, std::string why) {
  return ImageSaveReport{order.id, std::move(why)};
}

// The copy container, made and run to its end: its id, or why it failed.
Result<std::string> copy_changes(ContainerEngine& engine, const ImageSaveOrder& order,
                                 const std::string& upper_dir, const std::string& node_name,
                                 const std::atomic<bool>& stopping, const ImageSaveLimits& limits) {
  ContainerSpec spec = copy_container_spec(order, upper_dir, node_name, limits);
  (void)engine.remove_container(spec.name);  // a save an agent crash cut short
  auto created = engine.create_container(spec);
  if (!created) return created.error();
  Status outcome;
  if (auto started = engine.start_container(*created); !started) {
    outcome = started.error();
  } else if (auto exited = wait_for_exit(engine, *created, stopping, limits.copy_time); !exited) {
    outcome = exited.error();
  } else if (exited->exit_code != 0) {
    auto errors = engine.read_file(*created, kErrorsPath);
    std::string said = errors ? first_line(*errors) : "";
    if (exited->oom_killed) said = "out of memory";
    outcome = make_error(ErrorCode::unavailable,
                         fmt::format("exit code {}: {}", exited->exit_code,
                                     said.empty() ? "the image needs sh, find and tar" : said));
  }
  if (!outcome) {
    (void)engine.remove_container(*created);
    return outcome.error();
  }
  return *created;
}

}  // namespace

ContainerSpec copy_container_spec(const ImageSaveOrder& order, const std::string& upper_dir,
                                  const std::string& node_name, const ImageSaveLimits& limits) {
  ContainerSpec spec;
  spec.name = "gpupool-image-save-" + node_name;
  spec.image = order.base.reference;
  spec.command = {"/bin/sh", "-c", kCopyScript};
  spec.user = "0";
  // DAC_OVERRIDE reads every file and directory; never DAC_READ_SEARCH, with which
  // open_by_handle_at on the host-backed mount could read the host's files.
  spec.cap_add = {"CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID"};
  spec.memory_bytes = limits.memory_bytes;
  spec.nano_cpus = 1'000'000'000;
  spec.pids_limit = 256;
  spec.network = "none";
  spec.log_max_bytes = 1 << 20;
  spec.mounts = {{"", kChangesMount, upper_dir, true}};
  // No labels: the engine would carry them into the committed image.
  return spec;
}

ImageDetails saved_image_config(const ImageDetails& base, const std::string& base_reference) {
  ImageDetails config = base;
  std::erase_if(config.labels,
                [](const auto& label) { return label.first.starts_with("io.gpupool."); });
  config.labels["io.gpupool.saved-from"] = base_reference;
  return config;
}

ImageSaveReport run_image_save(ContainerEngine& engine, const ImageSaveOrder& order,
                               const std::string& node_name, const std::atomic<bool>& stopping,
                               const ImageSaveLimits& limits) {
  auto upper = engine.writable_layer_dir(container_name(order.session_id));
  if (!upper) return failed(order, "cannot find what the session wrote: " + upper.error().message);
  auto base = engine.inspect_image(order.base.reference);
  if (!base) return failed(order, "cannot read the session's image: " + base.error().message);

  auto copied = copy_changes(engine, order, *upper, node_name, stopping, limits);
  if (!copied) return failed(order, "copying the session's files: " + copied.error().message);
  auto committed = engine.commit_container(*copied, order.repository, order.tag,
                                           saved_image_config(*base, order.base.reference));
  (void)engine.remove_container(*copied);
  if (!committed) return failed(order, "cannot make the image: " + committed.error().message);

  std::string reference = order.repository + ":" + order.tag;
  ImageSaveReport report{order.id};
  auto saved = engine.inspect_image(reference);
  if (!saved) {
    report.error = "cannot read the saved image: " + saved.error().message;
  } else {
    report.size_bytes = std::max<std::int64_t>(0, saved->size_bytes - base->size_bytes);
    if (order.max_bytes > 0 && report.size_bytes > order.max_bytes) {
      report.error = fmt::format(
          "the session's changes come to {}, more than the {} a saved image may add to its image",
          docker_api::human_bytes(report.size_bytes), docker_api::human_bytes(order.max_bytes));
    }
  }
  if (report.error.empty()) {
    spdlog::info("agent: pushing {} (session {}, {})", reference, order.session_id,
                 docker_api::human_bytes(report.size_bytes));
    auto pushed = engine.push_image(order.repository, order.tag,
                                    {order.base.registry_username, order.base.registry_password});
    if (pushed) {
      report.digest = *pushed;
    } else {
      report.error = "cannot push it to the registry: " + pushed.error().message;
    }
  }
  // Nodes pull it by digest when a session needs it; this tag only takes space here.
  if (auto removed = engine.remove_image(reference); !removed)
    spdlog::warn("agent: cannot remove {} after saving it: {}", reference, removed.error().message);
  return report;
}

}  // namespace gpupool::agent
