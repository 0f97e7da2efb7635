// Idle reclaim's pure parts: which reports show use, which policy applies to whom, and the
// warn → reclaim → keep transitions, each row a session, what the server knows and the time.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/activity_sensor.hpp"
#include "core/duration.hpp"
#include "services/idle_rules.hpp"
#include "services/session_lifecycle.hpp"

namespace gpupool::services {
namespace {

constexpr UnixMillis kNow = 1'000'000'000;
constexpr UnixMillis kMinute = 60'000;
const IdlePolicy kPolicy{60 * kMinute, 15 * kMinute, 2, false};

SessionActivity quiet() {
  SessionActivity activity;
  activity.cpu_cores = 0.01;
  activity.gpu_utilization_percent = 0;
  activity.ssh_connections = 0;
  return activity;
}

TEST(IdleRules, AnyBusySignalIsUseAndAnUnreadCpuIsNeverIdle) {
  IdleThresholds thresholds;
  EXPECT_EQ(last_use_in(quiet(), thresholds, kNow), std::nullopt);
  auto with = [](auto change) {
    SessionActivity activity = quiet();
    change(activity);
    return activity;
  };
  const std::vector<std::pair<const char*, SessionActivity>> busy{
      {"a core in use", with([](auto& a) { a.cpu_cores = 1.0; })},
      {"the CPU not read", with([](auto& a) { a.cpu_cores.reset(); })},
      {"a busy GPU", with([](auto& a) { a.gpu_utilization_percent = 40; })},
      {"a kernel executing", with([](auto& a) { a.busy_kernels = 1; })},
      {"an SSH login", with([](auto& a) { a.ssh_connections = 1; })},
  };
  for (const auto& [name, activity] : busy)
    EXPECT_EQ(last_use_in(activity, thresholds, kNow), kNow) << name;
  // Below the thresholds: quiet. Jupyter's own clock says when it was last used.
  auto low = with([](auto& a) {
    a.cpu_cores = 0.09;
    a.gpu_utilization_percent = 4;
    a.jupyter_quiet_millis = 5 * kMinute;
  });
  EXPECT_EQ(last_use_in(low, thresholds, kNow), kNow - 5 * kMinute);
}

IdlePolicyRule rule(QuotaScope scope, std::optional<std::int64_t> window,
                    std::optional<std::int64_t> grace = {}, std::optional<int> keeps = {},
                    std::optional<bool> exempt = {}) {
  return {scope, 1, "x", window, grace, keeps, exempt};
}

TEST(IdleRules, TheUsersOwnRuleBeatsTheMostLenientOfTheirGroupsWhichBeatTheDefault) {
  using enum QuotaScope;
  EXPECT_EQ(resolve_idle_policy({}, kPolicy).window, kPolicy.window);
  // Groups: the longest window (0, never, longest of all), grace and keeps; any exemption.
  auto groups = resolve_idle_policy({rule(group, 30, 5), rule(group, 240, {}, 9)}, kPolicy);
  EXPECT_EQ(groups.window, 240 * kMinute);
  EXPECT_EQ(groups.grace, 5 * kMinute);
  EXPECT_EQ(groups.keeps, 9);
  EXPECT_FALSE(groups.exempt);
  EXPECT_EQ(resolve_idle_policy({rule(group, 240), rule(group, 0)}, kPolicy).window, 0);
  EXPECT_EQ(resolve_idle_policy({rule(group, 0), rule(group, 240)}, kPolicy).window, 0);
  EXPECT_TRUE(resolve_idle_policy({rule(group, {}, {}, {}, true)}, kPolicy).exempt);
  // The user's own fields win; what it leaves out comes from the groups, then the default.
  auto own = resolve_idle_policy({rule(user, 10), rule(group, 240, 30)}, kPolicy);
  EXPECT_EQ(own.window, 10 * kMinute);
  EXPECT_EQ(own.grace, 30 * kMinute);
  EXPECT_EQ(own.keeps, kPolicy.keeps);
  EXPECT_FALSE(
      resolve_idle_policy({rule(user, {}, {}, {}, false), rule(group, {}, {}, {}, true)}, kPolicy)
          .exempt);
}

Session running_since(UnixMillis started_at) {
  Session session;
  session.id = "s1";
  session.state = SessionState::running;
  session.started_at = started_at;
  session.rate_micros_per_hour = 1'000'000;
  return session;
}

struct IdleCase {
  const char* name;
  Session session;
  IdlePolicy policy;
  UnixMillis last_use;
  SessionState state;  // after
  bool warned;         // idle_warned_at set after
  bool newly_warned;   // the owner is to be told now
};

TEST(IdleRules, AfterIdleCheckWarnsThenReclaimsAndLiftsTheWarningOnUse) {
  auto warned_at = [](UnixMillis at) {
    Session session = running_since(kNow - 5 * 60 * kMinute);
    session.idle_warned_at = at;
    return session;
  };
  auto exempt = [](Session session) {
    session.idle_exempt = true;
    return session;
  };
  IdlePolicy never = kPolicy;
  never.window = 0;
  IdlePolicy exempt_policy = kPolicy;
  exempt_policy.exempt = true;
  IdlePolicy no_grace = kPolicy;
  no_grace.grace = 0;
  Session down = running_since(kNow - 5 * 60 * kMinute);
  down.down_since = kNow - kMinute;
  Session restarted = running_since(kNow - 5 * 60 * kMinute);
  restarted.restarted_at = kNow - 10 * kMinute;
  Session kept = running_since(kNow - 5 * 60 * kMinute);
  kept.idle_kept_at = kNow - 10 * kMinute;
  using enum SessionState;
  const UnixMillis long_ago = kNow - 3 * 60 * kMinute;
  const std::vector<IdleCase> cases{
      {"used lately", running_since(long_ago), kPolicy, kNow - kMinute, running, false, false},
      {"started within the window", running_since(kNow - 30 * kMinute), kPolicy, 0, running, false,
       false},
      {"unused for the window", running_since(long_ago), kPolicy, kNow - 60 * kMinute, running,
       true, true},
      {"warned, within the grace", warned_at(kNow - 14 * kMinute), kPolicy, long_ago, running, true,
       false},
      {"warned, grace over", warned_at(kNow - 15 * kMinute), kPolicy, long_ago, stopping, true,
       false},
      {"warned, used since", warned_at(kNow - 14 * kMinute), kPolicy, kNow - kMinute, running,
       false, false},
      {"no grace: warned and reclaimed at once", running_since(long_ago), no_grace, long_ago,
       stopping, true, true},
      {"never reclaimed by policy", warned_at(kNow - 20 * kMinute), never, long_ago, running, false,
       false},
      {"exempt by policy", running_since(long_ago), exempt_policy, long_ago, running, false, false},
      {"exempted by an admin", exempt(warned_at(kNow - 20 * kMinute)), kPolicy, long_ago, running,
       false, false},
      {"restarted lately", restarted, kPolicy, long_ago, running, false, false},
      {"kept lately", kept, kPolicy, long_ago, running, false, false},
      {"down: not judged", down, kPolicy, long_ago, running, false, false},
  };
  for (const auto& row : cases) {
    Transition next = after_idle_check(row.session, row.policy, row.last_use, kNow);
    EXPECT_EQ(next.session.state, row.state) << row.name;
    EXPECT_EQ(next.session.idle_warned_at != 0, row.warned) << row.name;
    EXPECT_EQ(next.idle_warned, row.newly_warned) << row.name;
    EXPECT_FALSE(next.ended) << row.name << ": stopping first; billing ends with the container";
    if (row.state == stopping) {
      EXPECT_EQ(next.session.end_reason, EndReason::idle_reclaimed) << row.name;
      EXPECT_NE(next.session.reason.find("no GPU, CPU, notebook or SSH activity"),
                std::string::npos)
          << next.session.reason;
    }
    EXPECT_EQ(next.changed, next.session.idle_warned_at != row.session.idle_warned_at ||
                                next.session.state != row.session.state)
        << row.name;
  }
}

TEST(IdleRules, KeepRestartsTheWindowABoundedNumberOfTimes) {
  Session session = running_since(kNow - 5 * 60 * kMinute);
  session.idle_warned_at = kNow - kMinute;
  auto first = after_keep(session, kPolicy, kNow);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->session.idle_warned_at, 0);
  EXPECT_EQ(first->session.idle_kept_at, kNow);
  EXPECT_EQ(first->session.idle_keeps, 1);
  EXPECT_EQ(idle_since(first->session, 0), kNow);
  auto second = after_keep(first->session, kPolicy, kNow + kMinute);
  ASSERT_TRUE(second.ok());
  auto third = after_keep(second->session, kPolicy, kNow + 2 * kMinute);
  ASSERT_FALSE(third.ok());
  EXPECT_EQ(third.error().code, ErrorCode::conflict);
  Session queued = session;
  queued.state = SessionState::queued;
  EXPECT_EQ(after_keep(queued, kPolicy, kNow).error().code, ErrorCode::conflict);
}

TEST(IdleRules, DurationsAreAWholeNumberWithAUnit) {
  EXPECT_EQ(*parse_duration("90s"), 90'000);
  EXPECT_EQ(*parse_duration("15m"), 15 * kMinute);
  EXPECT_EQ(*parse_duration("2h"), 120 * kMinute);
  EXPECT_EQ(*parse_duration("1d"), 24 * 60 * kMinute);
  EXPECT_EQ(*parse_duration("0"), 0);
  for (const char* bad : {"", "h", "2", "-1h", "1.5h", "2w", "99999d", "1h30m"})
    EXPECT_FALSE(parse_duration(bad).ok()) << bad;
}

TEST(ActivitySensor, ReadsJupytersKernelsAndTerminals) {
  auto use = agent::parse_jupyter_use(
      R"([{"id":"a","execution_state":"busy","last_activity":"2026-12-05T01:00:00.123456Z"},
          {"id":"b","execution_state":"idle","last_activity":"2026-12-05T01:30:00Z"}])",
      R"([{"name":"1","last_activity":"2026-12-05T01:10:00Z"}])");
  ASSERT_TRUE(use.has_value());
  EXPECT_EQ(use->kernels, 2);
  EXPECT_EQ(use->busy_kernels, 1);
  EXPECT_EQ(use->terminals, 1);
  EXPECT_EQ(use->last_activity, *parse_rfc3339("2026-12-05T01:30:00Z"));
  auto empty = agent::parse_jupyter_use("[]", "[]");
  ASSERT_TRUE(empty.has_value());
  EXPECT_EQ(empty->last_activity, 0);
  for (auto [kernels, terminals] : std::vector<std::pair<const char*, const char*>>{
           {"{}", "[]"},
           {"[]", "not json"},
           {R"([{"last_activity":"yesterday"}])", "[]"},
           {R"([{"last_activity":5}])", "[]"},
           {R"([{"execution_state":7}])", "[]"},
           {R"([{"execution_state":{"busy":true}}])", "[]"},
           {"[1]", "[]"}})
    EXPECT_FALSE(agent::parse_jupyter_use(kernels, terminals).has_value()) << kernels << terminals;
}

TEST(ActivitySensor, CountsEstablishedConnectionsToOnePort) {
  // sshd on 2222 (0x08AE): one listening, two established, one closing; Jupyter's on 8888.
  const std::string table =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid\n"
      "   0: 00000000:08AE 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000\n"
      "   1: 0B0011AC:08AE 010011AC:D2F0 01 00000000:00000000 00:00000000 00000000  1000\n"
      "   2: 0B0011AC:08AE 010011AC:D2F4 01 00000000:00000000 00:00000000 00000000  1000\n"
      "   3: 0B0011AC:08AE 010011AC:D2F8 06 00000000:00000000 00:00000000 00000000  1000\n"
      "   4: 0B0011AC:22B8 010011AC:D300 01 00000000:00000000 00:00000000 00000000  1000\n"
      "garbage line\n";
  EXPECT_EQ(agent::established_connections(table, 2222), 2);
  EXPECT_EQ(agent::established_connections(table, 8888), 1);
  EXPECT_EQ(agent::established_connections("", 2222), 0);
  const std::string tcp6 =
      "  sl  local_address                         remote_address                        st\n"
      "   0: 0000000000000000FFFF00000B0011AC:08AE 0000000000000000FFFF0000010011AC:D2F0 01\n";
  EXPECT_EQ(agent::established_connections(tcp6, 2222), 1);
}

}  // namespace
}  // namespace gpupool::services
