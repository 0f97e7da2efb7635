// The catalog at start: `gpupool up` takes the labelled images of its local engine;
// `gpupool server` takes --image TAG=REFERENCE, pinning each registry reference to the
// digest its tag names now, so every node runs the same content.
#pragma once

#include <string>
#include <vector>

#include "app/up_command.hpp"
#include "catalog/registry_client.hpp"
#include "core/result.hpp"
#include "engine/container_engine.hpp"
#include "model/sync.hpp"
#include "store/store.hpp"

namespace gpupool::app {

// The registries' logins (--registry-auth, a docker config.json) and plain-HTTP registries
// (--insecure-registry).
Result<catalog::RegistryAccess> registry_access(const UpOptions& options);

Status register_catalog_images(Store& store, ContainerEngine& engine);
Status register_configured_images(Store& store, const std::vector<std::string>& images,
                                  const catalog::RegistryAccess& registries);

// The catalog images named by --prepull, with their registries' logins; an unknown tag is
// an error.
Result<std::vector<ImageToPull>> images_to_prepull(Store& store,
                                                   const std::vector<std::string>& tags,
                                                   const catalog::RegistryLogins& logins);

}  // namespace gpupool::app
