#include "gateway/proxy_route.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include <fmt/format.h>

namespace gpupool::gateway {

namespace {

Error refused(std::string why) {
  return make_error(ErrorCode::invalid_argument, "bad session path: " + std::move(why));
}

bool contains_encoded(std::string_view path) {
  constexpr std::array<std::string_view, 5> kForbidden = {"%2f", "%5c", "%2e", "%25", "%00"};
  for (std::size_t i = 0; i + 2 < path.size(); ++i) {
    if (path[i] != '%') continue;
    std::string code = {'%',
                        static_cast<char>(std::tolower(static_cast<unsigned char>(path[i + 1]))),
                        static_cast<char>(std::tolower(static_cast<unsigned char>(path[i + 2])))};
    if (std::find(kForbidden.begin(), kForbidden.end(), code) != kForbidden.end()) return true;
  }
  return false;
}

}  // namespace

Result<SessionPath> parse_session_path(std::string_view path) {
  constexpr std::string_view kPrefix = "/s/";
  if (!path.starts_with(kPrefix)) return refused("not under /s/");
  if (path.find('\\') != std::string_view::npos) return refused("backslash");
  if (contains_encoded(path)) return refused("encoded separator, dot or percent sign");
  // Every segment after /s/ must be a real name: no "", "." or "..".
  std::string_view rest = path.substr(kPrefix.size());
  std::size_t start = 0;
  while (start <= rest.size()) {
    std::size_t end = rest.find('/', start);
    std::string_view segment =
        rest.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    bool last = end == std::string_view::npos;
    bool trailing_empty = last && segment.empty() && start > 0;
    if (!trailing_empty && (segment.empty() || segment == "." || segment == ".."))
      return refused("empty or dot segment");
    if (last) break;
    start = end + 1;
  }
  std::string_view id = rest.substr(0, rest.find('/'));
  if (id.empty() || id.size() > 32 || !std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
      })) {
    return refused("session ids are lower-case letters and digits");
  }
  return SessionPath{std::string(id), rest.size() == id.size()};
}

Result<std::optional<AppPath>> parse_app_path(std::string_view path, std::string_view session_id) {
  std::string prefix = fmt::format("/s/{}/apps/", session_id);
  if (!path.starts_with(prefix)) return std::optional<AppPath>{};
  std::string_view rest = path.substr(prefix.size());
  std::string_view port = rest.substr(0, rest.find('/'));
  int number = 0;
  for (char c : port) {
    if (c < '0' || c > '9' || number > 65535) return refused("app ports are numbers");
    number = number * 10 + (c - '0');
  }
  if (port.empty() || port[0] == '0' || number > 65535) return refused("no such app port");
  AppPath app;
  app.port = number;
  app.bare = rest.size() == port.size();
  app.rest = app.bare ? "/" : std::string(rest.substr(port.size()));
  return std::optional<AppPath>{std::move(app)};
}

std::optional<VscodePath> parse_vscode_path(std::string_view path, std::string_view session_id) {
  std::string prefix = fmt::format("/s/{}/vscode", session_id);
  if (!path.starts_with(prefix)) return std::nullopt;
  std::string_view rest = path.substr(prefix.size());
  if (rest.empty()) return VscodePath{"/", true};
  if (rest[0] != '/') return std::nullopt;  // "/s/<id>/vscodex" is Jupyter's
  return VscodePath{std::string(rest), false};
}

namespace {

// A URL's scheme ("http" when it names none), host and ":port" ("" when it names none).
struct UrlParts {
  std::string_view scheme;
  std::string_view host;
  std::string_view port;
};

UrlParts split_url(std::string_view url) {
  auto scheme_end = url.find("://");
  UrlParts parts;
  parts.scheme = scheme_end == std::string_view::npos ? "http" : url.substr(0, scheme_end);
  std::string_view authority =
      scheme_end == std::string_view::npos ? url : url.substr(scheme_end + 3);
  authority = authority.substr(0, authority.find('/'));
  auto colon = authority.rfind(':');
  bool has_port =
      colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos;
  parts.host = has_port ? authority.substr(0, colon) : authority;
  parts.port = has_port ? authority.substr(colon) : "";
  return parts;
}

}  // namespace

std::string session_origin(std::string_view gateway_url, std::string_view domain,
                           std::string_view session_id) {
  auto url = split_url(gateway_url);
  return fmt::format("{}://{}.{}{}", url.scheme, session_id, domain, url.port);
}

std::string origin_with_port(std::string_view gateway_url, std::uint16_t port) {
  auto url = split_url(gateway_url);
  return fmt::format("{}://{}:{}", url.scheme, url.host, port);
}

std::optional<std::string> session_in_host(std::string_view host, std::string_view domain) {
  if (domain.empty()) return std::nullopt;
  auto colon = host.rfind(':');
  if (colon != std::string_view::npos && host.find(']', colon) == std::string_view::npos)
    host = host.substr(0, colon);
  if (host.size() <= domain.size() + 1 || !host.ends_with(domain) ||
      host[host.size() - domain.size() - 1] != '.') {
    return std::nullopt;
  }
  return std::string(host.substr(0, host.size() - domain.size() - 1));
}

}  // namespace gpupool::gateway
