// Prices, usage and balances in the REST API: GET /api/v1/prices (everyone: what an hour
// costs), PUT /api/v1/prices/MODEL (admins), GET /api/v1/usage (the caller's sessions with
// their GPU-hours and costs; everyone's for admins with ?all=true), GET /api/v1/balance (the
// caller's balance and ledger), POST /api/v1/users/NAME/balance (admins: top-ups).
#include <cmath>

#include <fmt/format.h>

#include "api/api.hpp"
#include "core/json_input.hpp"
#include "gateway/replies.hpp"
#include "metering/meter.hpp"

namespace gpupool::api {

using nlohmann::json;

namespace {

constexpr double kMaxCreditsPerGpuHour = 10'000;

bool valid_model_name(const std::string& model) {
  if (model.empty() || model.size() > 64) return false;
  for (char c : model) {
    bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

json price_view(const Price& price) {
  return {{"gpu_model", price.gpu_model},
          {"per_gpu_hour", credits(price.micros_per_gpu_hour)},
          {"updated_at", format_rfc3339(price.updated_at)}};
}

constexpr double kMaxTopUpCredits = 1'000'000;
constexpr int kLedgerEntriesShown = 100;

json ledger_entry_view(const LedgerEntry& entry) {
  return {{"id", entry.id},
          {"at", format_rfc3339(entry.at)},
          {"kind", to_string(entry.kind)},
          {"amount", credits(entry.amount_micros)},
          {"session", entry.session_id.empty() ? json(nullptr) : json(entry.session_id)},
          {"note", entry.note}};
}

}  // namespace

HttpReply Api::balance(const Call& call) {
  const Principal& principal = call.caller();
  auto balance = sessions_.balance(principal.user.id);
  if (!balance) return error_reply(balance.error());
  auto entries = accounts_.ledger(principal.user.id, kLedgerEntriesShown);
  if (!entries) return error_reply(entries.error());
  json list = json::array();
  for (const auto& entry : *entries) list.push_back(ledger_entry_view(entry));
  return json_reply(200, {{"currency", "credits"},
                          {"balance", credits(balance->available_micros())},
                          {"ledger_total", credits(balance->ledger_micros)},
                          {"running_cost", credits(balance->running_micros)},
                          {"prepaid", settings_.prepaid},
                          {"entries", list}});
}

// {"amount": credits, "idempotency_key": "…", "note"?}: a positive amount is a top-up, a
// negative one an adjustment. The same key again answers with the first entry, unwritten.
HttpReply Api::top_up(const Call& call) {
  const HttpExchange& exchange = call.exchange;
  const Principal& principal = call.caller();
  const std::string& username = call.parameter("username");
  auto body = parse_json_object(exchange.body);
  if (!body) return error_reply(body.error());
  auto known = reject_unknown_fields(*body, {"amount", "idempotency_key", "note"});
  if (!known) return error_reply(known.error());
  auto amount = optional_number(*body, "amount", -kMaxTopUpCredits, kMaxTopUpCredits);
  if (!amount) return error_reply(amount.error());
  auto key = required_string(*body, "idempotency_key", 64);
  if (!key) return error_reply(key.error());
  auto note = optional_string(*body, "note", 200);
  if (!note) return error_reply(note.error());
  std::int64_t micros = *amount ? std::llround(**amount * kMicrosPerCredit) : 0;
  if (micros == 0)
    return error_reply(ErrorCode::invalid_argument, "\"amount\" (credits, not 0) is required");
  if (key->empty())
    return error_reply(ErrorCode::invalid_argument, "\"idempotency_key\" must not be empty");

  auto top_up =
      accounts_.top_up(username, micros, *key,
                       note->value_or(fmt::format("by {}", principal.user.username)), clock_.now());
  if (!top_up) return error_reply(top_up.error());
  auto balance = sessions_.balance(top_up->entry.user_id);
  if (!balance) return error_reply(balance.error());
  json view = ledger_entry_view(top_up->entry);
  view["user"] = top_up->username;
  view["balance"] = credits(balance->available_micros());
  return json_reply(top_up->written ? 201 : 200, view);
}

HttpReply Api::list_prices(const Call&) {
  auto prices = accounts_.prices();
  if (!prices) return error_reply(prices.error());
  json list = json::array();
  for (const auto& price : *prices) list.push_back(price_view(price));
  return json_reply(200, {{"currency", "credits"}, {"prices", list}});
}

HttpReply Api::set_price(const Call& call) {
  const HttpExchange& exchange = call.exchange;
  const std::string& model = call.parameter("model");
  if (!valid_model_name(model)) {
    return error_reply(ErrorCode::invalid_argument,
                       "a GPU model is 1–64 letters, digits, '-', '_' or '.', e.g. A100-80GB");
  }
  auto body = parse_json_object(exchange.body);
  if (!body) return error_reply(body.error());
  auto known = reject_unknown_fields(*body, {"per_gpu_hour"});
  if (!known) return error_reply(known.error());
  auto amount = optional_number(*body, "per_gpu_hour", 0, kMaxCreditsPerGpuHour);
  if (!amount) return error_reply(amount.error());
  if (!*amount)
    return error_reply(ErrorCode::invalid_argument, "\"per_gpu_hour\" (credits) is required");
  Price price{model, std::llround(**amount * kMicrosPerCredit), clock_.now()};
  auto stored = accounts_.set_price(price);
  if (!stored) return error_reply(stored.error());
  return json_reply(200, price_view(price));
}

HttpReply Api::usage(const Call& call) {
  auto sessions = listed_sessions(call);
  if (!sessions) return error_reply(sessions.error());
  UnixMillis now = clock_.now();
  std::erase_if(*sessions, [](const Session& session) { return session.started_at == 0; });
  json lines = json::array();
  std::int64_t total = 0;
  for (const auto& session : *sessions) {
    auto cost = metering::cost_micros(session, now);
    total += cost;
    lines.push_back({{"id", session.id},
                     {"user", session.username},
                     {"state", to_string(session.state)},
                     {"gpu_model", session.billed_gpu_model},
                     {"gpus", session.billed_gpus},
                     {"started_at", format_rfc3339(session.started_at)},
                     {"ended_at", session.ended_at != 0 ? json(format_rfc3339(session.ended_at))
                                                        : json(nullptr)},
                     {"billed_seconds", metering::billed_seconds(session, now)},
                     {"hourly_rate", credits(session.rate_micros_per_hour)},
                     {"cost", credits(cost)}});
  }
  json by_model = json::array();
  for (const auto& model : metering::usage_by_model(*sessions, now)) {
    by_model.push_back({{"gpu_model", model.gpu_model},
                        {"gpu_hours", model.gpu_hours},
                        {"cost", credits(model.cost_micros)}});
  }
  return json_reply(200, {{"currency", "credits"},
                          {"sessions", lines},
                          {"by_model", by_model},
                          {"total_cost", credits(total)}});
}

}  // namespace gpupool::api
