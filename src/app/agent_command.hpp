// `gpupool agent`: a GPU server's agent, joined to a `gpupool server` over HTTPS.
#pragma once

#include <string>

#include "app/up_command.hpp"
#include "protocol/sync_json.hpp"

namespace gpupool::app {

struct AgentOptions {
  std::string server;      // https://HOST:PORT of the server
  std::string join_token;  // needed once, to join; the credential is kept in state_dir
  std::string ca_sha256;   // pin of the server's certificate; empty: the system's CAs
  std::string state_dir = "/var/lib/gpupool-agent";
  // The address the gateway reaches this node's Jupyter ports at (they are published there
  // only); empty: this machine's address on the route to the server.
  std::string address;
  std::string public_host;  // what users are told to SSH to; empty: the address
  // How long the server may hold a sync in which nothing changed; changes arrive at once.
  int heartbeat_s = 5;
  // The sync protocol it speaks first (it speaks down by itself to an older server).
  int sync_protocol = protocol::kSyncProtocol;
  std::string log_level = "info";
  NodeOptions node;
};

// Runs until SIGINT or SIGTERM; returns the process exit code.
int run_agent(const AgentOptions& options);

}  // namespace gpupool::app
