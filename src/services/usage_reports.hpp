// Monthly statements and efficiency reports: pure functions over what the store holds for a
// period (ledger entries, sessions, group memberships), and their CSV.
//
// A statement lists the ledger entries written in a calendar month (UTC) — top-ups,
// adjustments, and each session's charge, booked when it ended — with the GPU-hours each
// charge paid for. A user's statement opens and closes with their ledger balance; a group's
// sums its members' charges (members as they are now).
//
// An efficiency report says, per user and per group, how many GPU-hours were allocated in the
// period (a session's billed GPUs × its running time inside the period) and how many were used
// (its measured GPU use, services/gpu_use_meter.hpp, pro rata to that time), how many sessions
// idle reclaim ended and the GPUs they gave back; and the revenue (charges booked in the period)
// per GPU model and per node.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "model/ledger.hpp"
#include "model/session.hpp"

namespace gpupool::services {

struct Period {
  UnixMillis from = 0;  // inclusive
  UnixMillis to = 0;    // exclusive
  std::string label;    // "2026-11"
};
// The UTC calendar month "YYYY-MM" (2000-01 to 9999-12); invalid_argument otherwise.
Result<Period> month_period(std::string_view month);
// The month `now` falls in.
Period month_of(UnixMillis now);

struct StatementLine {
  LedgerEntry entry;
  std::string username;   // the entry's user
  std::string gpu_model;  // charges: what the session was billed for
  std::string node;
  double gpu_hours = 0;
};

struct ModelTotal {
  std::string name;  // a GPU model, a node or a member
  double gpu_hours = 0;
  std::int64_t micros = 0;  // charged (positive)
};

struct Statement {
  Period period;
  std::string subject;  // the user's or group's name
  bool group = false;
  std::optional<std::int64_t> opening_micros;  // a user's balance before the period
  std::optional<std::int64_t> closing_micros;  // and at its end (or now)
  std::vector<StatementLine> lines;            // oldest first
  std::int64_t top_ups_micros = 0;
  std::int64_t adjustments_micros = 0;
  std::int64_t charges_micros = 0;  // positive
  std::vector<ModelTotal> by_model;
  std::vector<ModelTotal> by_member;  // a group's
};

// `entries`: the period's ledger entries; `sessions`: at least those the charges name;
// `usernames` by user id.
Statement build_statement(const Period& period, const std::string& subject, bool group,
                          const std::vector<LedgerEntry>& entries,
                          const std::map<std::string, Session>& sessions,
                          const std::map<std::int64_t, std::string>& usernames);
std::string statement_csv(const Statement& statement);

struct EfficiencyRow {
  std::string name;
  double allocated_gpu_hours = 0;
  double used_gpu_hours = 0;
  int idle_reclaimed_sessions = 0;
  double idle_reclaimed_gpus = 0;
};

struct EfficiencyReport {
  Period period;
  EfficiencyRow pool;  // every session
  std::vector<EfficiencyRow> users;
  std::vector<EfficiencyRow> groups;
  std::vector<ModelTotal> revenue_by_model;
  std::vector<ModelTotal> revenue_by_node;
};

// `sessions`: those running at some time in the period (others count nothing); `charges`: the
// period's charge entries; `groups_of` by user id. Running sessions count up to `now`.
EfficiencyReport build_efficiency(const Period& period, const std::vector<Session>& sessions,
                                  const std::vector<LedgerEntry>& charges,
                                  const std::map<std::int64_t, std::vector<std::string>>& groups_of,
                                  UnixMillis now);
std::string efficiency_csv(const EfficiencyReport& report);

}  // namespace gpupool::services
