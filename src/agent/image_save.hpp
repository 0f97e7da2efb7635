// Saving a running session as its owner's image (services/image_saves.hpp). The session's
// container itself is never committed: what its init wrote there (Jupyter's token, the SSH
// host key, the cap's preload) and its environment would go into the image. Instead a
// throwaway container of the session's image, with no network, copies what the session wrote
// over that image (the engine's overlayfs upper directory, mounted read-only) into its own
// filesystem, gpupool's files and mount points left out, and deletes what the session
// deleted; that container is committed with the session image's own configuration, and
// pushed.
#pragma once

#include <atomic>
#include <chrono>
#include <string>

#include "engine/container_engine.hpp"
#include "model/sync.hpp"

namespace gpupool::agent {

struct ImageSaveLimits {
  std::chrono::milliseconds copy_time{30 * 60 * 1000};
  std::int64_t memory_bytes = 1LL << 30;
};

// The container that copies the session's changes: its image may be a user's own (a saved
// session saved again), so it runs as anything untrusted — no network, a few capabilities,
// the upper directory read-only, bounded memory, CPU and processes.
ContainerSpec copy_container_spec(const ImageSaveOrder& order, const std::string& upper_dir,
                                  const std::string& node_name, const ImageSaveLimits& limits = {});

// The configuration the saved image gets: the session image's own, less gpupool's labels
// (io.gpupool.*: the saved image is no catalog image of the engine's), with where it came from.
ImageDetails saved_image_config(const ImageDetails& base, const std::string& base_reference);

// Blocking; `stopping` cuts it short (the report then says so).
ImageSaveReport run_image_save(ContainerEngine& engine, const ImageSaveOrder& order,
                               const std::string& node_name, const std::atomic<bool>& stopping,
                               const ImageSaveLimits& limits = {});

}  // namespace gpupool::agent
