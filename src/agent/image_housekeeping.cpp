#include "agent/image_housekeeping.hpp"

#include <algorithm>

namespace gpupool::agent {

namespace {

bool named_by(const EngineImage& image, const std::set<std::string>& wanted) {
  auto in = [&](const std::string& reference) { return wanted.contains(reference); };
  return std::any_of(image.tags.begin(), image.tags.end(), in) ||
         std::any_of(image.digests.begin(), image.digests.end(), in);
}

}  // namespace

std::vector<std::string> images_to_collect(const std::vector<EngineImage>& images,
                                           const std::set<std::string>& wanted,
                                           std::map<std::string, std::int64_t>& last_wanted,
                                           std::int64_t now, std::int64_t collect_after) {
  std::set<std::string> present;
  std::vector<std::string> collect;
  for (const auto& image : images) {
    present.insert(image.id);
    auto [seen, first_time] = last_wanted.try_emplace(image.id, now);
    if (named_by(image, wanted)) seen->second = now;
    bool ours = image.tags.empty() && !image.digests.empty();
    if (first_time || !ours || image.containers != 0 || collect_after <= 0) continue;
    if (now - seen->second >= collect_after) collect.push_back(image.id);
  }
  std::erase_if(last_wanted, [&](const auto& entry) { return !present.contains(entry.first); });
  return collect;
}

NodeDisk node_disk(const EngineDiskUsage& usage) {
  return {usage.images_bytes, usage.containers_bytes, usage.volumes_bytes,
          usage.free_bytes,   usage.total_bytes,      static_cast<int>(usage.images.size())};
}

}  // namespace gpupool::agent
