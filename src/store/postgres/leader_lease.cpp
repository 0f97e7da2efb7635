#include "store/postgres/leader_lease.hpp"

#include <chrono>

#include <fmt/format.h>

#include "core/log.hpp"
#include "store/postgres/connection.hpp"
#include "store/postgres/postgres_store.hpp"

namespace gpupool {

namespace {
constexpr std::chrono::milliseconds kTryEvery{250};
// After stepping down, a server waits this long before competing again: the lease goes to
// one that did not just lose it (its connection, or its view of the epoch, may be failing).
constexpr std::chrono::seconds kBackOff{2};
}  // namespace

LeaderLease::LeaderLease(PostgresStore& store, std::string url, std::string holder,
                         std::function<void()> on_lead)
    : store_(store),
      url_(std::move(url)),
      holder_(std::move(holder)),
      on_lead_(std::move(on_lead)) {
  thread_ = std::thread([this] { run(); });
}

LeaderLease::~LeaderLease() {
  stopping_ = true;
  thread_.join();
}

void LeaderLease::step_down(const std::string& why) {
  if (!leading_.exchange(false)) return;
  dropped_ = true;
  spdlog::warn("control plane: {} no longer leads (epoch {}): {}", holder_, epoch_.load(), why);
}

void LeaderLease::run() {
  std::unique_ptr<postgres::Connection> connection;
  while (!stopping_) {
    if (dropped_.exchange(false)) {
      connection.reset();  // the lock goes with it
      for (auto waited = std::chrono::milliseconds(0); waited < kBackOff && !stopping_;
           waited += kTryEvery)
        std::this_thread::sleep_for(kTryEvery);
      continue;
    }
    if (!connection) {
      auto opened = postgres::Connection::open(url_, std::nullopt);
      if (opened) connection = std::move(*opened);
    }
    if (connection && !leading_) {
      auto locked =
          connection->prepare(fmt::format("SELECT pg_try_advisory_lock({})", kLeaderLockKey));
      auto row = locked ? locked->step() : Result<bool>(locked.error());
      if (row && *row && locked->column_int(0) == 1) {
        auto epoch = store_.claim_leadership(holder_);
        if (epoch) {
          epoch_ = *epoch;
          leading_ = true;
          spdlog::info("control plane: {} leads now (epoch {})", holder_, *epoch);
          if (on_lead_) on_lead_();
        } else {
          spdlog::warn("control plane: could not take the lead: {}", epoch.error().message);
          connection.reset();
        }
      } else if (!row) {
        connection.reset();
      }
    } else if (connection && leading_) {
      // A lost connection has lost the lock: stop leading before anything else acts on it.
      // (Never made again while leading: a new connection would not hold the lock.)
      if (!connection->connected() || !connection->execute("SELECT 1") ||
          !connection->connected()) {
        step_down("its lease's connection to PostgreSQL was lost");
        connection.reset();
      }
    } else if (leading_) {
      step_down("PostgreSQL is unreachable");
    }
    std::this_thread::sleep_for(kTryEvery);
  }
  leading_ = false;
}

}  // namespace gpupool
