#include "cli/browser_login.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <map>
#include <optional>

#include <fmt/format.h>
#include <boost/url/parse.hpp>

#include "cli/client.hpp"
#include "core/random.hpp"

namespace gpupool::cli {

namespace {

constexpr auto kWaitForBrowser = std::chrono::minutes(5);

class Listener {
 public:
  Listener() = default;
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  ~Listener() {
    if (fd_ >= 0) ::close(fd_);
  }

  // Listens on a free port of 127.0.0.1 only: nothing off this machine can reach it.
  Result<int> open() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
        ::listen(fd_, 8) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      return make_error(ErrorCode::unavailable, "cannot listen on 127.0.0.1 for the browser");
    }
    return static_cast<int>(ntohs(address.sin_port));
  }

  // The query of the next request for "/", answered with `page`; other requests (a favicon)
  // get a 404. nullopt when `deadline` passes first.
  std::optional<std::map<std::string, std::string>> next_callback(
      std::chrono::steady_clock::time_point deadline, const std::string& page) {
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd waiting{fd_, POLLIN, 0};
      if (::poll(&waiting, 1, 1000) <= 0) continue;
      int connection = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (connection < 0) continue;
      auto query = read_request(connection);
      std::string reply = query
                              ? fmt::format(
                                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                                    "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
                                    page.size(), page)
                              : std::string(
                                    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                                    "Connection: close\r\n\r\n");
      (void)!::write(connection, reply.data(), reply.size());
      ::close(connection);
      if (query) return query;
    }
    return std::nullopt;
  }

 private:
  // "GET /?a=b&c=d HTTP/1.1" → {a: b, c: d}; nullopt for anything else.
  static std::optional<std::map<std::string, std::string>> read_request(int connection) {
    std::string request;
    char buffer[4096];
    pollfd readable{connection, POLLIN, 0};
    while (request.find("\r\n") == std::string::npos && request.size() < 16384 &&
           ::poll(&readable, 1, 5000) > 0) {
      ssize_t got = ::read(connection, buffer, sizeof buffer);
      if (got <= 0) break;
      request.append(buffer, static_cast<std::size_t>(got));
    }
    std::string line = request.substr(0, request.find("\r\n"));
    if (!line.starts_with("GET ")) return std::nullopt;
    std::string text = line.substr(4, line.find(' ', 4) - 4);  // the view below reads it
    auto target = boost::urls::parse_origin_form(text);
    if (!target || target->path() != "/" || !target->has_query()) return std::nullopt;
    std::map<std::string, std::string> fields;
    for (auto field : target->params()) fields[field.key] = field.value;
    return fields;
  }

  int fd_ = -1;
};

}  // namespace

int browser_login(const std::string& url) {
  Listener listener;
  auto port = listener.open();
  if (!port) return report(port.error());
  std::string state = random_token(16);
  std::string verifier = random_token(48);
  std::string start =
      fmt::format("{}/api/v1/auth/oidc/start?cli_port={}&cli_state={}&cli_challenge={}", url, *port,
                  state, pkce_challenge(verifier));
  // The port lets the user match gpupool's question in the browser to this command.
  std::cout << "Sign in in your browser (it opens by itself on a desktop):\n  " << start
            << fmt::format("\nWhen it asks, confirm the command line listening on port {}.\n",
                           *port)
            << std::flush;
  auto browser = open_in_browser(start);
  auto callback = listener.next_callback(
      std::chrono::steady_clock::now() + kWaitForBrowser,
      "<!doctype html><title>gpupool</title><p>Signed in. You may close this page and go back "
      "to the terminal.</p>");
  if (browser) {
    int status = 0;
    waitpid(*browser, &status, WNOHANG);
  }
  if (!callback) return report(make_error(ErrorCode::unavailable, "no sign-in within 5 minutes"));
  if (!secrets_equal((*callback)["state"], state)) {
    return report(make_error(ErrorCode::forbidden, "the browser came back from another sign-in"));
  }
  if (!(*callback)["error"].empty())
    return report(make_error(ErrorCode::forbidden, (*callback)["error"]));
  ClientConfig anonymous{url, ""};
  auto token = api_call(anonymous, "POST", "/api/v1/auth/cli-token",
                        {{"code", (*callback)["code"]}, {"verifier", verifier}, {"name", "cli"}});
  if (!token) return report(token.error());
  auto saved = save_config({url, (*token)["token"].get<std::string>()});
  if (!saved) return report(saved.error());
  std::cout << fmt::format("logged in to {} as {} (token saved in {})\n", url,
                           (*token)["user"]["username"].get<std::string>(), config_path());
  return 0;
}

}  // namespace gpupool::cli
