// The Prometheus text exposition (format 0.0.4) of GET /metrics: per GPU its readings and
// whether a session holds it, per node whether it is up, sessions by state, each running
// session's allocation and idle time, idle reclaim's and the ledger's totals. Pure: it formats
// the admins' nodes document (node_handlers.cpp) and the figures it is given.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/session.hpp"
#include "store/store.hpp"

namespace gpupool::api {

// A label value with backslash, double quote and newline escaped, as the format requires.
std::string prometheus_label(std::string_view value);

// `group_of_user`: each user's group as metrics name it (by user name; "" when none).
std::string prometheus_exposition(const nlohmann::json& nodes_document,
                                  const std::map<std::string, int>& sessions_by_state,
                                  int queue_length,
                                  const std::map<std::string, std::string>& group_of_user);

// What running sessions hold and how long each has been unused, by session, user, group, GPU
// model and node; what idle reclaim gave back; the ledger's totals (session_metrics.cpp).
struct SessionFigures {
  std::vector<Session> running;
  std::map<std::string, std::string> group_of_user;
  std::map<std::string, UnixMillis> idle_since;  // by session, where known
  std::vector<Store::ReclaimedTotal> reclaimed;
  std::map<LedgerKind, std::int64_t> ledger_totals;
  UnixMillis oldest_queued_at = 0;  // the request waiting longest; 0: none waits
  UnixMillis now = 0;
};
std::string session_families(const SessionFigures& figures);

}  // namespace gpupool::api
