#include "services/image_checks.hpp"

#include <algorithm>

#include <fmt/format.h>

#include "catalog/image_contract.hpp"
#include "catalog/image_tag.hpp"
#include "core/log.hpp"

namespace gpupool::services {

namespace {

bool ordered_to(const Image& image, const std::string& node, UnixMillis now) {
  if (image.check.state != CheckState::pending || image.state == ImageState::retired) return false;
  return image.check.node.empty() || image.check.node == node ||
         now - image.check.ordered_at >= kCheckReassignAfter;
}

}  // namespace

ImageToPull with_login(const std::string& reference, const catalog::RegistryLogins& logins) {
  ImageToPull pull{reference};
  if (auto login = catalog::login_for(logins, reference)) {
    pull.registry_username = login->username;
    pull.registry_password = login->password;
  }
  return pull;
}

std::vector<std::string> image_checks_for(const std::vector<Image>& images, const std::string& node,
                                          UnixMillis now) {
  std::vector<std::string> lines;
  for (const auto& image : images)
    if (ordered_to(image, node, now)) lines.push_back(image.tag + "@" + image.reference);
  return lines;
}

Result<std::vector<ImageCheckOrder>> claim_image_checks(Store& store, const std::string& node,
                                                        UnixMillis now,
                                                        const catalog::RegistryLogins& logins) {
  auto images = store.list_images();
  if (!images) return images.error();
  std::vector<ImageCheckOrder> orders;
  for (auto& image : *images) {
    if (!ordered_to(image, node, now)) continue;
    if (image.check.node != node) {
      if (!image.check.node.empty())
        spdlog::warn("catalog: node {} did not check {} in time; node {} takes it over",
                     image.check.node, image.tag, node);
      image.check.node = node;
      image.check.ordered_at = now;
      GPUPOOL_TRY(store.update_image(image));
    }
    orders.push_back({image.tag, with_login(image.reference, logins)});
  }
  return orders;
}

Result<std::vector<ImageToPull>> images_to_prepull(Store& store,
                                                   const std::vector<ImageToPull>& configured,
                                                   const catalog::RegistryLogins& logins) {
  auto images = store.list_images();
  if (!images) return images.error();
  std::vector<ImageToPull> pulls = configured;
  for (const auto& image : *images) {
    if (!image.prepull || image.state == ImageState::deprecated ||
        image.state == ImageState::retired) {
      continue;
    }
    bool listed = std::any_of(pulls.begin(), pulls.end(), [&](const ImageToPull& pull) {
      return pull.reference == image.reference;
    });
    if (listed) continue;
    pulls.push_back(with_login(image.reference, logins));
  }
  return pulls;
}

Result<bool> record_image_checks(Store& store, const std::string& node,
                                 const std::vector<ImageCheckReport>& reports, UnixMillis now) {
  if (reports.empty()) return false;
  auto images = store.list_images();
  if (!images) return images.error();
  bool changed = false;
  for (const auto& report : reports) {
    for (auto& image : *images) {
      if (image.tag != report.tag || image.reference != report.reference ||
          image.check.state != CheckState::pending || image.check.node != node) {
        continue;
      }
      // A saved image's tag is its owner's name for it, no claim of versions: only the
      // session contract is checked (what it ran before may never have been).
      auto tag = image.owner.empty() ? catalog::parse_image_tag(image.tag)
                                     : Result<catalog::ImageTag>(catalog::ImageTag{});
      if (!tag) continue;  // the catalog admits only parsed tags
      auto verdict = catalog::judge_contract(*tag, report);
      verdict.check.node = node;
      verdict.check.ordered_at = image.check.ordered_at;
      verdict.check.checked_at = now;
      image.check = std::move(verdict.check);
      image.ssh = verdict.ssh;
      GPUPOOL_TRY(store.update_image(image));
      changed = true;
      spdlog::info("catalog: {} {} its contract check on node {}: {}", image.tag,
                   image.check.state == CheckState::passed ? "passed" : "failed", node,
                   image.check.message);
    }
  }
  return changed;
}

}  // namespace gpupool::services
