#include "app/notify_cli.hpp"

namespace gpupool::app {

NotifyCli::NotifyCli(CLI::App& app) {
  notify_ = app.add_subcommand(
      "notify", "where you are told beyond the portal: e-mail and the balance-low threshold");
  set_ = notify_->add_subcommand("set", "change your e-mail address or balance-low threshold");
  email_option_ = set_->add_option("--email", email_,
                                   "address to mail notifications to (a code is mailed there "
                                   "to confirm it); \"\" for none");
  balance_option_ = set_->add_option("--balance-low", balance_low_,
                                     "be told when your balance falls below this many credits "
                                     "(0: never)")
                        ->check(CLI::Range(0.0, 1e9));
  set_->add_flag("--balance-low-default", balance_default_, "use the server's default threshold")
      ->excludes(balance_option_);
  confirm_ = notify_->add_subcommand("confirm", "confirm your address with the code mailed to it");
  confirm_->add_option("code", code_, "the 8-digit code")->required();
}

std::optional<int> NotifyCli::run() const {
  if (!*notify_) return std::nullopt;
  if (*confirm_) return cli::confirm_email(code_);
  if (*set_) {
    cli::NotifyOptions options;
    if (*email_option_) options.email = email_;
    if (*balance_option_) options.balance_low = balance_low_;
    options.balance_low_default = balance_default_;
    return cli::set_notify_settings(options);
  }
  return cli::show_notify_settings();
}

}  // namespace gpupool::app
