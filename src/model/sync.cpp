#include "model/sync.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace gpupool {

namespace {

// FNV-1a, 64 bits: a change detector, not a secret. Texts and lists go in with their length
// first, so two different states never run together into the same bytes.
class Fingerprint {
 public:
  void add(std::string_view text) {
    add_number(static_cast<std::int64_t>(text.size()));
    for (char c : text) mix(static_cast<unsigned char>(c));
  }
  void add_number(std::int64_t number) {
    auto bits = static_cast<std::uint64_t>(number);
    for (int i = 0; i < 8; ++i) mix(static_cast<unsigned char>(bits >> (8 * i)));
  }
  template <typename Item>
  void add_list(const std::vector<Item>& items) {
    add_number(static_cast<std::int64_t>(items.size()));
    for (const auto& item : items) {
      if constexpr (std::is_same_v<Item, std::string>) {
        add(item);
      } else {
        add_number(item);
      }
    }
  }
  std::string hex() const { return fmt::format("{:016x}", hash_); }

 private:
  void mix(unsigned char byte) {
    hash_ ^= byte;
    hash_ *= 0x100000001b3ULL;
  }
  std::uint64_t hash_ = 0xcbf29ce484222325ULL;
};

}  // namespace

std::string desired_state_fingerprint(std::vector<DesiredSession> desired,
                                      std::vector<std::string> removals,
                                      std::vector<std::string> checks) {
  std::sort(desired.begin(), desired.end(),
            [](const auto& a, const auto& b) { return a.session_id < b.session_id; });
  std::sort(removals.begin(), removals.end());
  Fingerprint print;
  print.add_number(static_cast<std::int64_t>(desired.size()));
  for (const auto& session : desired) {
    print.add(session.session_id);
    print.add(session.username);
    print.add_number(session.uid);
    print.add_number(session.gid);
    print.add(session.image_reference);
    print.add_list(session.gpu_indices);
    print.add_list(session.gpu_uuids);
    print.add_number(session.jupyter_port);
    print.add_number(session.ssh_port);
    print.add(session.jupyter_token);
    print.add_list(session.authorized_keys);
    print.add_number(static_cast<std::int64_t>(session.cpus * 1000));
    print.add_number(session.memory_mb);
    print.add_number(session.gpu_memory_mb);
  }
  print.add_list(removals);
  // Only when there are some: the fingerprint of a node with none stays what it was.
  if (!checks.empty()) {
    std::sort(checks.begin(), checks.end());
    print.add_list(checks);
  }
  return print.hex();
}

}  // namespace gpupool
