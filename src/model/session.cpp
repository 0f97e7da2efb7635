#include "model/session.hpp"

#include <array>
#include <utility>

namespace gpupool {

namespace {

constexpr std::array<std::pair<SessionState, std::string_view>, 6> kStates{{
    {SessionState::queued, "queued"},
    {SessionState::scheduled, "scheduled"},
    {SessionState::starting, "starting"},
    {SessionState::running, "running"},
    {SessionState::stopping, "stopping"},
    {SessionState::ended, "ended"},
}};

constexpr std::array<std::pair<EndReason, std::string_view>, 10> kReasons{{
    {EndReason::none, ""},
    {EndReason::user_stopped, "user_stopped"},
    {EndReason::time_limit, "time_limit"},
    {EndReason::idle_reclaimed, "idle_reclaimed"},
    {EndReason::balance_exhausted, "balance_exhausted"},
    {EndReason::admin_stopped, "admin_stopped"},
    {EndReason::failed, "failed"},
    {EndReason::node_lost, "node_lost"},
    {EndReason::preempted, "preempted"},
    {EndReason::gpu_share_exceeded, "gpu_share_exceeded"},
}};

template <typename Enum, std::size_t N>
std::string_view name_of(const std::array<std::pair<Enum, std::string_view>, N>& table,
                         Enum value) {
  for (const auto& [candidate, name] : table) {
    if (candidate == value) return name;
  }
  return "";
}

template <typename Enum, std::size_t N>
std::optional<Enum> value_of(const std::array<std::pair<Enum, std::string_view>, N>& table,
                             std::string_view text) {
  for (const auto& [candidate, name] : table) {
    if (name == text) return candidate;
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(SessionState state) {
  return name_of(kStates, state);
}
std::optional<SessionState> parse_session_state(std::string_view text) {
  return value_of(kStates, text);
}
std::string_view to_string(EndReason reason) {
  return name_of(kReasons, reason);
}
std::optional<EndReason> parse_end_reason(std::string_view text) {
  return value_of(kReasons, text);
}

bool holds_resources(SessionState state) {
  return state == SessionState::scheduled || state == SessionState::starting ||
         state == SessionState::running || state == SessionState::stopping;
}

}  // namespace gpupool
