// The config file of `gpupool up` and `gpupool server` (--config FILE, TOML; docs/auth.md):
// the command's options by their long names — `listen = "0.0.0.0:8080"`,
// `trusted_proxies = ["10.0.0.0/8"]`, `postpaid = true` — and the [auth] section, which has
// no command-line form. An option given on the command line wins over the file. A key the
// command does not know is an error naming it, not a setting silently ignored.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "app/sign_in_setup.hpp"
#include "core/result.hpp"

namespace gpupool::app {

// The command line `arguments` (without the program name) with FILE's options added for
// `command`, when they name --config FILE; `auth` gets its [auth] section.
Result<std::vector<std::string>> with_config_file(const std::vector<std::string>& arguments,
                                                  const CLI::App& command, AuthConfig& auth);

// argv as CLI::App::parse takes it (reversed), with the config file's options for whichever
// of `commands` argv names (each with where its [auth] section goes).
Result<std::vector<std::string>> command_line_with_config(
    int argc, char** argv, const std::vector<std::pair<const CLI::App*, AuthConfig*>>& commands);

// The same from TOML text (for tests); `path` names it in messages, `private_file` says
// whether only its owner may read it (a password in a file others read is refused).
Result<std::vector<std::string>> options_from_config(const std::string& text,
                                                     const std::string& path, bool private_file,
                                                     const CLI::App& command,
                                                     const std::vector<std::string>& given,
                                                     AuthConfig& auth);

}  // namespace gpupool::app
