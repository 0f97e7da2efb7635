#include "model/dataset.hpp"

#include <array>

#include <fmt/format.h>

namespace gpupool {

Status check_dataset_name(std::string_view name) {
  auto invalid = [&] {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("dataset name \"{}\": use 1-63 lower-case letters, digits, "
                                  "'.', '-' or '_', starting with a letter or digit",
                                  name.substr(0, 80)));
  };
  if (name.empty() || name.size() > 63) return invalid();
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(name.front())) return invalid();
  for (char c : name)
    if (!alnum(c) && c != '.' && c != '-' && c != '_') return invalid();
  return {};
}

Status check_dataset_path(std::string_view path) {
  auto invalid = [&](std::string_view why) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("dataset path \"{}\": {}", path.substr(0, 200), why));
  };
  if (path.size() < 2 || path.size() > 1024 || path.front() != '/' || path.back() == '/')
    return invalid("must be an absolute directory path, without a trailing '/'");
  for (std::size_t start = 1; start <= path.size();) {
    auto end = std::min(path.find('/', start), path.size());
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return invalid("must be a plain path");
    for (char c : part)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
        return invalid("holds a control character");
    start = end + 1;
  }
  // The host's own: configuration, credentials, devices, kernel interfaces, engines' state.
  constexpr std::array<std::string_view, 17> kSystem = {"/bin",
                                                        "/boot",
                                                        "/dev",
                                                        "/etc",
                                                        "/lib",
                                                        "/lib64",
                                                        "/proc",
                                                        "/root",
                                                        "/run",
                                                        "/sbin",
                                                        "/sys",
                                                        "/usr",
                                                        "/var/lib/docker",
                                                        "/var/run",
                                                        "/home",
                                                        "/var/lib/gpupool",
                                                        "/var/lib/gpupool-agent"};
  for (auto system : kSystem) {
    if (path == system || (path.starts_with(system) && path[system.size()] == '/'))
      return invalid(fmt::format("{} is the host's own", system));
  }
  return {};
}

}  // namespace gpupool
