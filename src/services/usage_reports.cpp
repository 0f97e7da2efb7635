#include "services/usage_reports.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>

#include <fmt/format.h>

#include "metering/meter.hpp"
#include "model/price.hpp"

namespace gpupool::services {

namespace {

constexpr double kMillisPerHour = 3'600'000.0;

UnixMillis month_start(int year, unsigned month) {
  using namespace std::chrono;
  sys_days day{std::chrono::year{year} / std::chrono::month{month} / 1};
  return duration_cast<milliseconds>(day.time_since_epoch()).count();
}

// A CSV field: quoted when it must be; text a spreadsheet would take for a formula is
// prefixed with ' so that opening the file never runs anything.
std::string csv_text(std::string_view text) {
  std::string field(text);
  if (!field.empty() && std::string_view("=+-@\t\r").find(field.front()) != std::string_view::npos)
    field.insert(field.begin(), '\'');
  if (field.find_first_of(",\"\r\n") == std::string::npos) return field;
  std::string quoted = "\"";
  for (char c : field) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

std::string credits_text(std::int64_t micros) {
  return fmt::format("{:.6f}", static_cast<double>(micros) / static_cast<double>(kMicrosPerCredit));
}

std::vector<ModelTotal> sorted(const std::map<std::string, ModelTotal>& totals) {
  std::vector<ModelTotal> list;
  for (const auto& [name, total] : totals) list.push_back(total);
  return list;
}

void add(std::map<std::string, ModelTotal>& totals, const std::string& name, double gpu_hours,
         std::int64_t micros) {
  auto& total = totals[name];
  total.name = name;
  total.gpu_hours += gpu_hours;
  total.micros += micros;
}

double charged_gpu_hours(const Session& session) {
  UnixMillis end = session.ended_at != 0 ? session.ended_at : session.updated_at;
  return session.billed_gpus * static_cast<double>(metering::billed_seconds(session, end)) / 3600.0;
}

}  // namespace

Result<Period> month_period(std::string_view month) {
  int year = 0;
  unsigned number = 0;
  auto invalid = Error{ErrorCode::invalid_argument, "a month is YYYY-MM, e.g. 2026-11"};
  if (month.size() != 7 || month[4] != '-') return invalid;
  auto [year_end, year_error] = std::from_chars(month.data(), month.data() + 4, year);
  auto [month_end, month_error] = std::from_chars(month.data() + 5, month.data() + 7, number);
  if (year_error != std::errc() || month_error != std::errc() || year_end != month.data() + 4 ||
      month_end != month.data() + 7 || year < 2000 || number < 1 || number > 12)
    return invalid;
  UnixMillis to = number == 12 ? month_start(year + 1, 1) : month_start(year, number + 1);
  return Period{month_start(year, number), to, std::string(month)};
}

Period month_of(UnixMillis now) {
  std::time_t seconds = now / 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return *month_period(fmt::format("{:04}-{:02}", utc.tm_year + 1900, utc.tm_mon + 1));
}

Statement build_statement(const Period& period, const std::string& subject, bool group,
                          const std::vector<LedgerEntry>& entries,
                          const std::map<std::string, Session>& sessions,
                          const std::map<std::int64_t, std::string>& usernames) {
  Statement statement;
  statement.period = period;
  statement.subject = subject;
  statement.group = group;
  std::map<std::string, ModelTotal> by_model;
  std::map<std::string, ModelTotal> by_member;
  for (const auto& entry : entries) {
    StatementLine line;
    line.entry = entry;
    if (auto name = usernames.find(entry.user_id); name != usernames.end())
      line.username = name->second;
    switch (entry.kind) {
      case LedgerKind::top_up:
        statement.top_ups_micros += entry.amount_micros;
        break;
      case LedgerKind::adjustment:
        statement.adjustments_micros += entry.amount_micros;
        break;
      case LedgerKind::charge: {
        statement.charges_micros -= entry.amount_micros;
        if (auto session = sessions.find(entry.session_id); session != sessions.end()) {
          line.gpu_model = session->second.billed_gpu_model;
          line.node = session->second.node;
          line.gpu_hours = charged_gpu_hours(session->second);
        }
        add(by_model, line.gpu_model.empty() ? "(none)" : line.gpu_model, line.gpu_hours,
            -entry.amount_micros);
        add(by_member, line.username, line.gpu_hours, -entry.amount_micros);
        break;
      }
    }
    statement.lines.push_back(std::move(line));
  }
  statement.by_model = sorted(by_model);
  if (group) statement.by_member = sorted(by_member);
  return statement;
}

std::string statement_csv(const Statement& statement) {
  std::string csv = "at,user,kind,session,gpu_model,node,gpu_hours,amount_credits,note\r\n";
  for (const auto& line : statement.lines) {
    csv += fmt::format("{},{},{},{},{},{},{:.4f},{},{}\r\n", format_rfc3339(line.entry.at),
                       csv_text(line.username), to_string(line.entry.kind),
                       csv_text(line.entry.session_id), csv_text(line.gpu_model),
                       csv_text(line.node), line.gpu_hours, credits_text(line.entry.amount_micros),
                       csv_text(line.entry.note));
  }
  return csv;
}

EfficiencyReport build_efficiency(const Period& period, const std::vector<Session>& sessions,
                                  const std::vector<LedgerEntry>& charges,
                                  const std::map<std::int64_t, std::vector<std::string>>& groups_of,
                                  UnixMillis now) {
  EfficiencyReport report;
  report.period = period;
  report.pool.name = "(pool)";
  std::map<std::string, EfficiencyRow> users;
  std::map<std::string, EfficiencyRow> groups;
  std::map<std::string, const Session*> by_id;
  for (const auto& session : sessions) {
    by_id[session.id] = &session;
    if (session.started_at == 0) continue;
    UnixMillis end = session.ended_at != 0 ? session.ended_at : now;
    UnixMillis inside = std::min(end, period.to) - std::max(session.started_at, period.from);
    bool reclaimed = session.end_reason == EndReason::idle_reclaimed &&
                     session.ended_at >= period.from && session.ended_at < period.to;
    if (inside <= 0 && !reclaimed) continue;
    inside = std::max<UnixMillis>(inside, 0);
    UnixMillis ran = end - session.started_at;
    EfficiencyRow share;
    share.allocated_gpu_hours = session.billed_gpus * static_cast<double>(inside) / kMillisPerHour;
    share.used_gpu_hours = ran > 0 ? session.gpu_busy_seconds * static_cast<double>(inside) /
                                         static_cast<double>(ran) / 3600.0
                                   : 0;
    share.idle_reclaimed_sessions = reclaimed ? 1 : 0;
    share.idle_reclaimed_gpus = reclaimed ? session.billed_gpus : 0;
    auto count = [&share](EfficiencyRow& row) {
      row.allocated_gpu_hours += share.allocated_gpu_hours;
      row.used_gpu_hours += share.used_gpu_hours;
      row.idle_reclaimed_sessions += share.idle_reclaimed_sessions;
      row.idle_reclaimed_gpus += share.idle_reclaimed_gpus;
    };
    count(report.pool);
    EfficiencyRow& user = users[session.username];
    user.name = session.username;
    count(user);
    if (auto found = groups_of.find(session.user_id); found != groups_of.end()) {
      for (const auto& name : found->second) {
        groups[name].name = name;
        count(groups[name]);
      }
    }
  }
  for (auto& [name, row] : users) report.users.push_back(row);
  for (auto& [name, row] : groups) report.groups.push_back(row);
  std::map<std::string, ModelTotal> by_model;
  std::map<std::string, ModelTotal> by_node;
  for (const auto& charge : charges) {
    if (charge.kind != LedgerKind::charge) continue;
    auto found = by_id.find(charge.session_id);
    const Session* session = found != by_id.end() ? found->second : nullptr;
    double gpu_hours = session != nullptr ? charged_gpu_hours(*session) : 0;
    add(by_model, session != nullptr ? session->billed_gpu_model : "(unknown)", gpu_hours,
        -charge.amount_micros);
    add(by_node, session != nullptr ? session->node : "(unknown)", gpu_hours,
        -charge.amount_micros);
  }
  report.revenue_by_model = sorted(by_model);
  report.revenue_by_node = sorted(by_node);
  return report;
}

std::string efficiency_csv(const EfficiencyReport& report) {
  std::string csv =
      "section,name,allocated_gpu_hours,used_gpu_hours,idle_reclaimed_sessions,"
      "idle_reclaimed_gpus,charged_gpu_hours,revenue_credits\r\n";
  auto rows = [&csv](const char* section, const std::vector<EfficiencyRow>& list) {
    for (const auto& row : list)
      csv += fmt::format("{},{},{:.4f},{:.4f},{},{:.4f},,\r\n", section, csv_text(row.name),
                         row.allocated_gpu_hours, row.used_gpu_hours, row.idle_reclaimed_sessions,
                         row.idle_reclaimed_gpus);
  };
  auto money = [&csv](const char* section, const std::vector<ModelTotal>& list) {
    for (const auto& total : list)
      csv += fmt::format("{},{},,,,,{:.4f},{}\r\n", section, csv_text(total.name), total.gpu_hours,
                         credits_text(total.micros));
  };
  rows("pool", {report.pool});
  rows("group", report.groups);
  rows("user", report.users);
  money("model", report.revenue_by_model);
  money("node", report.revenue_by_node);
  return csv;
}

}  // namespace gpupool::services
