// What an agent reports in a sync, however wrong: phases in any order, sessions it should
// not have, junk host keys and messages, GPUs and ports it does not hold. The server must
// take every report, and never hand one GPU to two sessions.
#include <map>
#include <set>

#include "fuzz_input.hpp"
#include "memory_pool.hpp"

using namespace gpupool;
using fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& pool = fuzz::memory_pool();
  fuzz::ByteReader input(data, size);
  SyncRequest report{fuzz::MemoryPool::node(), {}, {}};
  int entries = input.byte() % 6;
  for (int i = 0; i < entries; ++i) {
    ObservedSession observed;
    std::uint8_t pick = input.byte();
    observed.session_id =
        pick < 200 ? pool.session_ids[pick % pool.session_ids.size()] : input.text(16);
    observed.phase = static_cast<ObservedPhase>(input.byte() % 5);
    observed.stopped_at = input.flag() ? pool.clock.now() - input.byte() * 1000 : 0;
    observed.message = input.text(32);
    observed.ssh_host_key = input.flag() ? input.text(96) : "";
    observed.user = input.text(12);
    for (int g = input.byte() % 3; g > 0; --g) observed.gpu_indices.push_back(input.byte() - 2);
    for (int p = input.byte() % 3; p > 0; --p) observed.host_ports.push_back(30000 + input.byte());
    observed.holdings_known = input.flag();
    report.observed.push_back(std::move(observed));
  }
  if (input.flag()) {  // a user asks for another session now and then
    auto alice = pool.store->find_user_by_name("alice");
    SessionRequest request;
    request.gpus = 1 + input.byte() % 2;
    auto session = pool.sessions->request_session((*alice)->user, request);
    if (session) pool.session_ids.push_back(session->id);
  }
  auto answered = pool.sessions->sync(report);
  require(answered.ok(), "every report is taken");

  auto active = pool.sessions->active_sessions();
  require(active.ok(), "sessions are listed");
  std::set<int> held;
  for (const auto& session : *active) {
    if (!holds_resources(session.state)) continue;
    for (int gpu : session.gpu_indices) require(held.insert(gpu).second, "a GPU has one holder");
  }
  pool.clock.advance(1000 + input.byte() * 1000);
  return 0;
}
