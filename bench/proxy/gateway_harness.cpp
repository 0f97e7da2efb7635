// The gateway's proxy machinery alone, for bench/proxy part (b): gpupool's HttpServer and
// relay forwarding every /s/… request to one fixed upstream (no store, no sign-in), so it
// can be compared with configurable-http-proxy on equal terms.
// usage: gateway_harness LISTEN_PORT UPSTREAM_PORT [THREADS]
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "gateway/http_proxy.hpp"
#include "gateway/http_server.hpp"

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: gateway_harness LISTEN_PORT UPSTREAM_PORT [THREADS]\n";
    return 2;
  }
  auto listen_port = static_cast<std::uint16_t>(std::atoi(argv[1]));
  auto upstream_port = static_cast<std::uint16_t>(std::atoi(argv[2]));
  int threads = argc > 3 ? std::atoi(argv[3]) : 2;
  // Blocked before any thread starts, so that only sigwait below sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  gpupool::gateway::TunnelRegistry tunnels;
  gpupool::gateway::HttpServer server(
      [](const gpupool::gateway::HttpExchange&) {
        return gpupool::gateway::HttpReply{404, "text/plain", "only /s/ is proxied", {}, nullptr};
      },
      [upstream_port](const gpupool::gateway::HttpExchange& exchange) {
        gpupool::gateway::ProxyDecision decision;
        decision.host = "127.0.0.1";
        decision.port = upstream_port;
        decision.target = exchange.target;
        return decision;
      },
      &tunnels);
  auto bound = server.listen("127.0.0.1", listen_port);
  if (!bound) {
    std::cerr << bound.error().message << "\n";
    return 1;
  }
  server.start(threads);
  std::cout << "listening on " << *bound << std::endl;
  int received = 0;
  sigwait(&signals, &received);
  server.stop();
  return 0;
}
