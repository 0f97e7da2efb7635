// NodeEnrollment: how GPU servers join the pool and prove who they are afterwards.
//
// An admin creates a join token (`<id>.<secret>`: expiring, for one or many joins, stored as a
// digest, revocable). An agent trades it once for a node credential bound to the node name it
// joins as; from then on every sync is authenticated by that credential, and a credential
// names the only node it may report for or receive sessions of. A name that holds a live
// credential cannot be joined again until an admin removes the node: a second token holder
// must not be able to take over a running node's sessions. Thread-safe.
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "store/store.hpp"

namespace gpupool::services {

struct NewJoinToken {
  JoinToken token;
  std::string secret_text;  // the whole token, shown once
};

struct JoinTokenRequest {
  std::string description;
  UnixMillis valid_for = 24 * 3600 * 1000;
  int uses = 1;  // -1: any number until it expires
};

class NodeEnrollment {
 public:
  NodeEnrollment(Store& store, const Clock& clock) : store_(store), clock_(clock) {}

  Result<NewJoinToken> create_join_token(const JoinTokenRequest& request,
                                         const std::string& created_by);
  Result<std::vector<JoinToken>> list_join_tokens() { return store_.list_join_tokens(); }
  Status revoke_join_token(const std::string& id);

  // Trades a join token for a new node credential (returned once) for `node`.
  Result<std::string> join(const std::string& token_text, const std::string& node);
  // The node a credential speaks for; unauthorized when it is unknown or revoked.
  Result<std::string> authenticate(const std::string& credential);
  // Revokes the node's credentials: its agent is refused from now on and the name may join
  // again. Says how many were live.
  Result<int> revoke_node(const std::string& node);

 private:
  Store& store_;
  const Clock& clock_;
  // Credential digests seen recently → node, so that a thousand agents syncing every second
  // do not each read the store; emptied when a credential is revoked.
  struct Known {
    std::string node;
    UnixMillis checked_at;
  };
  std::mutex mutex_;
  std::map<std::string, Known> recent_;  // guarded by mutex_
};

}  // namespace gpupool::services
