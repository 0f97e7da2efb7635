#include "engine/docker_api/pull_progress.hpp"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "core/json_input.hpp"

namespace gpupool::docker_api {
namespace {

std::int64_t integer_or_zero(const nlohmann::json& object, const char* key) {
  auto found = object.find(key);
  if (found == object.end() || !found->is_number_integer()) return 0;
  return std::max<std::int64_t>(0, found->get<std::int64_t>());
}

}  // namespace

void PullProgress::feed_chunk(std::string_view chunk) {
  partial_line_ += chunk;
  std::size_t start = 0;
  for (auto end = partial_line_.find('\n'); end != std::string::npos;
       end = partial_line_.find('\n', start)) {
    feed(std::string_view(partial_line_).substr(start, end - start));
    start = end + 1;
  }
  partial_line_.erase(0, start);
  if (partial_line_.size() > 1024 * 1024) partial_line_.clear();  // no line is that long
}

void PullProgress::finish() {
  if (!partial_line_.empty()) feed(partial_line_);
  partial_line_.clear();
}

void PullProgress::feed(std::string_view line) {
  auto message = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (!message.is_object()) return;
  if (auto error = string_member(message, "error"); !error.empty()) {
    error_ = error;
    return;
  }
  // A push ends with the digest the registry filed it under.
  if (auto aux = message.find("aux"); aux != message.end() && aux->is_object()) {
    if (auto digest = string_member(*aux, "Digest"); !digest.empty()) digest_ = digest;
    return;
  }
  std::string status = string_member(message, "status");
  if (status.starts_with("Digest: ")) {
    digest_ = status.substr(8);
    return;
  }
  std::string id = string_member(message, "id");
  // Lines about the whole pull carry the tag as their id ("Pulling from …"); layer lines
  // carry a short hex id and one of these statuses.
  if (id.empty() || status.starts_with("Pulling from")) return;
  if (status == "Pulling fs layer" || status == "Waiting") {
    layers_.try_emplace(id);
  } else if (status == "Downloading") {
    Layer& layer = layers_[id];
    auto detail = message.find("progressDetail");
    if (detail != message.end() && detail->is_object()) {
      layer.current = integer_or_zero(*detail, "current");
      layer.total = std::max(layer.total, integer_or_zero(*detail, "total"));
    }
  } else if (status == "Download complete" || status == "Verifying Checksum" ||
             status == "Extracting" || status == "Pull complete") {
    Layer& layer = layers_[id];
    layer.done = true;
    layer.current = layer.total;
  } else if (status == "Already exists") {
    layers_[id].done = true;  // nothing to download: its size is not said and not counted
  }
}

std::int64_t PullProgress::downloaded_bytes() const {
  std::int64_t sum = 0;
  for (const auto& [id, layer] : layers_) sum += layer.current;
  return sum;
}

std::int64_t PullProgress::total_bytes() const {
  std::int64_t sum = 0;
  for (const auto& [id, layer] : layers_) sum += layer.total;
  return sum;
}

int PullProgress::layers_done() const {
  int done = 0;
  for (const auto& [id, layer] : layers_) done += layer.done ? 1 : 0;
  return done;
}

std::string PullProgress::describe() const {
  return fmt::format("{} of {}, {} of {} layers", human_bytes(downloaded_bytes()),
                     human_bytes(total_bytes()), layers_done(), layers());
}

std::string human_bytes(std::int64_t bytes) {
  if (bytes >= 1'000'000'000) return fmt::format("{:.1f} GB", static_cast<double>(bytes) / 1e9);
  if (bytes >= 1'000'000) return fmt::format("{:.0f} MB", static_cast<double>(bytes) / 1e6);
  if (bytes >= 1'000) return fmt::format("{:.0f} kB", static_cast<double>(bytes) / 1e3);
  return fmt::format("{} B", bytes);
}

}  // namespace gpupool::docker_api
