// What an image pull has done so far, read from the engine's progress stream (the JSON lines
// of POST /images/create): bytes downloaded of the layers' known sizes, layers finished, the
// digest pulled, or the registry's error. A push's stream (POST /images/{name}/push) speaks
// the same lines: its digest and error are read the same way. Pure; one per pull, fed line by line.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace gpupool::docker_api {

class PullProgress {
 public:
  // One line of the stream; lines that are not JSON objects, or unknown, are ignored.
  void feed(std::string_view line);
  // Part of the stream as it arrives: its whole lines are fed, the rest kept for the next
  // chunk; finish() feeds what is left at the end.
  void feed_chunk(std::string_view chunk);
  void finish();

  bool failed() const { return !error_.empty(); }
  const std::string& error() const { return error_; }    // the registry's or engine's words
  const std::string& digest() const { return digest_; }  // "sha256:…" once the pull says it
  // Of the layers whose size is known (a layer's size is known once it starts downloading).
  std::int64_t downloaded_bytes() const;
  std::int64_t total_bytes() const;
  int layers() const { return static_cast<int>(layers_.size()); }
  int layers_done() const;
  // For people: "1.2 of 3.4 GB, 3 of 7 layers".
  std::string describe() const;

 private:
  struct Layer {
    std::int64_t current = 0;
    std::int64_t total = 0;  // 0: not known yet
    bool done = false;       // downloaded (or already there)
  };
  std::map<std::string, Layer> layers_;
  std::string error_;
  std::string digest_;
  std::string partial_line_;
};

// "1.2 GB", "340 MB", "12 kB": decimal units, as registries and `docker pull` show sizes.
std::string human_bytes(std::int64_t bytes);

}  // namespace gpupool::docker_api
