// Monthly statements and efficiency reports (services/usage_reports.hpp), as JSON or CSV:
//   GET /api/v1/statements/{YYYY-MM}[?user=NAME|group=NAME][&format=csv]
//     a user's own; admins any user's, and groups'.
//   GET /api/v1/reports/efficiency[?month=YYYY-MM][&format=csv]   (admins)
#include <algorithm>

#include <fmt/format.h>

#include "api/api.hpp"
#include "services/usage_reports.hpp"

namespace gpupool::api {

using nlohmann::json;
using services::Period;

namespace {

Result<bool> wants_csv(const Call& call) {
  std::string format = call.query_value("format", "json");
  if (format != "json" && format != "csv")
    return Error{ErrorCode::invalid_argument, "format is json or csv"};
  return format == "csv";
}

HttpReply csv_reply(const std::string& filename, std::string body) {
  HttpReply reply{200, "text/csv; charset=utf-8", std::move(body), {}};
  reply.headers.emplace_back("Content-Disposition",
                             fmt::format("attachment; filename=\"{}\"", filename));
  return reply;
}

json totals_view(const std::vector<services::ModelTotal>& totals, const char* name) {
  json list = json::array();
  for (const auto& total : totals)
    list.push_back(
        {{name, total.name}, {"gpu_hours", total.gpu_hours}, {"charged", credits(total.micros)}});
  return list;
}

json statement_view(const services::Statement& statement) {
  json lines = json::array();
  for (const auto& line : statement.lines) {
    lines.push_back({{"at", format_rfc3339(line.entry.at)},
                     {"user", line.username},
                     {"kind", to_string(line.entry.kind)},
                     {"session", line.entry.session_id},
                     {"gpu_model", line.gpu_model},
                     {"node", line.node},
                     {"gpu_hours", line.gpu_hours},
                     {"amount", credits(line.entry.amount_micros)},
                     {"note", line.entry.note}});
  }
  json view{{"month", statement.period.label},
            {"from", format_rfc3339(statement.period.from)},
            {"to", format_rfc3339(statement.period.to)},
            {"scope", statement.group ? "group" : "user"},
            {"subject", statement.subject},
            {"currency", "credits"},
            {"top_ups", credits(statement.top_ups_micros)},
            {"adjustments", credits(statement.adjustments_micros)},
            {"charges", credits(statement.charges_micros)},
            {"by_model", totals_view(statement.by_model, "gpu_model")},
            {"lines", lines}};
  if (statement.opening_micros) view["opening_balance"] = credits(*statement.opening_micros);
  if (statement.closing_micros) view["closing_balance"] = credits(*statement.closing_micros);
  if (statement.group) view["by_member"] = totals_view(statement.by_member, "user");
  return view;
}

json efficiency_row_view(const services::EfficiencyRow& row) {
  return {{"name", row.name},
          {"allocated_gpu_hours", row.allocated_gpu_hours},
          {"used_gpu_hours", row.used_gpu_hours},
          {"used_percent", row.allocated_gpu_hours > 0
                               ? json(100.0 * row.used_gpu_hours / row.allocated_gpu_hours)
                               : json(nullptr)},
          {"idle_reclaimed_sessions", row.idle_reclaimed_sessions},
          {"idle_reclaimed_gpus", row.idle_reclaimed_gpus}};
}

}  // namespace

Result<std::map<std::string, Session>> Api::sessions_since(std::optional<std::int64_t> user_id,
                                                           UnixMillis since) {
  auto sessions = store_.list_sessions({user_id, std::nullopt, false, since});
  if (!sessions) return sessions.error();
  std::map<std::string, Session> by_id;
  for (auto& session : *sessions) by_id[session.id] = std::move(session);
  return by_id;
}

Result<services::Statement> Api::group_statement(const Period& period, const std::string& name) {
  auto group = store_.find_group(name);
  if (!group) return group.error();
  if (!*group) return Error{ErrorCode::not_found, "no group named " + name};
  auto members = store_.group_member_ids((*group)->id);
  if (!members) return members.error();
  std::vector<LedgerEntry> entries;
  std::map<std::int64_t, std::string> usernames;
  for (auto member : *members) {
    auto user = store_.find_user(member);
    if (!user) return user.error();
    if (*user) usernames[member] = (*user)->username;
    auto own = store_.ledger_between(member, period.from, period.to);
    if (!own) return own.error();
    entries.insert(entries.end(), own->begin(), own->end());
  }
  std::sort(entries.begin(), entries.end(), [](const LedgerEntry& a, const LedgerEntry& b) {
    return a.at != b.at ? a.at < b.at : a.id < b.id;
  });
  auto sessions = sessions_since(std::nullopt, period.from);
  if (!sessions) return sessions.error();
  return services::build_statement(period, name, true, entries, *sessions, usernames);
}

Result<services::Statement> Api::user_statement(const Period& period, const User& user) {
  auto entries = store_.ledger_between(user.id, period.from, period.to);
  if (!entries) return entries.error();
  auto sessions = sessions_since(user.id, period.from);
  if (!sessions) return sessions.error();
  auto statement = services::build_statement(period, user.username, false, *entries, *sessions,
                                             {{user.id, user.username}});
  auto opening = store_.ledger_sum_before(user.id, period.from);
  if (!opening) return opening.error();
  auto closing = store_.ledger_sum_before(user.id, period.to);
  if (!closing) return closing.error();
  statement.opening_micros = *opening;
  statement.closing_micros = *closing;
  return statement;
}

HttpReply Api::statement(const Call& call) {
  auto period = services::month_period(call.parameter("month"));
  if (!period) return error_reply(period.error());
  auto csv = wants_csv(call);
  if (!csv) return error_reply(csv.error());
  std::string user_name = call.query_value("user");
  std::string group_name = call.query_value("group");
  const User& caller = call.caller().user;
  if (!user_name.empty() && !group_name.empty())
    return error_reply(ErrorCode::invalid_argument, "name a user or a group, not both");
  bool own = group_name.empty() && (user_name.empty() || user_name == caller.username);
  if (!own && !caller.admin)
    return error_reply(ErrorCode::forbidden, "only admins see others' and groups' statements");
  Result<services::Statement> statement = make_error(ErrorCode::internal, "no statement");
  if (!group_name.empty()) {
    statement = group_statement(*period, group_name);
  } else if (own) {
    statement = user_statement(*period, caller);
  } else {
    auto user = user_named(user_name);
    if (!user) return error_reply(user.error());
    statement = user_statement(*period, *user);
  }
  if (!statement) return error_reply(statement.error());
  if (*csv)
    return csv_reply(fmt::format("gpupool-statement-{}-{}.csv", statement->subject, period->label),
                     services::statement_csv(*statement));
  return json_reply(200, statement_view(*statement));
}

HttpReply Api::efficiency_report(const Call& call) {
  std::string month = call.query_value("month");
  auto period = month.empty() ? Result<Period>(services::month_of(clock_.now()))
                              : services::month_period(month);
  if (!period) return error_reply(period.error());
  auto csv = wants_csv(call);
  if (!csv) return error_reply(csv.error());
  auto sessions = store_.list_sessions({std::nullopt, std::nullopt, false, period->from});
  if (!sessions) return error_reply(sessions.error());
  auto charges = store_.ledger_between(std::nullopt, period->from, period->to);
  if (!charges) return error_reply(charges.error());
  std::map<std::int64_t, std::vector<std::string>> groups_of;
  for (const auto& session : *sessions) {
    if (groups_of.contains(session.user_id)) continue;
    auto groups = store_.groups_of(session.user_id);
    if (!groups) return error_reply(groups.error());
    auto& names = groups_of[session.user_id];
    for (const auto& group : *groups) names.push_back(group.name);
  }
  auto report = services::build_efficiency(*period, *sessions, *charges, groups_of, clock_.now());
  if (*csv)
    return csv_reply(fmt::format("gpupool-efficiency-{}.csv", period->label),
                     services::efficiency_csv(report));
  json users = json::array();
  for (const auto& row : report.users) users.push_back(efficiency_row_view(row));
  json groups = json::array();
  for (const auto& row : report.groups) groups.push_back(efficiency_row_view(row));
  return json_reply(200, {{"month", period->label},
                          {"from", format_rfc3339(period->from)},
                          {"to", format_rfc3339(period->to)},
                          {"currency", "credits"},
                          {"pool", efficiency_row_view(report.pool)},
                          {"groups", groups},
                          {"users", users},
                          {"revenue_by_model", totals_view(report.revenue_by_model, "gpu_model")},
                          {"revenue_by_node", totals_view(report.revenue_by_node, "node")}});
}

}  // namespace gpupool::api
