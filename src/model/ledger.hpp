// LedgerEntry: one line of a user's prepaid account. Plain data.
//
// The ledger is append-only: a balance is the sum of its entries (top-ups and adjustments
// add, charges subtract) less what the user's sessions still running have cost so far.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace gpupool {

enum class LedgerKind { top_up, adjustment, charge };

std::string_view to_string(LedgerKind kind);
std::optional<LedgerKind> parse_ledger_kind(std::string_view text);

struct LedgerEntry {
  std::int64_t id = 0;  // assigned by the store
  std::int64_t user_id = 0;
  UnixMillis at = 0;
  LedgerKind kind = LedgerKind::top_up;
  std::int64_t amount_micros = 0;  // signed: charges are negative
  std::string session_id;          // charges: the session that ended
  std::string idempotency_key;     // top-ups and adjustments: written once per key and user
  std::string note;
};

}  // namespace gpupool
