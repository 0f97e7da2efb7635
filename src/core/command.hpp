// Runs a host program and collects what it prints, for the few host tools gpupool drives
// (iptables). The program is found on PATH, gets no shell and inherits no open files but
// its stdin and stdout; stderr goes where stdout goes. Thread-safe.
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"

namespace gpupool {

struct CommandResult {
  int exit_code = -1;  // -1 when a signal ended it
  std::string output;  // stdout and stderr together, at most 64 KiB
};

// `input` is written to its stdin. An `unavailable` Error when it cannot be started.
Result<CommandResult> run_command(const std::vector<std::string>& argv,
                                  const std::string& input = "");

}  // namespace gpupool
