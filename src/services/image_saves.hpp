// Saving a running session as its owner's image ("my images"). The owner names it; gpupool
// orders the save to the session's node at its next sync (SyncResponse::image_saves), which
// copies what the session wrote over its image — never the home, never gpupool's own files
// (agent/image_save.hpp) — commits it and pushes it under the owner's namespace in the
// registry. Its report makes it a catalog image of the owner's ("alice/torch-env") that only
// they may start sessions from, anywhere in the pool, once its contract check has passed
// (image_checks.hpp). Each user has at most `max_images` saved (or being saved), each adding at
// most `max_bytes` to its image.
//
// Thread-safe as far as the store is.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "catalog/registry_logins.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "model/image.hpp"
#include "model/sync.hpp"
#include "model/user.hpp"
#include "store/store.hpp"

namespace gpupool::services {

struct ImageSaveSettings {
  // Where saved images go, "host:port[/path]": each user's under <registry>/<user>/. "": the
  // pool saves no sessions (a saved image must reach every node).
  std::string registry;
  int max_images = 5;
  std::int64_t max_bytes = 20'000'000'000;
  // A save its node has not reported on by then has failed (the node died, or its agent).
  UnixMillis give_up_after = 60 * 60 * 1000;
};

// What a user sees of their images: the catalog rows they own, the saves under way and those
// that failed.
struct MyImages {
  std::vector<Image> images;
  std::vector<ImageSave> saves;
};

class ImageSaves {
 public:
  ImageSaves(Store& store, const Clock& clock, ImageSaveSettings settings)
      : store_(store), clock_(clock), settings_(std::move(settings)) {}

  // The save of the caller's running session as "caller/name": a clear error when saving is
  // off, the name is malformed or taken, the session is not the caller's or not running, or
  // the caller has as many images as they may.
  Result<ImageSave> save(const User& caller, const std::string& session_id,
                         const std::string& name);
  Result<MyImages> mine(const std::string& owner);
  // Their image goes from the catalog (sessions running from it go on). The registry keeps
  // its layers: its own garbage collection frees them.
  Status remove(const std::string& owner, const std::string& name);

  const ImageSaveSettings& settings() const { return settings_; }

 private:
  Store& store_;
  const Clock& clock_;
  const ImageSaveSettings settings_;
};

// The saves ordered to this node, with the logins to push them and their sessions' images;
// a save past give_up_after fails here. Called inside the sync's transaction.
Result<std::vector<ImageSaveOrder>> image_saves_for(Store& store, const std::string& node,
                                                    UnixMillis now,
                                                    const ImageSaveSettings& settings,
                                                    const catalog::RegistryLogins& logins);

// The node's reports of its saves; others' and ended ones are ignored. A saved one becomes
// its owner's catalog image, its contract check pending.
Status record_image_saves(Store& store, const std::string& node,
                          const std::vector<ImageSaveReport>& reports, UnixMillis now);

}  // namespace gpupool::services
