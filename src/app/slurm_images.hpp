// Catalog images as root filesystems for Slurm jobs (docs/slurm.md): unpacked with skopeo
// (from a registry, or from this host's Docker engine for a local name) and umoci into
// DIR/TAG, by `gpupool slurm-image` or by the server itself for every catalog image that has
// none yet.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/periodic_task.hpp"
#include "core/result.hpp"
#include "store/store.hpp"

namespace gpupool::app {

struct ImageUnpacking {
  std::string images_dir;     // on a filesystem every node reads
  std::string registry_auth;  // Docker's config.json with registry logins; empty: none
  std::vector<std::string> insecure_registries;  // HOST:PORT spoken to over plain HTTP
};

// `reference` unpacked as `tag`'s root filesystem: into a scratch directory beside it, with no
// setuid, setgid or file-capability program left in it, then swapped in whole, so that jobs
// starting meanwhile see the old tree or the new one.
Status unpack_slurm_image(const std::string& tag, const std::string& reference,
                          const ImageUnpacking& settings);

// Where skopeo reads `reference` from: a registry ("docker://…") when the reference names one,
// else this host's engine ("docker-daemon:…").
std::string skopeo_source(const std::string& reference);

// A task that unpacks, one at a time, the catalog images that have no root filesystem yet —
// at once, then every 10 minutes for images added since. A failure is logged once per image
// and cause, with the command that does it by hand. The caller keeps `store` alive and starts
// the task.
std::unique_ptr<PeriodicTask> make_image_unpacker(Store& store, ImageUnpacking settings);

}  // namespace gpupool::app
