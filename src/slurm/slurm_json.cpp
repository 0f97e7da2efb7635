#include "slurm/slurm_json.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <climits>
#include <cmath>
#include <cstdint>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/json_input.hpp"

namespace gpupool::slurm {

namespace {

// A job in any of these has not ended yet.
constexpr std::array<std::string_view, 11> kLiveStates = {
    "PENDING",  "RUNNING",   "SUSPENDED", "COMPLETING",   "CONFIGURING", "REQUEUED",
    "RESIZING", "SIGNALING", "STAGE_OUT", "REQUEUE_HOLD", "REQUEUE_FED"};
// A node in any of these takes no new jobs.
constexpr std::array<std::string_view, 13> kUnusableStates = {
    "down",           "drain",       "draining",         "drained", "fail",  "failing", "future",
    "not_responding", "maintenance", "reboot_requested", "unknown", "inval", "invalid"};

// An integer JSON value; 0 for anything else or out of range (no conversion may overflow).
std::int64_t integer_of(const Json& value) {
  constexpr double kLimit = 9.0e18;
  if (value.is_number_unsigned()) {
    auto number = value.get<std::uint64_t>();
    return number > static_cast<std::uint64_t>(INT64_MAX) ? 0 : static_cast<std::int64_t>(number);
  }
  if (value.is_number_integer()) return value.get<std::int64_t>();
  if (value.is_number_float()) {
    double number = value.get<double>();
    return std::isfinite(number) && std::fabs(number) < kLimit ? static_cast<std::int64_t>(number)
                                                               : 0;
  }
  return 0;
}

// True only for a member that is JSON true: a cluster's answer may hold anything anywhere.
bool flag_of(const Json& object, const char* key) {
  auto found = object.find(key);
  return found != object.end() && found->is_boolean() && found->get<bool>();
}

// A number as 22.05 writes it (plain) or as 23.02+ does ({"set": true, "number": N}); 0 when
// absent, unset or infinite.
std::int64_t number_of(const Json& object, const char* key) {
  auto found = object.find(key);
  if (found == object.end()) return 0;
  if (found->is_number()) return integer_of(*found);
  if (found->is_object() && flag_of(*found, "set") && !flag_of(*found, "infinite")) {
    auto number = found->find("number");
    if (number != found->end()) return integer_of(*number);
  }
  return 0;
}

// A state as a string ("RUNNING", "idle") or a list of them (["RUNNING"], ["IDLE", "DRAIN"]).
std::vector<std::string> states_of(const Json& object, const char* key) {
  std::vector<std::string> states;
  auto found = object.find(key);
  if (found == object.end()) return states;
  if (found->is_string()) states.push_back(found->get<std::string>());
  if (found->is_array())
    for (const auto& item : *found)
      if (item.is_string()) states.push_back(item.get<std::string>());
  return states;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// A Unix time in seconds as milliseconds; 0 for none, or one no clock could show.
UnixMillis millis_of(const Json& object, const char* key) {
  constexpr std::int64_t kLatestSeconds = 1'000'000'000'000;
  std::int64_t seconds = number_of(object, key);
  return seconds > 0 && seconds < kLatestSeconds ? seconds * 1000 : 0;
}

// Parses Slurm's answer and checks its "errors" list.
Result<Json> parse_answer(std::string_view text, const char* what) {
  // Warnings may precede the document (the commands write both streams to one pipe here).
  auto start = text.find('{');
  if (start == std::string_view::npos)
    return make_error(ErrorCode::unavailable,
                      fmt::format("{} did not answer in JSON: {}", what, text.substr(0, 200)));
  Json document = Json::parse(text.substr(start), nullptr, false);
  if (document.is_discarded() || !document.is_object())
    return make_error(ErrorCode::unavailable, fmt::format("{} answered malformed JSON", what));
  auto errors = document.find("errors");
  if (errors != document.end() && errors->is_array() && !errors->empty()) {
    const Json& first = errors->front();
    std::string message = string_member(first, "error", first.dump());
    return make_error(ErrorCode::unavailable,
                      fmt::format("{} reports: {}", what, message.substr(0, 300)));
  }
  return document;
}

bool parse_int(std::string_view text, int& value) {
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc{} && end == text.data() + text.size();
}

// The first name of a host list: "gpu2" → gpu2, "gpu[03-04],cpu1" → gpu03. A session's job
// has one node; a longer list keeps its first.
std::string first_host(const std::string& list) {
  auto open = list.find('[');
  auto comma = list.find(',');
  if (open == std::string::npos || (comma != std::string::npos && comma < open))
    return list.substr(0, comma);
  auto end = list.find_first_of(",-]", open + 1);
  return list.substr(0, open) +
         list.substr(open + 1, end == std::string::npos ? end : end - open - 1);
}

SlurmJob job_of(const Json& item) {
  SlurmJob job;
  job.id = number_of(item, "job_id");
  job.name = string_member(item, "name");
  auto states = states_of(item, "job_state");
  if (!states.empty()) job.state = states.front();
  job.reason = string_member(item, "state_reason");
  job.user = string_member(item, "user_name");
  job.node = first_host(string_member(item, "nodes"));
  job.submitted_at = millis_of(item, "submit_time");
  // Slurm fills start_time and end_time with estimates while a job pends or runs.
  if (!job.pending()) job.started_at = millis_of(item, "start_time");
  if (job.finished()) job.ended_at = millis_of(item, "end_time");
  job.time_limit_minutes = number_of(item, "time_limit");
  auto detail = item.find("gres_detail");
  if (detail != item.end() && detail->is_array())
    for (const auto& gres : *detail)
      if (gres.is_string())
        parse_gres_detail(gres.get<std::string>(), job.gpu_type, job.gpu_indices);
  return job;
}

SlurmNode node_of(const Json& item) {
  SlurmNode node;
  node.name = string_member(item, "name");
  node.address = string_member(item, "address");
  for (auto& state : states_of(item, "state")) node.states.push_back(lower(state));
  for (auto& flag : states_of(item, "state_flags")) node.states.push_back(lower(flag));
  node.gres = parse_gres(string_member(item, "gres"));
  node.cpus = static_cast<int>(number_of(item, "cpus"));
  node.memory_mb = number_of(item, "real_memory");
  auto partitions = item.find("partitions");
  if (partitions != item.end() && partitions->is_array())
    for (const auto& partition : *partitions)
      if (partition.is_string()) node.partitions.push_back(partition.get<std::string>());
  return node;
}

}  // namespace

bool SlurmJob::finished() const {
  return !state.empty() &&
         std::find(kLiveStates.begin(), kLiveStates.end(), state) == kLiveStates.end();
}

bool SlurmNode::unusable() const {
  return std::any_of(states.begin(), states.end(), [](const std::string& state) {
    return std::find(kUnusableStates.begin(), kUnusableStates.end(), state) !=
           kUnusableStates.end();
  });
}

Result<std::vector<SlurmJob>> parse_jobs(std::string_view squeue_json) {
  auto document = parse_answer(squeue_json, "squeue");
  if (!document) return document.error();
  std::vector<SlurmJob> jobs;
  auto list = document->find("jobs");
  if (list == document->end() || !list->is_array())
    return make_error(ErrorCode::unavailable, "squeue's answer has no job list");
  for (const auto& item : *list)
    if (item.is_object()) jobs.push_back(job_of(item));
  return jobs;
}

Result<std::vector<SlurmNode>> parse_nodes(std::string_view sinfo_json) {
  auto document = parse_answer(sinfo_json, "sinfo");
  if (!document) return document.error();
  std::vector<SlurmNode> nodes;
  auto list = document->find("nodes");
  if (list == document->end() || !list->is_array())
    return make_error(ErrorCode::unavailable, "sinfo's answer has no node list");
  for (const auto& item : *list) {
    if (!item.is_object()) continue;
    SlurmNode node = node_of(item);
    // sinfo lists a node once per partition in some releases.
    bool seen = std::any_of(nodes.begin(), nodes.end(),
                            [&](const SlurmNode& other) { return other.name == node.name; });
    if (!seen && !node.name.empty()) nodes.push_back(std::move(node));
  }
  return nodes;
}

std::vector<SlurmGres> parse_gres(std::string_view text) {
  std::vector<SlurmGres> all;
  std::size_t depth = 0;
  std::size_t start = 0;
  // Split on commas outside parentheses: "gpu:a100:2(S:0-1),shard:8".
  for (std::size_t i = 0; i <= text.size(); ++i) {
    char c = i < text.size() ? text[i] : ',';
    if (c == '(') ++depth;
    if (c == ')' && depth > 0) --depth;
    if (c != ',' || depth > 0) continue;
    std::string_view item = text.substr(start, i - start);
    start = i + 1;
    item = item.substr(0, item.find('('));
    if (item.empty() || item == "(null)") continue;
    SlurmGres gres;
    auto first = item.find(':');
    gres.name = std::string(item.substr(0, first));
    if (first == std::string_view::npos) {
      gres.count = 1;
    } else {
      std::string_view rest = item.substr(first + 1);
      auto second = rest.find(':');
      std::string_view count = second == std::string_view::npos ? rest : rest.substr(second + 1);
      if (second != std::string_view::npos) gres.type = std::string(rest.substr(0, second));
      if (!parse_int(count, gres.count)) {
        // "gpu:a100" with no count means one.
        gres.type = std::string(rest);
        gres.count = 1;
      }
    }
    all.push_back(std::move(gres));
  }
  return all;
}

void parse_gres_detail(std::string_view text, std::string& type, std::vector<int>& indices) {
  auto open = text.find("(IDX:");
  std::string_view head = text.substr(0, open);
  auto gres = parse_gres(head);
  if (gres.empty() || (gres.front().name != "gpu" && gres.front().name != "shard")) return;
  // A shard's detail names no type ("shard:2(IDX:0)"); its IDX is still the GPU's.
  if (gres.front().name == "gpu") type = gres.front().type;
  if (open == std::string_view::npos) return;
  std::string_view list = text.substr(open + 5);
  list = list.substr(0, list.find(')'));
  while (!list.empty()) {
    std::string_view item = list.substr(0, list.find(','));
    list = item.size() < list.size() ? list.substr(item.size() + 1) : std::string_view{};
    auto dash = item.find('-');
    int low = 0;
    int high = 0;
    if (!parse_int(item.substr(0, dash), low)) continue;
    high = low;
    if (dash != std::string_view::npos && !parse_int(item.substr(dash + 1), high)) continue;
    for (std::int64_t index = low; index <= high && index - low < 1024; ++index)
      indices.push_back(static_cast<int>(index));
  }
}

}  // namespace gpupool::slurm
