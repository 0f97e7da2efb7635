#include "services/session_passes.hpp"

#include "core/random.hpp"
#include "services/auth_service.hpp"

namespace gpupool::services {

std::string SessionPasses::remember(std::map<std::string, Grant>& grants, Grant grant) {
  std::string secret = random_token(32);
  forget_expired(grants, clock_.now());
  if (grants.size() >= kMaxGrants) grants.erase(grants.begin());  // bounded, whatever happens
  grants[digest_hex(secret)] = std::move(grant);
  return secret;
}

void SessionPasses::forget_expired(std::map<std::string, Grant>& grants, UnixMillis now) {
  if (grants.size() < kMaxGrants / 2) return;  // cheap until it matters
  std::erase_if(grants, [now](const auto& entry) { return entry.second.expires_at <= now; });
}

std::string SessionPasses::issue_ticket(const std::string& credential_digest,
                                        const std::string& session_id) {
  std::lock_guard lock(mutex_);
  return remember(tickets_, {credential_digest, session_id, clock_.now() + kTicketLifetimeMillis});
}

std::optional<std::string> SessionPasses::redeem(const std::string& ticket,
                                                 const std::string& session_id) {
  if (ticket.empty() || ticket.size() > 256) return std::nullopt;
  std::lock_guard lock(mutex_);
  auto it = tickets_.find(digest_hex(ticket));
  if (it == tickets_.end()) return std::nullopt;
  Grant grant = std::move(it->second);
  tickets_.erase(it);  // once, whatever the outcome
  if (grant.session_id != session_id || grant.expires_at <= clock_.now()) return std::nullopt;
  grant.expires_at = clock_.now() + kLoginLifetimeMillis;
  return remember(passes_, std::move(grant));
}

std::optional<std::string> SessionPasses::credential_for(const std::string& pass,
                                                         const std::string& session_id) {
  if (pass.empty() || pass.size() > 256) return std::nullopt;
  std::lock_guard lock(mutex_);
  auto it = passes_.find(digest_hex(pass));
  if (it == passes_.end() || it->second.session_id != session_id ||
      it->second.expires_at <= clock_.now()) {
    return std::nullopt;
  }
  return it->second.credential_digest;
}

}  // namespace gpupool::services
