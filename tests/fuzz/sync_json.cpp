// The agent sync on the wire, read as the server reads an agent's report and an agent reads
// the server's answer: whatever is accepted is within bounds, and writes back to an equal
// message that is accepted again.
#include "protocol/sync_json.hpp"
#include "fuzz_input.hpp"

using gpupool::fuzz::require;
namespace protocol = gpupool::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto request = protocol::sync_request_from_json(text)) {
    require(request->node.gpus.size() <= protocol::kMaxGpus, "GPUs bounded");
    for (std::size_t i = 0; i < request->node.gpus.size(); ++i)
      require(request->node.gpus[i].index == static_cast<int>(i), "GPUs in index order");
    require(request->observed.size() <= protocol::kMaxObserved, "observations bounded");
    require(request->node.port_min <= request->node.port_max, "port range in order");
    auto again = protocol::sync_request_from_json(protocol::sync_request_to_json(*request));
    require(again.ok(), "a report written back reads again");
    require(again->observed.size() == request->observed.size(), "the same observations");
  }
  if (auto response = protocol::sync_response_from_json(text)) {
    auto again = protocol::sync_response_from_json(protocol::sync_response_to_json(*response));
    require(again.ok(), "an answer written back reads again");
    require(again->desired.size() == response->desired.size(), "the same sessions");
  }
  return 0;
}
