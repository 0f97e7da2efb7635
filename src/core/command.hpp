// Runs a host program and collects what it prints, for the few host tools gpupool drives
// (iptables). The program is found on PATH, gets no shell and inherits no open files but
// its stdin and stdout; stderr goes where stdout goes. Thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace gpupool {

struct CommandResult {
  int exit_code = -1;  // -1 when a signal ended it
  std::string output;  // stdout and stderr together, at most the caller's limit
};

inline constexpr std::size_t kDefaultMaxCommandOutput = 64 * 1024;

// `input` is written to its stdin; output past kDefaultMaxCommandOutput bytes is read and
// dropped. An `unavailable` Error when it cannot be started.
Result<CommandResult> run_command(const std::vector<std::string>& argv,
                                  const std::string& input = "");
// The same, keeping up to `max_output` bytes (a large cluster's JSON, say).
Result<CommandResult> run_command_up_to(const std::vector<std::string>& argv,
                                        const std::string& input, std::size_t max_output);

}  // namespace gpupool
