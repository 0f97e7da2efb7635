#include "services/image_saves.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

#include <fmt/format.h>

#include "core/log.hpp"
#include "services/image_checks.hpp"

namespace gpupool::services {

namespace {

Error invalid(std::string message) {
  return make_error(ErrorCode::invalid_argument, std::move(message));
}

Error conflict(std::string message) {
  return make_error(ErrorCode::conflict, std::move(message));
}

// A registry path component: lower-case letters and digits, single inner . _ or -.
Status check_image_name(const std::string& name) {
  static const std::regex name_pattern("[a-z0-9]+([._-][a-z0-9]+)*");
  if (name.empty() || name.size() > 64 || !std::regex_match(name, name_pattern)) {
    return invalid(
        "\"name\" must be 1 to 64 lower-case letters and digits, with single . _ or - between "
        "them (e.g. torch-env)");
  }
  return {};
}

std::string tag_of(const std::string& owner, const std::string& name) {
  return owner + "/" + name;
}

// The registry tag of one save: when it was asked for, in UTC ("20261205-213500").
std::string version_at(UnixMillis now) {
  std::string text = format_rfc3339(now);  // "2026-12-05T21:35:00Z"
  std::string digits;
  for (char c : text.substr(0, 19)) {
    if (c == 'T') digits += '-';
    if (std::isdigit(static_cast<unsigned char>(c)) != 0) digits += c;
  }
  return digits;
}

}  // namespace

Result<ImageSave> ImageSaves::save(const User& caller, const std::string& session_id,
                                   const std::string& name) {
  if (settings_.registry.empty()) {
    return conflict(
        "this pool saves no sessions as images: its admin has named no registry for them "
        "(--saved-images-registry)");
  }
  GPUPOOL_TRY(check_image_name(name));
  Result<ImageSave> ordered = make_error(ErrorCode::internal, "not saved");
  GPUPOOL_TRY(store_.in_transaction([&]() -> Status {
    auto session = store_.get_session(session_id);
    if (!session) return session.error();
    // Another user's session is as absent as one that never was.
    if (!*session || (*session)->user_id != caller.id)
      return make_error(ErrorCode::not_found, "no such session");
    if ((*session)->state != SessionState::running || (*session)->node.empty()) {
      return conflict(fmt::format("session {} is {}: only a running session can be saved",
                                  session_id, to_string((*session)->state)));
    }
    auto images = store_.list_images();
    if (!images) return images.error();
    auto saves = store_.list_image_saves(true);
    if (!saves) return saves.error();
    std::string tag = tag_of(caller.username, name);
    int held = 0;
    for (const auto& image : *images) {
      if (image.owner != caller.username) continue;
      ++held;
      if (image.tag == tag)
        return conflict(
            fmt::format("you have an image \"{}\" already: remove it first, or "
                        "choose another name",
                        tag));
    }
    for (const auto& save : *saves) {
      if (save.owner != caller.username || save.state != SaveState::saving) continue;
      ++held;
      if (save.session_id == session_id)
        return conflict(fmt::format("session {} is being saved already", session_id));
      if (save.name == name) return conflict(fmt::format("\"{}\" is being saved already", tag));
    }
    if (held >= settings_.max_images) {
      return conflict(fmt::format(
          "you have {} images, saved or being saved, the most this pool allows: remove one "
          "first (gpupool my-images rm NAME)",
          held));
    }
    UnixMillis now = clock_.now();
    ImageSave save{0,
                   caller.username,
                   name,
                   session_id,
                   (*session)->node,
                   (*session)->request.image_tag,
                   fmt::format("{}/{}/{}", settings_.registry, caller.username, name),
                   version_at(now)};
    save.requested_at = now;
    GPUPOOL_TRY(store_.add_image_save(save));
    ordered = std::move(save);
    return {};
  }));
  return ordered;
}

Result<MyImages> ImageSaves::mine(const std::string& owner) {
  MyImages mine;
  auto images = store_.list_images();
  if (!images) return images.error();
  for (auto& image : *images)
    if (image.owner == owner) mine.images.push_back(std::move(image));
  auto saves = store_.list_image_saves(false);
  if (!saves) return saves.error();
  for (auto& save : *saves)
    if (save.owner == owner && save.state != SaveState::saved)
      mine.saves.push_back(std::move(save));
  return mine;
}

Status ImageSaves::remove(const std::string& owner, const std::string& name) {
  std::string tag = tag_of(owner, name);
  return store_.in_transaction([&]() -> Status {
    auto images = store_.list_images();
    if (!images) return images.error();
    bool owned = std::any_of(images->begin(), images->end(), [&](const Image& image) {
      return image.tag == tag && image.owner == owner;
    });
    if (!owned)
      return make_error(ErrorCode::not_found, fmt::format("you have no image \"{}\"", tag));
    return store_.delete_image(tag);
  });
}

Result<std::vector<ImageSaveOrder>> image_saves_for(Store& store, const std::string& node,
                                                    UnixMillis now,
                                                    const ImageSaveSettings& settings,
                                                    const catalog::RegistryLogins& logins) {
  auto saves = store.list_image_saves(true);
  if (!saves) return saves.error();
  std::vector<ImageSaveOrder> orders;
  for (auto& save : *saves) {
    if (save.state != SaveState::saving || save.node != node) continue;
    auto session = store.get_session(save.session_id);
    if (!session) return session.error();
    bool running =
        *session && (*session)->state == SessionState::running && (*session)->node == node;
    if (!running || now - save.requested_at >= settings.give_up_after) {
      save.state = SaveState::failed;
      save.message = running ? "its node did not finish the save in time"
                             : "the session ended before it was saved";
      save.finished_at = now;
      spdlog::warn("image save {} of session {} failed: {}", save.id, save.session_id,
                   save.message);
      GPUPOOL_TRY(store.update_image_save(save));
      continue;
    }
    ImageToPull base = with_login(save.repository, logins);
    base.reference = (*session)->image_reference;
    orders.push_back(
        {save.id, save.session_id, save.repository, save.version, settings.max_bytes, base});
  }
  return orders;
}

Status record_image_saves(Store& store, const std::string& node,
                          const std::vector<ImageSaveReport>& reports, UnixMillis now) {
  if (reports.empty()) return {};
  auto saves = store.list_image_saves(true);
  if (!saves) return saves.error();
  for (const auto& report : reports) {
    auto save = std::find_if(saves->begin(), saves->end(),
                             [&](const ImageSave& candidate) { return candidate.id == report.id; });
    if (save == saves->end() || save->node != node || save->state != SaveState::saving) continue;
    save->finished_at = now;
    save->size_bytes = report.size_bytes;
    if (!report.error.empty() || !report.digest.starts_with("sha256:")) {
      save->state = SaveState::failed;
      save->message = report.error.empty() ? "the node named no digest" : report.error;
      GPUPOOL_TRY(store.update_image_save(*save));
      continue;
    }
    auto images = store.list_images();
    if (!images) return images.error();
    auto base = std::find_if(images->begin(), images->end(),
                             [&](const Image& image) { return image.tag == save->base_tag; });
    Image image;
    if (base != images->end()) image = *base;  // its versions and CUDA are the base image's
    image.tag = tag_of(save->owner, save->name);
    image.reference = save->repository + "@" + report.digest;
    image.is_default = false;
    image.status = "available";
    image.state = ImageState::stable;
    image.prepull = false;
    image.added_by = save->owner;
    image.added_at = now;
    image.check = ImageCheck{};
    image.check.state = CheckState::pending;
    image.owner = save->owner;
    image.size_bytes = report.size_bytes;
    auto added = store.add_image(image);
    if (!added) {
      save->state = SaveState::failed;
      save->message = added.error().message;
    } else {
      save->state = SaveState::saved;
    }
    GPUPOOL_TRY(store.update_image_save(*save));
  }
  return {};
}

}  // namespace gpupool::services
