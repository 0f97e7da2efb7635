// HttpSyncChannel: the SyncChannel of `gpupool agent`, to the server over HTTPS
// (POST /api/v1/agent/sync, protocol/sync_json.hpp) with the node's credential, on one kept
// connection: a sync costs no TLS handshake on either side.
#pragma once

#include <string>

#include "agent/sync_channel.hpp"
#include "net/http_client.hpp"
#include "protocol/sync_json.hpp"

namespace gpupool::agent {

struct RemoteServer {
  net::HttpEndpoint endpoint;  // https, pinned or verified against CAs
  std::string credential;      // the node credential from joining
};

class HttpSyncChannel final : public SyncChannel {
 public:
  // Speaks sync protocol `protocol` (protocol::kOldestSyncProtocol to kSyncProtocol), and
  // speaks down by itself to a server that answers it only knows older ones.
  explicit HttpSyncChannel(RemoteServer server, int protocol = protocol::kSyncProtocol)
      : connection_(server.endpoint),
        credential_(std::move(server.credential)),
        protocol_(protocol) {}

  Result<SyncResponse> sync(const SyncRequest& request) override;
  // The server's answer to a held sync is the change.
  void on_change(std::function<void()>) override {}
  bool long_polls() const override { return protocol_ >= 2; }
  void interrupt() override { interrupter_.interrupt(); }
  void clear_interrupt() override { interrupter_.clear(); }

 private:
  net::HttpConnection connection_;  // one sync at a time: the agent's loop
  std::string credential_;
  int protocol_;  // one sync at a time: the agent's loop
  net::CallInterrupter interrupter_;
};

// Trades a join token for the credential of node `node` (POST /api/v1/agent/join).
Result<std::string> join_server(const net::HttpEndpoint& server, const std::string& token,
                                const std::string& node);

}  // namespace gpupool::agent
