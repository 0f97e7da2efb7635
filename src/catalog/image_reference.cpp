#include "catalog/image_reference.hpp"

#include <fmt/format.h>

namespace gpupool::catalog {
namespace {

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

// [a-z0-9]+ separated by one ".", one or two "_", or any number of "-".
bool is_path_component(std::string_view part) {
  if (part.empty() || !is_lower_alnum(part.front()) || !is_lower_alnum(part.back())) return false;
  for (std::size_t i = 0; i < part.size();) {
    if (is_lower_alnum(part[i])) {
      ++i;
      continue;
    }
    std::size_t run = i;
    while (run < part.size() && !is_lower_alnum(part[run])) ++run;
    std::string_view separator = part.substr(i, run - i);
    bool dashes = separator.find_first_not_of('-') == std::string_view::npos;
    if (separator != "." && separator != "_" && separator != "__" && !dashes) return false;
    i = run;
  }
  return true;
}

bool is_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!word(tag.front())) return false;
  for (char c : tag)
    if (!word(c) && c != '.' && c != '-') return false;
  return true;
}

bool is_host(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  auto colon = host.rfind(':');
  std::string_view name = host.substr(0, colon);
  if (colon != std::string_view::npos) {
    std::string_view port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != port.npos)
      return false;
  }
  if (name.empty()) return false;
  for (char c : name) {
    bool ok = is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Error invalid(std::string_view text, std::string_view why) {
  return make_error(ErrorCode::invalid_argument,
                    fmt::format("image reference \"{}\": {}", text, why));
}

}  // namespace

bool is_sha256_digest(std::string_view text) {
  if (!text.starts_with("sha256:") || text.size() != 7 + 64) return false;
  return text.substr(7).find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

Result<ImageReference> parse_image_reference(std::string_view text) {
  if (text.empty() || text.size() > 512) return invalid(text, "empty or longer than 512 bytes");
  ImageReference reference;
  std::string_view rest = text;
  if (auto at = rest.find('@'); at != std::string_view::npos) {
    reference.digest = std::string(rest.substr(at + 1));
    if (!is_sha256_digest(reference.digest)) return invalid(text, "the digest is not sha256:<hex>");
    rest = rest.substr(0, at);
  }
  auto slash = rest.find('/');
  std::string_view first = rest.substr(0, slash);
  if (slash != std::string_view::npos &&
      (first.find_first_of(".:") != std::string_view::npos || first == "localhost")) {
    if (!is_host(first)) return invalid(text, "the registry is not a host[:port]");
    reference.registry = std::string(first);
    reference.names_registry = true;
    rest = rest.substr(slash + 1);
  } else {
    reference.registry = std::string(kDockerHub);
  }
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    reference.tag = std::string(rest.substr(colon + 1));
    if (!is_tag(reference.tag)) return invalid(text, "the tag is not [A-Za-z0-9_][A-Za-z0-9_.-]*");
    rest = rest.substr(0, colon);
  }
  for (std::size_t start = 0;;) {
    auto end = rest.find('/', start);
    if (!is_path_component(rest.substr(start, end - start)))
      return invalid(text, "a name component is not lower-case letters and digits");
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  reference.repository = std::string(rest);
  if (!reference.names_registry && reference.repository.find('/') == std::string::npos)
    reference.repository = "library/" + reference.repository;
  return reference;
}

std::string ImageReference::name() const {
  if (!names_registry) {
    std::string_view short_name = repository;
    if (short_name.starts_with("library/")) short_name.remove_prefix(8);
    return std::string(short_name);
  }
  return registry + "/" + repository;
}

std::string ImageReference::with_digest(const std::string& content_digest) const {
  return name() + "@" + content_digest;
}

std::string ImageReference::api_host() const {
  return registry == kDockerHub ? "registry-1.docker.io" : registry;
}

}  // namespace gpupool::catalog
