// The agent sync on the wire (POST /api/v1/agent/sync): SyncRequest and SyncResponse as JSON.
//
// Every message names its protocol version. The server serves agents of this version and of
// the one before it (a rolling upgrade restarts the server first, then its agents one at a
// time); an older agent is told plainly to upgrade. Reading is strict and bounded on both
// sides — an agent is trusted for its own node only, so what it sends is checked like any
// user's input: sizes, counts, ranges, names.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/json_input.hpp"
#include "core/result.hpp"
#include "model/sync.hpp"

namespace gpupool::protocol {

// 2: the long poll (SyncRequest::held_state and wait_millis, SyncResponse::state). A
// protocol-1 agent sends neither and is answered at once, as before.
inline constexpr int kSyncProtocol = 2;        // what this binary speaks
inline constexpr int kOldestSyncProtocol = 1;  // the oldest agent the server still serves

inline constexpr std::size_t kMaxObserved = 1000;
inline constexpr std::size_t kMaxGpus = 64;
inline constexpr std::int64_t kMaxSyncWaitMillis = 60'000;
inline constexpr std::size_t kMaxPrepull = 64;
// Contract checks ordered to one node at once, and reported back.
inline constexpr std::size_t kMaxImageChecks = 16;
inline constexpr std::size_t kMaxImageSaves = 16;

// Written in `protocol` (kOldestSyncProtocol to kSyncProtocol): an agent speaks down to a
// server not yet upgraded, and a server answers each agent in the agent's own version.
// Protocol 1 has no long poll, so its messages carry no held_state, wait_millis or state.
std::string sync_request_to_json(const SyncRequest& request, int protocol = kSyncProtocol);
// The version an agent's message speaks (0 when it names none), to refuse it plainly before
// reading the rest.
int sync_protocol_of(std::string_view text);
Result<SyncRequest> sync_request_from_json(std::string_view text);

std::string sync_response_to_json(const SyncResponse& response, int protocol = kSyncProtocol);
Result<SyncResponse> sync_response_from_json(std::string_view text);

// A session's signs of use (model/idle.hpp) as a sync's "activity" object carries them; a
// Slurm job reports its session's in the same shape (POST /api/v1/slurm/activity). Strict:
// out of range is malformed, an absent figure stays unknown.
Result<SessionActivity> session_activity_from_json(const Json& object);

}  // namespace gpupool::protocol
