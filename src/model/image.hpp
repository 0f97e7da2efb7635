// The image catalog: what users may start sessions from, how far each image is rolled out,
// and what the contract check found in it. Plain data.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace gpupool {

// An image's way through the catalog. Admins add images in `testing` (only admins may use
// them), open them to users as `canary` and then `stable`; a `deprecated` one starts no new
// sessions while running ones go on; a `retired` one is gone from users' lists.
enum class ImageState { testing, canary, stable, deprecated, retired };

std::string_view to_string(ImageState state);
std::optional<ImageState> parse_image_state(std::string_view text);

// Whether the contract check (a throwaway container of the image on some node) has run.
enum class CheckState {
  configured,  // named on the command line or by the engine's labels: the admin's word
  pending,     // ordered; a node runs it at its next sync
  passed,
  failed,  // sessions from it would not start: none may be requested
};

std::string_view to_string(CheckState state);
std::optional<CheckState> parse_check_state(std::string_view text);

struct ImageCheck {
  CheckState state = CheckState::configured;
  std::string message;  // why it failed, or what it noted ("no sshd: sessions have no SSH")
  // Versions found inside ("" when absent).
  std::string python;
  std::string notebook;
  std::string jupyterlab;   // sessions start JupyterLab where there is one
  std::string code_server;  // sessions offer VS Code in the browser where there is one
  std::string torch;
  std::string torch_cuda;
  std::string node;  // the node that ran it, or is to run it
  UnixMillis ordered_at = 0;
  UnixMillis checked_at = 0;
};

struct Image {
  std::string tag;        // semantic tag users name, e.g. "pytorch1.13-cpu-debian12-runtime"
  std::string reference;  // what the engine runs, e.g. "gpupool/session:pytorch1.13-…"
  std::string framework;
  std::string framework_version;
  std::string cuda;  // "" for CPU-only images
  std::string cudnn;
  std::string flavor;
  bool is_default = false;
  std::string status;  // "available" once the local engine has it, else "missing"
  ImageState state = ImageState::stable;
  bool ssh = true;            // it has an SSH server: sessions from it offer SSH
  bool prepull = false;       // nodes pull it ahead of need, and keep it
  std::string added_by = {};  // the admin who added it; "" for images configured at start
  UnixMillis added_at = 0;
  ImageCheck check = {};
  // A user's saved session (tag "owner/name"): only they may start sessions from it. "" for
  // the catalog's own images.
  std::string owner = {};
  std::int64_t size_bytes = 0;  // a saved one: what it adds to the image it was saved from
};

// A running session being saved as its owner's image, or what came of it.
enum class SaveState { saving, saved, failed };

std::string_view to_string(SaveState state);
std::optional<SaveState> parse_save_state(std::string_view text);

struct ImageSave {
  std::int64_t id = 0;
  std::string owner;
  std::string name;  // the owner's name for it; its catalog tag is "owner/name"
  std::string session_id;
  std::string node;        // where the session runs, which makes the image
  std::string base_tag;    // the image the session ran
  std::string repository;  // where it is pushed: "registry:5000/gpupool-users/alice/torch-env"
  std::string version;     // its tag there
  SaveState state = SaveState::saving;
  std::string message = {};  // why it failed
  std::int64_t size_bytes = 0;
  UnixMillis requested_at = 0;
  UnixMillis finished_at = 0;
};

}  // namespace gpupool
