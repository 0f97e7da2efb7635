// SSH public keys users upload: an accepted key is one normalized line.
#include "auth/ssh_key.hpp"
#include "fuzz_input.hpp"

using gpupool::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  auto key = gpupool::auth::normalize_ssh_public_key(line);
  if (!key) return 0;
  require(key->find('\n') == std::string::npos && key->find('\r') == std::string::npos &&
              key->find('\0') == std::string::npos,
          "a normalized key is one line");
  auto again = gpupool::auth::normalize_ssh_public_key(*key);
  require(again && *again == *key, "normalizing is idempotent");
  return 0;
}
