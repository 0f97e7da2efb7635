#include "services/audit_log.hpp"

#include <algorithm>

#include "core/log.hpp"

namespace gpupool::services {

namespace {

constexpr std::uint64_t kPruneEvery = 1000;
constexpr UnixMillis kDayMillis = 24LL * 3600 * 1000;

}  // namespace

void AuditLog::record(AuditEntry entry) {
  entry.at = clock_.now();
  if (auto appended = store_.append_audit(entry); !appended) {
    spdlog::error("audit: cannot record {} by {} from {}: {}", entry.action, entry.actor,
                  entry.source, appended.error().message);
  }
  if (recorded_.fetch_add(1) % kPruneEvery != 0) return;
  int days = std::max(retention_days_, kMinAuditRetentionDays);
  auto pruned = store_.prune_audit(entry.at - days * kDayMillis);
  if (!pruned) {
    spdlog::warn("audit: cannot prune entries older than {} days: {}", days,
                 pruned.error().message);
  } else if (*pruned > 0) {
    spdlog::info("audit: pruned {} entries older than {} days", *pruned, days);
  }
}

}  // namespace gpupool::services
