#include "services/node_enrollment.hpp"

#include <fmt/format.h>

#include "core/random.hpp"

namespace gpupool::services {

namespace {

constexpr UnixMillis kRecheckAfter = 30'000;
constexpr UnixMillis kLongestValidity = 365LL * 24 * 3600 * 1000;

Error refused_token() {
  return make_error(ErrorCode::unauthorized,
                    "the join token is unknown, expired, used up or revoked; an admin can create "
                    "a new one: gpupool admin join-token create");
}

}  // namespace

Result<NewJoinToken> NodeEnrollment::create_join_token(const JoinTokenRequest& request,
                                                       const std::string& created_by) {
  if (request.valid_for < 60'000 || request.valid_for > kLongestValidity) {
    return make_error(ErrorCode::invalid_argument,
                      "a join token is valid for at least a minute and at most a year");
  }
  if (request.uses == 0 || request.uses < -1 || request.uses > 10'000) {
    return make_error(ErrorCode::invalid_argument,
                      "uses: 1 to 10000 joins, or -1 for any number until it expires");
  }
  if (request.description.size() > 200) {
    return make_error(ErrorCode::invalid_argument, "description: at most 200 characters");
  }
  UnixMillis now = clock_.now();
  NewJoinToken made;
  made.token.id = random_hex(4);
  made.secret_text = made.token.id + "." + random_token(24);
  made.token.secret_digest = digest_hex(made.secret_text);
  made.token.description = request.description;
  made.token.created_by = created_by;
  made.token.created_at = now;
  made.token.expires_at = now + request.valid_for;
  made.token.uses_left = request.uses;
  GPUPOOL_TRY(store_.add_join_token(made.token));
  return made;
}

Status NodeEnrollment::revoke_join_token(const std::string& id) {
  return store_.revoke_join_token(id, clock_.now());
}

Result<std::string> NodeEnrollment::join(const std::string& token_text, const std::string& node) {
  GPUPOOL_TRY(check_node_name(node));
  auto dot = token_text.find('.');
  if (dot == std::string::npos || dot == 0 || token_text.size() > 200) return refused_token();
  std::string id = token_text.substr(0, dot);
  UnixMillis now = clock_.now();
  std::string credential = random_token(32);
  // One transaction: a join refused for its name leaves the token's uses as they were.
  auto joined = store_.in_transaction([&]() -> Status {
    auto token = store_.take_join_token(id, digest_hex(token_text), now);
    if (!token) return token.error();
    if (!*token) return refused_token();
    auto holds = store_.node_has_credential(node);
    if (!holds) return holds.error();
    if (*holds) {
      return make_error(ErrorCode::conflict,
                        fmt::format("node {} has joined already; to join it again (a reinstalled "
                                    "server), an admin first removes it: gpupool admin node-rm {}",
                                    node, node));
    }
    return store_.add_node_credential({digest_hex(credential), node, id, now, 0});
  });
  if (!joined) return joined.error();
  return credential;
}

Result<std::string> NodeEnrollment::authenticate(const std::string& credential) {
  std::string digest = digest_hex(credential);
  UnixMillis now = clock_.now();
  {
    std::lock_guard lock(mutex_);
    auto known = recent_.find(digest);
    if (known != recent_.end() && now - known->second.checked_at < kRecheckAfter)
      return known->second.node;
  }
  auto found = store_.find_node_credential(digest);
  if (!found) return found.error();
  if (!*found) {
    return make_error(ErrorCode::unauthorized,
                      "unknown or revoked node credential; the node must join again");
  }
  std::lock_guard lock(mutex_);
  if (recent_.size() > 100'000) recent_.clear();  // bounded whatever is thrown at it
  recent_[digest] = {(*found)->node, now};
  return (*found)->node;
}

Result<int> NodeEnrollment::revoke_node(const std::string& node) {
  auto revoked = store_.revoke_node_credentials(node, clock_.now());
  if (!revoked) return revoked.error();
  std::lock_guard lock(mutex_);
  std::erase_if(recent_, [&](const auto& entry) { return entry.second.node == node; });
  return revoked;
}

}  // namespace gpupool::services
