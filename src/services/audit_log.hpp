// AuditLog: writes the audit trail and keeps it within its retention. Recording never fails
// the action it records (a store error is logged); entries older than the retention are
// pruned at the first record and every 1000th after. Thread-safe.
#pragma once

#include <atomic>
#include <vector>

#include "core/clock.hpp"
#include "store/store.hpp"

namespace gpupool::services {

inline constexpr int kMinAuditRetentionDays = 30;  // the store refuses to prune younger entries

class AuditLog {
 public:
  AuditLog(Store& store, const Clock& clock, int retention_days)
      : store_(store), clock_(clock), retention_days_(retention_days) {}

  // Stamps the entry with the time and appends it.
  void record(AuditEntry entry);
  Result<std::vector<AuditEntry>> list(const AuditFilter& filter) {
    return store_.list_audit(filter);
  }

 private:
  Store& store_;
  const Clock& clock_;
  const int retention_days_;
  std::atomic<std::uint64_t> recorded_{0};
};

}  // namespace gpupool::services
