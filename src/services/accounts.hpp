// Accounts: users' prepaid balances over the append-only ledger (model/ledger.hpp).
//
// A balance is what the ledger holds (top-ups and adjustments less the charges of ended
// sessions) less what the user's sessions still running have cost so far. A session is
// charged once, when it ends, in the transaction that ends it. With `prepaid`, a request
// that could cost money is refused while the balance is not above zero, and SessionService
// stops running sessions whose owner's balance has run out.
//
// Not thread-safe on its own: SessionService and the API call it under their own locks and
// store transactions (the store serializes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "model/session.hpp"
#include "model/user.hpp"
#include "store/store.hpp"

namespace gpupool::services {

// A top-up or adjustment as written (or as first written, for a repeated key).
struct TopUp {
  LedgerEntry entry;
  std::string username;
  bool written = false;  // false: the key had been used before, nothing was written now
};

struct Balance {
  std::int64_t ledger_micros = 0;   // the sum of the ledger
  std::int64_t running_micros = 0;  // cost so far of sessions not yet charged
  std::int64_t available_micros() const { return ledger_micros - running_micros; }
};

class Accounts {
 public:
  Accounts(Store& store, bool prepaid) : store_(store), prepaid_(prepaid) {}

  bool prepaid() const { return prepaid_; }
  Result<Balance> balance(std::int64_t user_id, UnixMillis now);
  // balance_exhausted for a request that could cost money (its model, or any model when it
  // names none, has a price) while the user's balance is not above zero.
  Status check_request(const User& user, const SessionRequest& request, UnixMillis now);
  // The charge of a session that has just ended (nothing when it never ran or cost nothing).
  Status charge(const Session& session);

  // Credits (amount > 0: a top-up) or debits (an adjustment) user `username` once per
  // idempotency key, in one transaction: the same key again answers the first entry,
  // unwritten; with another amount it is a conflict. not_found for an unknown user.
  Result<TopUp> top_up(const std::string& username, std::int64_t amount_micros,
                       const std::string& idempotency_key, const std::string& note, UnixMillis now);
  Result<std::vector<LedgerEntry>> ledger(std::int64_t user_id, int newest);
  Result<std::vector<Price>> prices();  // by model
  Status set_price(const Price& price);

 private:
  Store& store_;
  const bool prepaid_;
};

}  // namespace gpupool::services
