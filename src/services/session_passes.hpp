// SessionPasses: how a browser signs in to a session's own address under --session-domain.
//
// Each session's Jupyter is served from its own origin (https://<id>.<session domain>/…),
// so that JavaScript in one notebook can reach neither the portal's API nor another session
// with the cookies of whoever opens it. The login cookie belongs to the gateway's address
// only; to enter a session, the gateway (where the login cookie is) issues a ticket good
// for one use within 60 s, and the session's address trades it for a pass: a cookie of its
// own, valid for that session only, that stands for the login it came from (so logging out
// ends it too). Secrets are kept as digests. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "core/clock.hpp"

namespace gpupool::services {

inline constexpr UnixMillis kTicketLifetimeMillis = 60 * 1000;
inline constexpr const char* kPassCookie = "gpupool_pass";
inline constexpr const char* kTicketParameter = "gpupool-ticket";

class SessionPasses {
 public:
  explicit SessionPasses(const Clock& clock) : clock_(clock) {}

  // A ticket into `session_id` for the login with this credential digest.
  std::string issue_ticket(const std::string& credential_digest, const std::string& session_id);
  // The pass for a ticket issued for `session_id` and not used before; nullopt otherwise.
  std::optional<std::string> redeem(const std::string& ticket, const std::string& session_id);
  // The credential digest a pass stands for, if it was made for `session_id`.
  std::optional<std::string> credential_for(const std::string& pass, const std::string& session_id);

 private:
  struct Grant {
    std::string credential_digest;
    std::string session_id;
    UnixMillis expires_at = 0;
  };
  static constexpr std::size_t kMaxGrants = 100000;
  std::string remember(std::map<std::string, Grant>& grants, Grant grant);
  void forget_expired(std::map<std::string, Grant>& grants, UnixMillis now);

  const Clock& clock_;
  std::mutex mutex_;
  std::map<std::string, Grant> tickets_;  // by digest; guarded by mutex_
  std::map<std::string, Grant> passes_;   // by digest; guarded by mutex_
};

}  // namespace gpupool::services
