// Where else a user is told, from the command line: `gpupool notify` shows it, `gpupool notify
// set` changes the e-mail address and balance-low threshold, `gpupool notify confirm CODE`
// confirms the address with the code mailed to it. Each returns the exit code.
#pragma once

#include <optional>
#include <string>

namespace gpupool::cli {

struct NotifyOptions {
  std::optional<std::string> email;  // "": none
  std::optional<double> balance_low;
  bool balance_low_default = false;  // the server's default threshold
};

int show_notify_settings();
int set_notify_settings(const NotifyOptions& options);
int confirm_email(const std::string& code);

}  // namespace gpupool::cli
