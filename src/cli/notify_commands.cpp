#include "cli/notify_commands.hpp"

#include <iostream>

#include <fmt/format.h>

#include "cli/client.hpp"

namespace gpupool::cli {

using nlohmann::json;

namespace {

void print(const json& settings) {
  std::string email = settings.value("email", "");
  std::string state = settings.value("email_state", "none");
  if (!settings.value("email_available", false)) {
    std::cout << "e-mail:      this server sends none\n";
  } else if (email.empty()) {
    std::cout << "e-mail:      none\n";
  } else {
    std::cout << fmt::format("e-mail:      {} ({}{})\n", email, state,
                             state == "code_mailed" ? ": gpupool notify confirm CODE" : "");
    if (settings.contains("email_error"))
      std::cout << fmt::format("             last mailing failed: {}\n",
                               settings["email_error"].get<std::string>());
  }
  const json& own = settings["balance_low_credits"];
  double fallback = settings.value("balance_low_default_credits", 0.0);
  std::cout << fmt::format(
      "balance low: {}\n",
      own.is_number() ? fmt::format("below {:.2f} credits", own.get<double>())
      : fallback > 0  ? fmt::format("below {:.2f} credits (the server's default)", fallback)
                      : std::string("off"));
}

}  // namespace

int show_notify_settings() {
  auto settings = call("GET", "/api/v1/me/notify");
  if (!settings) return 1;
  print(*settings);
  return 0;
}

int set_notify_settings(const NotifyOptions& options) {
  json body = json::object();
  if (options.email) body["email"] = *options.email;
  if (options.balance_low) body["balance_low_credits"] = *options.balance_low;
  if (options.balance_low_default) body["balance_low_credits"] = nullptr;
  if (body.empty())
    return report(make_error(ErrorCode::invalid_argument,
                             "say what to set: --email, --balance-low or --balance-low-default"));
  auto settings = call("PUT", "/api/v1/me/notify", body);
  if (!settings) return 1;
  print(*settings);
  return 0;
}

int confirm_email(const std::string& code) {
  auto settings = call("POST", "/api/v1/me/notify/confirm", json{{"code", code}});
  if (!settings) return 1;
  print(*settings);
  return 0;
}

}  // namespace gpupool::cli
