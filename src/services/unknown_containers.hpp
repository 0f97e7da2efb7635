// Session containers that agents run and the store does not know: what a server started on a
// lost, replaced or restored database finds. They are never removed on the strength of a
// missing row: they keep running, their GPUs and ports stay fenced (nothing else is placed
// on them), admins are told, and one goes only when an admin asks. Kept in memory: each
// sync reports them afresh. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "model/node.hpp"
#include "model/sync.hpp"
#include "scheduler/schedule.hpp"

namespace gpupool::services {

struct UnknownContainer {
  std::string node;
  std::string session_id;
  std::string user;              // as the container's label says
  std::vector<int> gpu_indices;  // likewise; empty and !holdings_known: not labelled
  std::vector<int> host_ports;
  bool holdings_known = false;
  std::string image;          // what it runs, for adopting it
  std::string jupyter_token;  // what its Jupyter takes, for adopting it (never shown)
  UnixMillis first_seen = 0;
  bool removal_requested = false;
};

// What a container of `node` holds, as the scheduler must treat it: its labelled GPUs and
// ports, or, where it carries no labels, every GPU of its node.
scheduler::Allocation fence_of(const std::string& node, const std::string& label,
                               const ObservedSession& held, const std::vector<Node>& nodes);

class UnknownContainers {
 public:
  // What one node's sync reported that the store does not know; replaces the node's entries.
  // Returns those seen for the first time, to be announced.
  std::vector<UnknownContainer> update(const std::string& node,
                                       const std::vector<ObservedSession>& unknown, UnixMillis now);
  std::vector<UnknownContainer> list() const;  // by node, then session
  // An admin's decision: the container goes at the node's next sync. not_found otherwise.
  Status request_removal(const std::string& node, const std::string& session_id);
  std::vector<std::string> released(const std::string& node) const;
  // Adopted as a session: no longer unknown. not_found when it is not listed.
  Result<UnknownContainer> take(const std::string& node, const std::string& session_id);
  // What the scheduler must treat as taken: the labelled GPUs and ports, or, where the
  // container carries no labels, every GPU of its node.
  std::vector<scheduler::Allocation> fences(const std::vector<Node>& nodes) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, UnknownContainer>> by_node_;
};

// Containers of sessions that have ended while their node still runs them — a node back
// after its sessions were declared lost, a failed container not yet removed: released to
// the agent, and fenced until the node no longer reports them. Kept in memory: each sync
// reports them afresh. Thread-safe.
class DepartingContainers {
 public:
  // Replaces the node's entries with what its latest sync reported.
  void update(const std::string& node, std::vector<ObservedSession> departing);
  std::vector<scheduler::Allocation> fences(const std::vector<Node>& nodes) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<ObservedSession>> by_node_;
};

}  // namespace gpupool::services
