#include "services/accounts.hpp"

#include <fmt/format.h>

#include "auth/names.hpp"
#include "metering/meter.hpp"

namespace gpupool::services {

Result<Balance> Accounts::balance(std::int64_t user_id, UnixMillis now) {
  Balance balance;
  auto sum = store_.ledger_sum(user_id);
  if (!sum) return sum.error();
  balance.ledger_micros = *sum;
  auto active = store_.list_sessions({user_id, std::nullopt, true, {}});
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
  bool gpu = session.billed_gpu_model != metering::kCpuPriceModel;
  entry.note = fmt::format("{:g} × {} for {} s", gpu ? session.billed_gpus : session.request.cpus,
                           gpu ? session.billed_gpu_model : "CPU (no GPU)",
                           metering::billed_seconds(session, session.ended_at));
  auto added = store_.add_ledger_entry(entry);  // false: already charged, which is fine
  return added ? Status{} : added.error();
}

Result<TopUp> Accounts::top_up(const std::string& username, std::int64_t amount_micros,
                               const std::string& idempotency_key, const std::string& note,
                               UnixMillis now) {
  auto name = auth::canonical_username(username);
  if (!name) return name.error();
  auto user = store_.find_user_by_name(*name);
  if (!user) return user.error();
  if (!user->has_value()) return make_error(ErrorCode::not_found, "no such user");
  TopUp result;
  result.username = (*user)->user.username;
  LedgerEntry& entry = result.entry;
  entry.user_id = (*user)->user.id;
  entry.at = now;
  entry.kind = amount_micros > 0 ? LedgerKind::top_up : LedgerKind::adjustment;
  entry.amount_micros = amount_micros;
  entry.idempotency_key = idempotency_key;
  entry.note = note;
  GPUPOOL_TRY(store_.in_transaction([&]() -> Status {
    auto earlier = store_.find_ledger_entry(entry.user_id, entry.idempotency_key);
    if (!earlier) return earlier.error();
    if (*earlier) {
      if ((*earlier)->amount_micros != amount_micros) {
        return make_error(ErrorCode::conflict, "this idempotency_key was used for another amount");
      }
      entry = **earlier;
      return {};
    }
    auto added = store_.add_ledger_entry(entry);
    if (!added) return added.error();
    result.written = true;
    return {};
  }));
  return result;
}

Result<std::vector<LedgerEntry>> Accounts::ledger(std::int64_t user_id, int newest) {
  return store_.ledger(user_id, newest);
}

Result<std::vector<Price>> Accounts::prices() {
  return store_.list_prices();
}

Status Accounts::set_price(const Price& price) {
  return store_.set_price(price);
}

}  // namespace gpupool::services
