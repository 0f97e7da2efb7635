#include "model/notification.hpp"

#include <array>
#include <utility>

namespace gpupool {

namespace {

constexpr std::array<std::pair<NotificationKind, std::string_view>, 6> kNames{{
    {NotificationKind::idle_warning, "idle_warning"},
    {NotificationKind::preemption_warning, "preemption_warning"},
    {NotificationKind::session_started, "session_started"},
    {NotificationKind::session_ended, "session_ended"},
    {NotificationKind::time_limit_near, "time_limit_near"},
    {NotificationKind::balance_low, "balance_low"},
}};

}  // namespace

std::string_view to_string(NotificationKind kind) {
  for (const auto& [value, name] : kNames)
    if (value == kind) return name;
  return "session_ended";
}

std::optional<NotificationKind> parse_notification_kind(std::string_view text) {
  for (const auto& [value, name] : kNames)
    if (name == text) return value;
  return std::nullopt;
}

}  // namespace gpupool
