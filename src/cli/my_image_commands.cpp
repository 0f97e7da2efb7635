#include "cli/my_image_commands.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <thread>

#include <fmt/format.h>

#include "cli/client.hpp"

namespace gpupool::cli {

using nlohmann::json;

namespace {

// Decimal units, as registries show sizes.
std::string size_text(const json& bytes) {
  if (!bytes.is_number()) return "-";
  double value = bytes.get<double>();
  if (value >= 1e9) return fmt::format("{:.1f} GB", value / 1e9);
  if (value >= 1e6) return fmt::format("{:.1f} MB", value / 1e6);
  return fmt::format("{:.0f} kB", std::max(1.0, value / 1e3));
}

// Polls until the save has ended and, when saved, its check too: the exit code.
int wait_for_save(const std::string& tag) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
  while (std::chrono::steady_clock::now() < deadline) {
    auto mine = call("GET", "/api/v1/my-images");
    if (!mine) return 1;
    for (const auto& save : (*mine)["saves"]) {
      if (save.value("tag", "") == tag && save.value("state", "") == "failed") {
        std::cerr << "error: saving failed: " << text_or_dash(save["message"]) << "\n";
        return 1;
      }
    }
    for (const auto& image : (*mine)["images"]) {
      if (image.value("tag", "") != tag) continue;
      std::string check = image["check"].value("state", "");
      if (check == "pending") break;
      if (check != "passed") {
        std::cerr << "error: saved, but it failed its check: "
                  << image["check"].value("message", "") << "\n";
        return 1;
      }
      std::cout << fmt::format(
          "Saved and checked ({} over its image). Start from it with:\n"
          "  gpupool run --image {}\n",
          size_text(image["size_bytes"]), tag);
      return 0;
    }
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }
  std::cerr << "error: not saved within an hour; `gpupool my-images` shows how it goes\n";
  return 1;
}

}  // namespace

int save_image(const std::string& session_id, const std::string& name, bool wait) {
  auto save = call("POST", "/api/v1/sessions/" + session_id + "/image", json{{"name", name}});
  if (!save) return 1;
  std::string tag = save->value("tag", "");
  std::cout << fmt::format(
      "Saving session {} as {}: what it installed and wrote outside your home. Your home is not "
      "part of it (it stays yours, in every session).\n",
      session_id, tag);
  if (!wait) {
    std::cout << "`gpupool my-images` shows when it is ready.\n";
    return 0;
  }
  return wait_for_save(tag);
}

int my_images() {
  auto mine = call("GET", "/api/v1/my-images");
  if (!mine) return 1;
  if (!mine->value("saving_enabled", false))
    std::cout << "(this pool saves no sessions as images: its admin has named no registry)\n";
  std::cout << fmt::format("{:<40} {:<10} {:<10} {:<34} {}\n", "TAG", "STATE", "SIZE", "FROM IMAGE",
                           "NOTE");
  for (const auto& image : (*mine)["images"]) {
    const json& check = image["check"];
    std::string state = check.value("state", "") == "passed" ? "ready" : check.value("state", "");
    std::cout << fmt::format(
        "{:<40} {:<10} {:<10} {:<34} {}\n", image.value("tag", ""), state,
        size_text(image["size_bytes"]),
        image.value("framework", "") + " " + image.value("framework_version", ""),
        state == "failed" ? check.value("message", "") : "");
  }
  for (const auto& save : (*mine)["saves"]) {
    std::cout << fmt::format("{:<40} {:<10} {:<10} {:<34} {}\n", save.value("tag", ""),
                             save.value("state", ""), "-", save.value("from_image", ""),
                             text_or_dash(save["message"]));
  }
  std::cout << fmt::format("{} at most, each adding at most {} to its image.\n",
                           mine->value("max_images", 0), size_text((*mine)["max_bytes"]));
  return 0;
}

int remove_my_image(const std::string& name) {
  if (!call("DELETE", "/api/v1/my-images/" + name)) return 1;
  std::cout << "Removed; sessions running from it go on.\n";
  return 0;
}

}  // namespace gpupool::cli
