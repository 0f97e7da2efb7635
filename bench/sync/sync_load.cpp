// sync_load: poses as N GPU servers' agents syncing with a real `gpupool server`, for
// bench/sync/sync_bench.py. Each node joins with the (multi-use) token, then syncs as an agent
// would: long polls (protocol 2, held until its desired state changes or the heartbeat passes)
// or, as the baseline, a sync every interval with no wait (protocol 1's agents). Each node
// reports 8 simulated GPUs and every session it is given as running. Syncs go over one kept
// connection per node, as `gpupool agent` does, or with --connection-per-sync over a new TLS
// connection each (as agents did before).
//
//   sync_load --server https://127.0.0.1:8443 --cert DATA/tls/server.crt --token ID.SECRET
//             --nodes 100 --seconds 60 [--poll] [--heartbeat-ms 5000] [--connection-per-sync]
//
// Prints "ready" once every node has synced once, "seen SESSION UNIX_MILLIS" the first time a
// node's answer carries a session, and every second "count SYNCS ERRORS" (so far).
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "core/json_input.hpp"
#include "net/certificate_pin.hpp"
#include "net/http_client.hpp"
#include "protocol/sync_json.hpp"

namespace {

using namespace gpupool;
using Steady = std::chrono::steady_clock;

struct Options {
  std::string server;
  std::string cert;
  std::string token;
  int nodes = 100;
  int seconds = 60;
  bool poll = false;
  bool connection_per_sync = false;
  int heartbeat_ms = 5000;
};

// Joins a few at a time: a thousand TLS handshakes at once would only time each other out.
class JoinSlots {
 public:
  void acquire() {
    std::unique_lock lock(mutex_);
    freed_.wait(lock, [this] { return free_ > 0; });
    --free_;
  }
  void release() {
    {
      std::lock_guard lock(mutex_);
      ++free_;
    }
    freed_.notify_one();
  }

 private:
  std::mutex mutex_;
  std::condition_variable freed_;
  int free_ = 8;
};

JoinSlots join_slots;

std::mutex output_mutex;
std::atomic<long> syncs{0};
std::atomic<long> errors{0};
std::atomic<int> synced_nodes{0};

void say(const std::string& line) {
  std::lock_guard lock(output_mutex);
  std::cout << line << std::endl;
}

long unix_millis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Node simulated_node(const std::string& name) {
  Node node;
  node.name = name;
  node.address = "127.0.0.1";
  node.cpus = 64;
  node.memory_mb = 512 * 1024;
  node.port_min = 30000;
  node.port_max = 30999;
  node.driver_cuda = "12.4";
  node.simulated = true;
  for (int i = 0; i < 8; ++i) {
    GpuDevice gpu;
    gpu.index = i;
    gpu.uuid = fmt::format("GPU-{}-{}", name, i);
    gpu.model = "A100-80GB";
    gpu.memory_mb = 81920;
    gpu.simulated = true;
    node.gpus.push_back(gpu);
  }
  return node;
}

Result<std::string> join(const net::HttpEndpoint& server, const std::string& token,
                         const std::string& node) {
  net::HttpRequest call{
      "POST", "/api/v1/agent/join", Json{{"token", token}, {"node", node}}.dump(), {}};
  for (int attempt = 0; attempt < 20; ++attempt) {
    auto response = net::http_call(server, call, std::chrono::seconds(30));
    if (response && response->status == 201) {
      auto body = parse_json_object(response->body);
      if (body) return (*body)["credential"].get<std::string>();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200 + 100 * attempt));
  }
  return make_error(ErrorCode::unavailable, "cannot join " + node);
}

void run_node(const Options& options, const net::HttpEndpoint& server, int index,
              Steady::time_point end) {
  std::string name = fmt::format("bench-{:04}", index);
  join_slots.acquire();
  auto credential = join(server, options.token, name);
  join_slots.release();
  if (!credential) {
    say("error " + credential.error().message);
    ++errors;
    return;
  }
  SyncRequest request;
  request.node = simulated_node(name);
  std::set<std::string> seen;
  bool counted = false;
  net::HttpConnection connection(server);
  while (Steady::now() < end) {
    if (!options.poll) request.wait_millis = options.heartbeat_ms;
    net::HttpRequest call{"POST",
                          "/api/v1/agent/sync",
                          protocol::sync_request_to_json(request),
                          {{"Authorization", "Bearer " + *credential}}};
    auto started = Steady::now();
    auto response = options.connection_per_sync
                        ? net::http_call(server, call, std::chrono::seconds(60))
                        : connection.call(call, std::chrono::seconds(60));
    ++syncs;
    auto answer = response && response->status == 200
                      ? protocol::sync_response_from_json(response->body)
                      : Result<SyncResponse>(make_error(ErrorCode::unavailable, "sync failed"));
    if (!answer) {
      ++errors;
      std::this_thread::sleep_for(std::chrono::seconds(1));
      continue;
    }
    long now = unix_millis();
    request.observed.clear();
    for (const auto& desired : answer->desired) {
      if (seen.insert(desired.session_id).second)
        say(fmt::format("seen {} {}", desired.session_id, now));
      ObservedSession observed;
      observed.session_id = desired.session_id;
      observed.phase = ObservedPhase::running;
      request.observed.push_back(observed);
    }
    request.held_state = options.poll ? "" : answer->state;
    if (!counted) {
      counted = true;
      if (++synced_nodes == options.nodes) say("ready");
    }
    if (options.poll) std::this_thread::sleep_until(started + std::chrono::seconds(1));
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options options;
  std::vector<std::string> args(argv + 1, argv + argc);
  for (std::size_t i = 0; i < args.size(); ++i) {
    auto value = [&] { return i + 1 < args.size() ? args[++i] : std::string(); };
    if (args[i] == "--server")
      options.server = value();
    else if (args[i] == "--cert")
      options.cert = value();
    else if (args[i] == "--token")
      options.token = value();
    else if (args[i] == "--nodes")
      options.nodes = std::stoi(value());
    else if (args[i] == "--seconds")
      options.seconds = std::stoi(value());
    else if (args[i] == "--heartbeat-ms")
      options.heartbeat_ms = std::stoi(value());
    else if (args[i] == "--poll")
      options.poll = true;
    else if (args[i] == "--connection-per-sync")
      options.connection_per_sync = true;
  }
  auto server = net::parse_http_endpoint(options.server);
  auto pin = net::certificate_pin(options.cert);
  if (!server || !pin) {
    std::cerr << "usage: sync_load --server URL --cert PEM --token T [--nodes N] ...\n";
    return 2;
  }
  server->pin = *pin;
  rlimit files{};  // a connection per node, and its joins
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    files.rlim_cur = files.rlim_max;
    setrlimit(RLIMIT_NOFILE, &files);
  }
  auto end = Steady::now() + std::chrono::seconds(options.seconds);
  std::vector<std::thread> nodes;
  for (int i = 0; i < options.nodes; ++i) {
    nodes.emplace_back([&, i] { run_node(options, *server, i, end); });
  }
  std::thread counter([end] {
    while (Steady::now() < end) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      say(fmt::format("count {} {}", syncs.load(), errors.load()));
    }
  });
  for (auto& node : nodes) node.join();
  counter.join();
  return 0;
}
