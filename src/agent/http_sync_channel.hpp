// HttpSyncChannel: the SyncChannel of `gpupool agent`, to the server over HTTPS
// (POST /api/v1/agent/sync, protocol/sync_json.hpp) with the node's credential.
#pragma once

#include <string>

#include "agent/sync_channel.hpp"
#include "net/http_client.hpp"

namespace gpupool::agent {

struct RemoteServer {
  net::HttpEndpoint endpoint;  // https, pinned or verified against CAs
  std::string credential;      // the node credential from joining
};

class HttpSyncChannel final : public SyncChannel {
 public:
  explicit HttpSyncChannel(RemoteServer server) : server_(std::move(server)) {}

  Result<SyncResponse> sync(const SyncRequest& request) override;
  // The server's answer to a held sync is the change.
  void on_change(std::function<void()>) override {}
  bool long_polls() const override { return true; }
  void interrupt() override { interrupter_.interrupt(); }
  void clear_interrupt() override { interrupter_.clear(); }

 private:
  RemoteServer server_;
  net::CallInterrupter interrupter_;
};

// Trades a join token for the credential of node `node` (POST /api/v1/agent/join).
Result<std::string> join_server(const net::HttpEndpoint& server, const std::string& token,
                                const std::string& node);

}  // namespace gpupool::agent
