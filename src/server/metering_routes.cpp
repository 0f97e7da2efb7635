// Prices and usage in the REST API: GET /api/v1/prices (everyone: what an hour costs),
// PUT /api/v1/prices/MODEL (admins), GET /api/v1/usage (the caller's sessions with their
// GPU-hours and costs; everyone's for admins with ?all=true).
#include <cmath>

#include "core/json_input.hpp"
#include "metering/meter.hpp"
#include "server/api.hpp"
#include "server/replies.hpp"

namespace gpupool::server {

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

}  // namespace

HttpReply Api::list_prices() {
  auto prices = store_.list_prices();
  if (!prices) return error_reply(prices.error());
  json list = json::array();
  for (const auto& price : *prices) list.push_back(price_view(price));
  return json_reply(200, {{"currency", "credits"}, {"prices", list}});
}

HttpReply Api::set_price(const HttpExchange& exchange, const std::string& model) {
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
  auto stored = store_.set_price(price);
  if (!stored) return error_reply(stored.error());
  return json_reply(200, price_view(price));
}

HttpReply Api::usage(const HttpExchange& exchange, const Principal& principal) {
  bool everyone = exchange.query.find("all=true") != std::string::npos;
  if (everyone && !principal.user.admin)
    return error_reply(ErrorCode::forbidden, "only admins see everyone's usage");
  auto sessions = sessions_.list_sessions(principal.user, everyone);
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

}  // namespace gpupool::server
