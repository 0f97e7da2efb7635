// Where else a user is told of their sessions and balance: GET|PUT /api/v1/me/notify
// {email, balance_low_credits}, POST /api/v1/me/notify/confirm {code}, and for admins PUT
// /api/v1/users/{username}/notify. A user's new address is used once they enter the code
// mailed to it (services/email_sender.hpp); an address an admin sets is used at once.
#include <cmath>

#include "api/api.hpp"
#include "core/json_input.hpp"
#include "model/price.hpp"
#include "services/email_sender.hpp"
#include "services/mail_text.hpp"

namespace gpupool::api {

using nlohmann::json;

namespace {

constexpr double kMaxThresholdCredits = 1e9;

std::string confirmation_state(const NotifySettings& settings) {
  if (settings.email.empty()) return "none";
  if (settings.email_confirmed) return "confirmed";
  if (settings.email_code_sent_at != 0) return "code_mailed";
  return settings.email_code_error.empty() ? "code_pending" : "code_failed";
}

}  // namespace

json Api::notify_settings_view(const NotifySettings& settings) const {
  json view{
      {"email", settings.email},
      {"email_state", confirmation_state(settings)},
      {"email_available", settings_.sends_email},
      {"balance_low_credits",
       settings.balance_low_micros ? json(credits(*settings.balance_low_micros)) : json(nullptr)},
      {"balance_low_default_credits", credits(settings_.balance_low_micros)},
      {"balance_low_told", settings.balance_low_told}};
  if (!settings.email_code_error.empty() && !settings.email_confirmed)
    view["email_error"] = settings.email_code_error;
  return view;
}

HttpReply Api::get_notify_settings(const Call& call) {
  auto settings = store_.notify_settings(call.caller().user.id);
  if (!settings) return error_reply(settings.error());
  return json_reply(200, notify_settings_view(*settings));
}

HttpReply Api::put_notify_settings(const Call& call) {
  return change_notify_settings(call.caller().user.id, call.exchange.body, false);
}

HttpReply Api::put_user_notify_settings(const Call& call) {
  auto user = user_named(call.parameter("username"));
  if (!user) return error_reply(user.error());
  return change_notify_settings(user->id, call.exchange.body, true);
}

// {"email"?: "" (none) | address, "balance_low_credits"?: credits | null (the default)}.
HttpReply Api::change_notify_settings(std::int64_t user_id, const std::string& text,
                                      bool vouched_by_admin) {
  auto body = parse_json_object(text);
  if (!body) return error_reply(body.error());
  if (auto unknown = reject_unknown_fields(*body, {"email", "balance_low_credits"}); !unknown)
    return error_reply(unknown.error());
  auto email = optional_string(*body, "email", 254);
  if (!email) return error_reply(email.error());
  if (*email && !(*email)->empty()) {
    if (!settings_.sends_email)
      return error_reply(ErrorCode::unavailable, "this server sends no e-mail");
    if (auto valid = services::check_email_address(**email); !valid)
      return error_reply(valid.error());
  }
  std::optional<std::optional<std::int64_t>> threshold;  // outer: given; inner: null
  if (body->contains("balance_low_credits")) {
    if ((*body)["balance_low_credits"].is_null()) {
      threshold.emplace(std::nullopt);
    } else {
      auto value = optional_number(*body, "balance_low_credits", 0, kMaxThresholdCredits);
      if (!value) return error_reply(value.error());
      threshold.emplace(std::llround(**value * kMicrosPerCredit));
    }
  }
  NotifySettings changed;
  auto done = store_.in_transaction([&]() -> Status {
    auto settings = store_.notify_settings(user_id);
    if (!settings) return settings.error();
    changed = std::move(*settings);
    if (*email && (**email != changed.email || (vouched_by_admin && !changed.email_confirmed))) {
      NotifySettings fresh;  // no code, no tries, no error
      fresh.user_id = user_id;
      fresh.email = **email;
      fresh.email_confirmed = vouched_by_admin && !fresh.email.empty();
      fresh.balance_low_micros = changed.balance_low_micros;
      fresh.balance_low_told = changed.balance_low_told;
      changed = std::move(fresh);
    }
    if (threshold) {
      changed.balance_low_micros = *threshold;
      changed.balance_low_told = false;  // judged again at the next sync
    }
    return store_.set_notify_settings(changed);
  });
  if (!done) return error_reply(done.error());
  return json_reply(200, notify_settings_view(changed));
}

HttpReply Api::confirm_email(const Call& call) {
  auto body = parse_json_object(call.exchange.body);
  if (!body) return error_reply(body.error());
  if (auto unknown = reject_unknown_fields(*body, {"code"}); !unknown)
    return error_reply(unknown.error());
  auto code = required_string(*body, "code", 32);
  if (!code) return error_reply(code.error());
  std::int64_t user_id = call.caller().user.id;
  services::ConfirmationOutcome outcome;
  auto done = store_.in_transaction([&]() -> Status {
    auto settings = store_.notify_settings(user_id);
    if (!settings) return settings.error();
    auto confirmed = services::confirm_email(std::move(*settings), *code, clock_.now());
    if (!confirmed) return confirmed.error();
    outcome = std::move(*confirmed);
    return store_.set_notify_settings(outcome.settings);
  });
  if (!done) return error_reply(done.error());
  if (!outcome.confirmed) {
    int left = services::kMaxConfirmationTries - outcome.settings.email_code_tries;
    return error_reply(ErrorCode::invalid_argument,
                       left > 0 ? "wrong code (" + std::to_string(left) + " more tries)"
                                : "wrong code: set the address again for a new one");
  }
  return json_reply(200, notify_settings_view(outcome.settings));
}

}  // namespace gpupool::api
