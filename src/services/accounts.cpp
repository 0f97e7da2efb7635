#include "services/accounts.hpp"

#include <fmt/format.h>

#include "metering/meter.hpp"

namespace gpupool::services {

Result<Balance> Accounts::balance(std::int64_t user_id, UnixMillis now) {
  Balance balance;
  auto sum = store_.ledger_sum(user_id);
  if (!sum) return sum.error();
  balance.ledger_micros = *sum;
  auto active = store_.list_sessions({user_id, std::nullopt, true});
  if (!active) return active.error();
  for (const auto& session : *active) balance.running_micros += metering::cost_micros(session, now);
  return balance;
}

Status Accounts::check_request(const User& user, const SessionRequest& request, UnixMillis now) {
  if (!prepaid_) return {};
  auto prices = store_.list_prices();
  if (!prices) return prices.error();
  bool costs_money = false;
  for (const auto& price : *prices) {
    bool applies = request.gpu_model.empty() || price.gpu_model == request.gpu_model;
    costs_money = costs_money || (applies && price.micros_per_gpu_hour > 0);
  }
  if (!costs_money) return {};
  auto current = balance(user.id, now);
  if (!current) return current.error();
  if (current->available_micros() > 0) return {};
  return make_error(
      ErrorCode::balance_exhausted,
      fmt::format("your balance is {:.4f} credits; ask an admin to top it up (GET /api/v1/prices "
                  "says what an hour costs)",
                  static_cast<double>(current->available_micros()) / kMicrosPerCredit));
}

Status Accounts::charge(const Session& session) {
  auto cost = metering::cost_micros(session, session.ended_at);
  if (session.started_at == 0 || cost == 0) return {};
  LedgerEntry entry;
  entry.user_id = session.user_id;
  entry.at = session.ended_at;
  entry.kind = LedgerKind::charge;
  entry.amount_micros = -cost;
  entry.session_id = session.id;
  entry.note = fmt::format("{:g} × {} for {} s", session.billed_gpus, session.billed_gpu_model,
                           metering::billed_seconds(session, session.ended_at));
  auto added = store_.add_ledger_entry(entry);  // false: already charged, which is fine
  return added ? Status{} : added.error();
}

}  // namespace gpupool::services
