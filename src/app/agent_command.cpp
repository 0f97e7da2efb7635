#include "app/agent_command.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <fmt/format.h>

#include "agent/http_sync_channel.hpp"
#include "app/node_runtime.hpp"
#include "app/process.hpp"
#include "core/log.hpp"
#include "core/random.hpp"
#include "net/certificate_pin.hpp"

namespace gpupool::app {

namespace {

constexpr int kJoinAttempts = 30;
constexpr std::chrono::seconds kJoinRetry{2};

// The address this machine sends from to reach host:port (a UDP "connect" sends nothing).
Result<std::string> local_address_towards(const std::string& host, std::uint16_t port) {
  addrinfo hints{};
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found)
    return make_error(ErrorCode::unavailable, "cannot resolve " + host);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in local{};
  socklen_t length = sizeof local;
  bool ok = fd >= 0 && connect(fd, found->ai_addr, found->ai_addrlen) == 0 &&
            getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0;
  freeaddrinfo(found);
  if (fd >= 0) close(fd);
  if (!ok) return make_error(ErrorCode::unavailable, "no route to " + host);
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &local.sin_addr, text, sizeof text);
  return std::string(text);
}

// The node's credential: kept in the state dir (0600) from its join, or got now by joining.
Result<std::string> node_credential(const AgentOptions& options, const net::HttpEndpoint& server,
                                    const std::string& node) {
  std::filesystem::path dir(options.state_dir);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return make_error(ErrorCode::internal, "cannot create " + dir.string());
  chmod(dir.c_str(), 0700);
  auto path = dir / "node-credential";
  if (std::ifstream in(path); in) {
    std::string credential;
    std::getline(in, credential);
    if (!credential.empty()) return credential;
  }
  if (options.join_token.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("{} holds no node credential: join with --join-token TOKEN (an "
                                  "admin makes one: gpupool admin join-token create)",
                                  dir.string()));
  }
  // A server not answering yet (starting, or the network coming up) is worth waiting for; a
  // refused token or a taken name is not.
  auto credential = agent::join_server(server, options.join_token, node);
  for (int attempt = 1;
       !credential && credential.error().code == ErrorCode::unavailable && attempt < kJoinAttempts;
       ++attempt) {
    spdlog::warn("cannot join yet ({}); trying again in {} s", credential.error().message,
                 kJoinRetry.count());
    std::this_thread::sleep_for(kJoinRetry);
    credential = agent::join_server(server, options.join_token, node);
  }
  if (!credential) return credential.error();
  {
    std::ofstream out(path, std::ios::trunc);
    chmod(path.c_str(), 0600);
    out << *credential << "\n";
    if (!out) return make_error(ErrorCode::internal, "cannot write " + path.string());
  }
  spdlog::info("joined the server as node {}; its credential is in {}", node, path.string());
  return credential;
}

}  // namespace

int run_agent(const AgentOptions& options) {
  configure_logging(options.log_level);
  init_crypto();
  sigset_t stop_signals = block_stop_signals();

  auto server = net::parse_http_endpoint(options.server);
  if (!server) return fail(fmt::format("--server: {}", server.error().message));
  if (!server->tls) {
    return fail(
        "--server must be https://…: the node's credential and its sessions' tokens "
        "must not cross the network in clear");
  }
  if (!options.ca_sha256.empty()) {
    auto pin = net::canonical_pin(options.ca_sha256);
    if (!pin) return fail("--ca-sha256: " + pin.error().message);
    server->pin = *pin;
  }
  std::string node_name = options.node.node_name.empty() ? host_name() : options.node.node_name;
  if (auto valid = check_node_name(node_name); !valid)
    return fail(
        fmt::format("node name \"{}\": {} (set --node-name)", node_name, valid.error().message));
  std::string address = options.address;
  if (address.empty()) {
    auto found = local_address_towards(server->host, server->port);
    if (!found) return fail(found.error().message + " (set --address)");
    address = *found;
  }
  auto credential = node_credential(options, *server, node_name);
  if (!credential) return fail(credential.error().message);

  auto node = open_node(options.node);
  if (!node) return fail(node.error().message);
  SystemClock clock;
  agent::HttpSyncChannel channel({*server, *credential}, options.sync_protocol);
  NodeOptions node_options = options.node;
  node_options.node_name = node_name;
  std::string public_host = options.public_host.empty() ? address : options.public_host;
  auto made = make_agent(**node, node_options, {public_host, address}, channel,
                         std::chrono::seconds(options.heartbeat_s), clock);
  if (!made) return fail(made.error().message);
  (*node)->agent->start();
  log_gpus((*node)->inventory);
  spdlog::info("agent of node {} is up: sessions' Jupyter published on {}, syncing with {}",
               node_name, address, options.server);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  spdlog::info("received {}, stopping the agent; session containers keep running",
               strsignal(signal_number));
  (*node)->agent->stop();
  return 0;
}

}  // namespace gpupool::app
