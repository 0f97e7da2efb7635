// The command-line options of `up`, `server` and `agent`: the server's (gateway, API,
// scheduler, store, limits) and a node's (GPUs, engine, ports, session networks), registered
// once each so that `up`, which is both, reads the same as the two it combines.
#pragma once

#include <CLI/CLI.hpp>

#include "app/agent_command.hpp"
#include "app/up_command.hpp"

namespace gpupool::app {

void add_server_options(CLI::App& command, UpOptions& up);
void add_node_options(CLI::App& command, NodeOptions& node);
void add_agent_options(CLI::App& command, AgentOptions& agent);

}  // namespace gpupool::app
