// Reading Slurm's JSON: squeue and sinfo as Slurm 22.05 writes them (fields as captured from
// Debian 12's slurmctld) and as 23.02 and later do (states as lists, numbers as objects).
#include <gtest/gtest.h>

#include "slurm/slurm_json.hpp"

namespace gpupool::slurm {
namespace {

constexpr const char* kSqueue2205 = R"json({
  "meta": {"plugin": {"type": "openapi/v0.0.38"}, "Slurm": {"release": "22.05.8"}},
  "errors": [],
  "jobs": [
    {"job_id": 8, "name": "gpupool-sa", "job_state": "RUNNING", "state_reason": "None",
     "user_name": "ada", "user_id": 42101, "nodes": "gpu2", "submit_time": 1796516730,
     "start_time": 1796516731, "end_time": 1796520331, "time_limit": 60,
     "gres_detail": ["gpu:a100:2(IDX:0-1)"], "partition": "gpu"},
    {"job_id": 9, "name": "gpupool-sb", "job_state": "PENDING", "state_reason": "Resources",
     "user_name": "ada", "nodes": "", "submit_time": 1796516740, "start_time": 1796520331,
     "end_time": 1796523931, "time_limit": null, "gres_detail": [], "partition": "gpu"},
    {"job_id": 5, "name": "gpupool-sc", "job_state": "TIMEOUT", "state_reason": "TimeLimit",
     "user_name": "bob", "nodes": "gpu1", "submit_time": 1796516700, "start_time": 1796516701,
     "end_time": 1796516763, "time_limit": 1, "gres_detail": ["gpu:a100:1(IDX:1)"]}
  ]
})json";

constexpr const char* kSqueue2311 = R"json({
  "jobs": [
    {"job_id": 12, "name": "gpupool-sd", "job_state": ["RUNNING"], "state_reason": "None",
     "user_name": "ada", "nodes": "gpu[3-4]",
     "submit_time": {"set": true, "infinite": false, "number": 1796516730},
     "start_time": {"set": true, "infinite": false, "number": 1796516731},
     "end_time": {"set": true, "infinite": false, "number": 1796520331},
     "time_limit": {"set": true, "infinite": false, "number": 90},
     "gres_detail": ["gpu:h100:2(IDX:0,2)"]},
    {"job_id": 13, "name": "gpupool-se", "job_state": ["PENDING"], "state_reason": "QOSMaxGRESPerUser",
     "time_limit": {"set": false, "infinite": true, "number": 0}}
  ],
  "errors": []
})json";

TEST(SlurmJson, ReadsJobsAsSlurm2205WritesThem) {
  auto jobs = parse_jobs(kSqueue2205);
  ASSERT_TRUE(jobs.ok()) << jobs.error().message;
  ASSERT_EQ(jobs->size(), 3u);
  const SlurmJob& running = (*jobs)[0];
  EXPECT_EQ(running.id, 8);
  EXPECT_EQ(running.name, "gpupool-sa");
  EXPECT_TRUE(running.running());
  EXPECT_FALSE(running.finished());
  EXPECT_EQ(running.user, "ada");
  EXPECT_EQ(running.node, "gpu2");
  EXPECT_EQ(running.started_at, 1796516731000);
  EXPECT_EQ(running.ended_at, 0) << "a running job's end_time is Slurm's estimate";
  EXPECT_EQ(running.time_limit_minutes, 60);
  EXPECT_EQ(running.gpu_type, "a100");
  EXPECT_EQ(running.gpu_indices, (std::vector<int>{0, 1}));

  const SlurmJob& pending = (*jobs)[1];
  EXPECT_TRUE(pending.pending());
  EXPECT_EQ(pending.reason, "Resources");
  EXPECT_EQ(pending.started_at, 0) << "a pending job's start_time is an estimate";
  EXPECT_EQ(pending.time_limit_minutes, 0);
  EXPECT_TRUE(pending.node.empty());

  const SlurmJob& timed_out = (*jobs)[2];
  EXPECT_TRUE(timed_out.finished());
  EXPECT_EQ(timed_out.ended_at - timed_out.started_at, 62'000);
}

TEST(SlurmJson, ReadsJobsAsNewerReleasesWriteThem) {
  auto jobs = parse_jobs(kSqueue2311);
  ASSERT_TRUE(jobs.ok()) << jobs.error().message;
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[0].state, "RUNNING");
  EXPECT_EQ((*jobs)[0].node, "gpu3") << "a node list keeps its first name";
  EXPECT_EQ((*jobs)[0].started_at, 1796516731000);
  EXPECT_EQ((*jobs)[0].time_limit_minutes, 90);
  EXPECT_EQ((*jobs)[0].gpu_type, "h100");
  EXPECT_EQ((*jobs)[0].gpu_indices, (std::vector<int>{0, 2}));
  EXPECT_EQ((*jobs)[1].reason, "QOSMaxGRESPerUser");
  EXPECT_EQ((*jobs)[1].time_limit_minutes, 0) << "infinite is no limit";
}

TEST(SlurmJson, SlurmsErrorsAndGarbageAreUnavailableNotCrashes) {
  auto refused = parse_jobs(
      R"json({"errors": [{"error": "Unable to contact slurm controller"}], "jobs": []})json");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::unavailable);
  EXPECT_NE(refused.error().message.find("Unable to contact"), std::string::npos);
  for (const char* text :
       {"", "squeue: error: Invalid user", "{", "[1, 2]", R"json({"jobs": 3})json",
        R"json({"jobs": [1, "x", null, {"job_id": "seven", "job_state": 4}]})json",
        // Members of the wrong type where 23.02+ nests numbers and errors.
        R"json({"jobs": [{"job_id": {"set": 0, "number": 5}, "time_limit": {"set": true,
          "infinite": "no", "number": 9}}]})json",
        R"json({"errors": [{"error": 17}], "jobs": []})json"}) {
    auto jobs = parse_jobs(text);
    if (jobs.ok()) {
      for (const auto& job : *jobs) EXPECT_EQ(job.id, 0) << text;
    } else {
      EXPECT_EQ(jobs.error().code, ErrorCode::unavailable) << text;
    }
  }
  // Numbers no clock or id could be are none, not an overflow.
  auto absurd = parse_jobs(R"json({"jobs": [{"job_id": 1e300, "start_time": 9223372036854775807,
    "end_time": 18446744073709551615, "time_limit": -1e300, "job_state": "TIMEOUT",
    "gres_detail": ["gpu:a100:2(IDX:2147483646-2147483647)"]}]})json");
  ASSERT_TRUE(absurd.ok());
  ASSERT_EQ(absurd->size(), 1u);
  EXPECT_EQ((*absurd)[0].id, 0);
  EXPECT_EQ((*absurd)[0].started_at, 0);
  EXPECT_EQ((*absurd)[0].ended_at, 0);
  EXPECT_EQ((*absurd)[0].gpu_indices, (std::vector<int>{2147483646, 2147483647}));
  // Warnings before the document are skipped.
  auto warned = parse_jobs(std::string("squeue: warning: something\n") + kSqueue2205);
  ASSERT_TRUE(warned.ok());
  EXPECT_EQ(warned->size(), 3u);
}

TEST(SlurmJson, ReadsNodesWithTheirGpusAndStates) {
  auto nodes = parse_nodes(R"json({"errors": [], "nodes": [
    {"name": "gpu1", "address": "10.0.0.11", "state": "idle", "state_flags": [],
     "gres": "gpu:a100:2", "cpus": 64, "real_memory": 512000, "partitions": ["gpu"]},
    {"name": "gpu2", "address": "10.0.0.12", "state": "mixed", "state_flags": ["DRAIN"],
     "gres": "gpu:a100:4(S:0-1),shard:a100:16", "cpus": 64, "real_memory": 512000,
     "partitions": ["gpu", "long"]},
    {"name": "gpu2", "address": "10.0.0.12", "state": "mixed", "partitions": ["long"]},
    {"name": "cpu1", "state": ["IDLE"], "gres": "", "cpus": {"set": true, "number": 32}}
  ]})json");
  ASSERT_TRUE(nodes.ok()) << nodes.error().message;
  ASSERT_EQ(nodes->size(), 3u) << "a node listed once per partition counts once";
  EXPECT_EQ((*nodes)[0].address, "10.0.0.11");
  EXPECT_FALSE((*nodes)[0].unusable());
  ASSERT_EQ((*nodes)[0].gres.size(), 1u);
  EXPECT_EQ((*nodes)[0].gres[0].type, "a100");
  EXPECT_EQ((*nodes)[0].gres[0].count, 2);
  EXPECT_TRUE((*nodes)[1].unusable()) << "drained";
  ASSERT_EQ((*nodes)[1].gres.size(), 2u);
  EXPECT_EQ((*nodes)[1].gres[1].name, "shard");
  EXPECT_EQ((*nodes)[1].gres[1].count, 16);
  EXPECT_EQ((*nodes)[2].states, std::vector<std::string>{"idle"});
  EXPECT_EQ((*nodes)[2].cpus, 32);
  EXPECT_TRUE((*nodes)[2].gres.empty());
}

TEST(SlurmJson, GresStrings) {
  auto untyped = parse_gres("gpu:3");
  ASSERT_EQ(untyped.size(), 1u);
  EXPECT_EQ(untyped[0].type, "");
  EXPECT_EQ(untyped[0].count, 3);
  EXPECT_TRUE(parse_gres("(null)").empty());
  auto typed_one = parse_gres("gpu:a100");
  ASSERT_EQ(typed_one.size(), 1u);
  EXPECT_EQ(typed_one[0].type, "a100");
  EXPECT_EQ(typed_one[0].count, 1);

  std::string type;
  std::vector<int> indices;
  parse_gres_detail("gpu:a100:4(IDX:0,2-3,7)", type, indices);
  EXPECT_EQ(type, "a100");
  EXPECT_EQ(indices, (std::vector<int>{0, 2, 3, 7}));
  indices.clear();
  // Shards as 22.05's squeue lists them: the IDX is the GPU they are on.
  type = "a100";
  parse_gres_detail("shard:3(IDX:1)", type, indices);
  EXPECT_EQ(indices, (std::vector<int>{1}));
  EXPECT_EQ(type, "a100") << "a shard's detail names no type";
  indices.clear();
  parse_gres_detail("shard:a100:2(2/4,0/4)", type, indices);
  EXPECT_TRUE(indices.empty()) << "no IDX, no GPU";
  parse_gres_detail("mps:100(IDX:0)", type, indices);
  EXPECT_TRUE(indices.empty()) << "only gpu and shard hold GPUs";
  parse_gres_detail("gpu:1(IDX:N/A)", type, indices);
  EXPECT_TRUE(indices.empty());
}

}  // namespace
}  // namespace gpupool::slurm
