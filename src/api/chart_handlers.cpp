// The series the portal's charts draw (services/pool_history.hpp):
//   GET /api/v1/charts/pool?range=day|week   (admins) the pool's GPUs, held and busy, ending
//                                            with the pool now
//   GET /api/v1/charts/usage?days=N[&user=NAME]   GPU-hours and spend per day: one's own;
//                                                 admins anyone's
// Times are unix seconds, as chart libraries take them.
#include <charconv>

#include "api/api.hpp"
#include "services/pool_history.hpp"

namespace gpupool::api {

using nlohmann::json;

namespace {

constexpr UnixMillis kDay = 24LL * 3600 * 1000;
constexpr UnixMillis kWeekStep = 10 * 60'000;  // a week draws as 10-minute averages
constexpr int kDefaultDays = 30;
constexpr int kMaxDays = 366;

}  // namespace

HttpReply Api::pool_chart(const Call& call) {
  std::string range = call.query_value("range", "day");
  if (range != "day" && range != "week")
    return error_reply(ErrorCode::invalid_argument, "range is day or week");
  UnixMillis now = clock_.now();
  UnixMillis from = now - (range == "day" ? kDay : 7 * kDay);
  auto samples = store_.pool_samples(from, now + 1);
  if (!samples) return error_reply(samples.error());
  if (range == "week") *samples = services::average_samples(*samples, kWeekStep);
  // The chart ends with the pool as it is now, between the stored minutes.
  if (settings_.telemetry != nullptr) {
    auto current = services::current_pool_sample(sessions_, *settings_.telemetry, now);
    if (!current) return error_reply(current.error());
    samples->push_back(*current);
  }
  json at = json::array();
  json gpus = json::array();
  json allocated = json::array();
  json busy = json::array();
  for (const auto& sample : *samples) {
    at.push_back(sample.at / 1000);
    gpus.push_back(sample.gpus);
    allocated.push_back(sample.allocated);
    busy.push_back(sample.busy);
  }
  return json_reply(200, {{"range", range},
                          {"from", from / 1000},
                          {"to", now / 1000},
                          {"at", at},
                          {"gpus", gpus},
                          {"allocated", allocated},
                          {"busy", busy}});
}

HttpReply Api::usage_chart(const Call& call) {
  std::string text = call.query_value("days", std::to_string(kDefaultDays));
  int days = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), days);
  if (error != std::errc() || end != text.data() + text.size() || days < 1 || days > kMaxDays)
    return error_reply(ErrorCode::invalid_argument, "days must be 1-366");
  User subject = call.caller().user;
  std::string named = call.query_value("user");
  if (!named.empty() && named != subject.username) {
    if (!subject.admin) return error_reply(ErrorCode::forbidden, "only admins see others' usage");
    auto user = user_named(named);
    if (!user) return error_reply(user.error());
    subject = *user;
  }
  UnixMillis now = clock_.now();
  auto sessions =
      store_.list_sessions({subject.id, std::nullopt, false, now - now % kDay - (days - 1) * kDay});
  if (!sessions) return error_reply(sessions.error());
  json at = json::array();
  json gpu_hours = json::array();
  json spend = json::array();
  for (const auto& day : services::daily_usage(*sessions, days, now)) {
    at.push_back(day.day / 1000);
    gpu_hours.push_back(day.gpu_hours);
    spend.push_back(credits(day.spend_micros));
  }
  return json_reply(200, {{"user", subject.username},
                          {"currency", "credits"},
                          {"at", at},
                          {"gpu_hours", gpu_hours},
                          {"spend", spend}});
}

}  // namespace gpupool::api
