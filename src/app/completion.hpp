// `gpupool completion bash|zsh`: a shell completion script made from the command line's own
// definition, so that it never falls behind it: subcommands and options at each level, and
// the ids of the user's open sessions (from `gpupool ls --quiet`) where a command takes one.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace gpupool::app {

std::string bash_completion(const CLI::App& app);
// zsh runs the bash script through its bashcompinit.
std::string zsh_completion(const CLI::App& app);

}  // namespace gpupool::app
