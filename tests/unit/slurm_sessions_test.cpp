// Sessions run as Slurm jobs: the pure rules (slurm_lifecycle.hpp), the batch job's arguments
// and script, and the backend's passes against a fake Slurm on the service's in-memory store.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "agent/session_container.hpp"
#include "auth/password.hpp"
#include "core/random.hpp"
#include "services/session_service.hpp"
#include "services/slurm_backend.hpp"
#include "services/slurm_lifecycle.hpp"
#include "slurm/job_script.hpp"
#include "slurm/slurm_command_line.hpp"
#include "test_store.hpp"

namespace gpupool {
namespace {

using services::SlurmJobFacts;
using slurm::SlurmJob;

constexpr UnixMillis kNow = 1'800'000'000'000;

Session session_in(SessionState state) {
  Session session;
  session.id = "s1";
  session.state = state;
  session.request.gpus = 1;
  return session;
}

SlurmJob job_in(const std::string& state) {
  SlurmJob job;
  job.id = 41;
  job.name = "gpupool-s1";
  job.state = state;
  job.node = "gpu2";
  if (state != "PENDING") {
    job.started_at = kNow - 90'000;
    job.gpu_indices = {1};
  }
  if (job.finished()) job.ended_at = kNow - 1'000;
  return job;
}

TEST(SlurmLifecycle, AQueuedSessionWithoutAJobIsSubmittedOnce) {
  auto fresh = services::after_slurm_job(session_in(SessionState::queued), {nullptr, false, kNow});
  EXPECT_TRUE(fresh.submit);
  EXPECT_FALSE(fresh.changed);
  // Submitted, yet Slurm lists no job: it is gone (the controller forgot it), not resubmitted.
  auto lost = services::after_slurm_job(session_in(SessionState::queued), {nullptr, true, kNow});
  EXPECT_FALSE(lost.submit);
  EXPECT_TRUE(lost.ended);
  EXPECT_EQ(lost.session.end_reason, EndReason::failed);
}

TEST(SlurmLifecycle, APendingJobGivesSlurmsReason) {
  SlurmJob job = job_in("PENDING");
  job.reason = "QOSMaxGRESPerUser";
  auto step = services::after_slurm_job(session_in(SessionState::queued), {&job, true, kNow});
  EXPECT_TRUE(step.changed);
  EXPECT_EQ(step.session.state, SessionState::queued);
  ASSERT_TRUE(step.session.queue_reason);
  EXPECT_EQ(step.session.queue_reason->code, QueueReasonCode::slurm_pending);
  EXPECT_EQ(step.session.queue_reason->slurm_reason, "QOSMaxGRESPerUser");
  EXPECT_EQ(step.session.reason,
            "waiting in Slurm's queue: your QOS's limit of GPUs per user is reached: it waits for "
            "one of your jobs to end");
  // The same again changes nothing.
  auto again = services::after_slurm_job(step.session, {&job, true, kNow + 1000});
  EXPECT_FALSE(again.changed);
}

TEST(SlurmLifecycle, ARunningJobStartsTheSessionOnItsNodeAndGpus) {
  SlurmJob job = job_in("RUNNING");
  auto step = services::after_slurm_job(session_in(SessionState::queued), {&job, true, kNow});
  EXPECT_TRUE(step.started);
  EXPECT_EQ(step.session.state, SessionState::starting);
  EXPECT_EQ(step.session.node, "gpu2");
  EXPECT_EQ(step.session.gpu_indices, std::vector<int>{1});
  EXPECT_FALSE(step.session.queue_reason);
  // Running until the job itself reports; nothing more to do meanwhile.
  auto waiting = services::after_slurm_job(step.session, {&job, true, kNow});
  EXPECT_FALSE(waiting.changed);
  EXPECT_FALSE(waiting.cancel);
}

TEST(SlurmLifecycle, AnEndedJobEndsItsSessionForItsReasonBilledForItsOwnTimes) {
  const std::map<std::string, EndReason> reasons = {
      {"TIMEOUT", EndReason::time_limit},   {"CANCELLED", EndReason::admin_stopped},
      {"NODE_FAIL", EndReason::node_lost},  {"PREEMPTED", EndReason::preempted},
      {"OUT_OF_MEMORY", EndReason::failed}, {"COMPLETED", EndReason::failed},
      {"FAILED", EndReason::failed},        {"BOOT_FAIL", EndReason::node_lost},
  };
  for (const auto& [state, reason] : reasons) {
    SlurmJob job = job_in(state);
    Session running = session_in(SessionState::running);
    running.started_at = kNow - 80'000;  // when Jupyter answered, later than the job's start
    auto step = services::after_slurm_job(running, {&job, true, kNow});
    EXPECT_TRUE(step.ended) << state;
    EXPECT_EQ(step.session.end_reason, reason) << state;
    EXPECT_EQ(step.session.started_at, job.started_at) << state;
    EXPECT_EQ(step.session.ended_at, job.ended_at) << state;
    EXPECT_FALSE(step.session.reason.empty()) << state;
  }
}

TEST(SlurmLifecycle, AStoppingSessionsJobIsCancelledThenItEndsForItsOwnReason) {
  Session stopping = session_in(SessionState::stopping);
  stopping.end_reason = EndReason::balance_exhausted;
  stopping.reason = "the prepaid balance ran out";
  SlurmJob job = job_in("RUNNING");
  auto step = services::after_slurm_job(stopping, {&job, true, kNow});
  EXPECT_TRUE(step.cancel);
  EXPECT_FALSE(step.ended);
  SlurmJob cancelled = job_in("CANCELLED");
  auto ended = services::after_slurm_job(stopping, {&cancelled, true, kNow});
  EXPECT_TRUE(ended.ended);
  EXPECT_EQ(ended.session.end_reason, EndReason::balance_exhausted);
  EXPECT_EQ(ended.session.ended_at, cancelled.ended_at);
  // An ended session's job that still runs is cancelled too.
  auto leftover = services::after_slurm_job(session_in(SessionState::ended), {&job, true, kNow});
  EXPECT_TRUE(leftover.cancel);
  EXPECT_FALSE(leftover.changed);
}

TEST(SlurmJobScript, SbatchGetsTheRequestAsTheUsersAccountWithNoServerEnvironment) {
  slurm::JobRequest request;
  request.name = "gpupool-s1";
  request.gpu_type = "a100";
  request.gpus = 2;
  request.cpus = 1.5;
  request.memory_mb = 2048;
  request.time_limit_minutes = 90;
  request.qos = "interactive";
  request.log_path = "/scratch/gpupool-%j.log";
  auto argv = slurm::sbatch_arguments(request, 42101, 42100);
  auto has = [&](const std::string& argument) {
    return std::find(argv.begin(), argv.end(), argument) != argv.end();
  };
  EXPECT_EQ(argv.front(), "sbatch");
  for (const char* expected :
       {"--uid=42101", "--gid=42100", "--export=NONE", "--no-requeue", "--gres=gpu:a100:2",
        "--cpus-per-task=2", "--mem=2048M", "--time=90", "--qos=interactive",
        "--job-name=gpupool-s1", "--output=/scratch/gpupool-%j.log", "--parsable"})
    EXPECT_TRUE(has(expected)) << expected;
  EXPECT_FALSE(std::any_of(argv.begin(), argv.end(),
                           [](const std::string& arg) { return arg.starts_with("--partition"); }));
  request.gpus = 0;
  argv = slurm::sbatch_arguments(request, 42101, 42100);
  EXPECT_FALSE(std::any_of(argv.begin(), argv.end(),
                           [](const std::string& arg) { return arg.starts_with("--gres"); }));
  request.shards = 3;
  argv = slurm::sbatch_arguments(request, 42101, 42100);
  EXPECT_TRUE(has("--gres=shard:a100:3"));
}

TEST(SlurmJobScript, ValuesReachTheScriptExactlyWhateverTheyHold) {
  slurm::SessionJobValues values;
  values.session_id = "s1";
  values.user = "ada";
  values.authorized_keys = "ssh-ed25519 AAAA it's $(rm -rf ~) `x` \"q\"\nsecond line";
  values.ready_secret = "secret'; echo owned; '";
  auto script = slurm::session_job_script(values);
  ASSERT_TRUE(script.ok());
  // The header, run by bash, gives back each value as it was.
  std::string header = script->substr(0, script->find("#!/bin/bash", 1));
  header += "printf '%s|%s' \"$GPUPOOL_AUTHORIZED_KEYS\" \"$GPUPOOL_READY_SECRET\"\n";
  FILE* bash = popen(("bash -c " + slurm::shell_quote(header)).c_str(), "r");
  ASSERT_NE(bash, nullptr);
  std::string output;
  char buffer[256];
  while (std::fgets(buffer, sizeof buffer, bash) != nullptr) output += buffer;
  EXPECT_EQ(pclose(bash), 0);
  EXPECT_EQ(output, values.authorized_keys + "|" + values.ready_secret);
  EXPECT_NE(script->find(slurm::session_job_body()), std::string::npos);
  values.user = std::string("a\0b", 3);
  EXPECT_FALSE(slurm::session_job_script(values).ok());
}

TEST(SlurmAccounts, ADirectoryUidTheHostsAccountDoesNotShareIsRefusedBeforeSbatch) {
  // "nobody" exists on every Debian host, with uid 65534: not the directory's 7001.
  slurm::JobRequest request;
  request.user = "nobody";
  request.directory_uid = 7001;
  slurm::SlurmCommandLine slurm;
  auto submitted = slurm.submit(request);
  ASSERT_FALSE(submitted.ok());
  EXPECT_EQ(submitted.error().code, ErrorCode::invalid_argument);
  EXPECT_NE(submitted.error().message.find("has uid 65534 on this host, but the directory gives "
                                           "nobody uid 7001"),
            std::string::npos)
      << submitted.error().message;
}

TEST(SlurmAccounts, TheAccountHookMakesADirectoryUsersAccountWithTheDirectorysUid) {
  char directory[] = "/tmp/gpupool-hook-XXXXXX";
  ASSERT_NE(mkdtemp(directory), nullptr);
  std::string hook = std::string(directory) + "/hook";
  std::string seen = std::string(directory) + "/arguments";
  {
    std::FILE* script = std::fopen(hook.c_str(), "w");
    ASSERT_NE(script, nullptr);
    // It records its arguments and makes no account: submit then says why.
    std::fprintf(script, "#!/bin/sh\necho \"$@\" > %s\nexit 1\n", seen.c_str());
    std::fclose(script);
    ASSERT_EQ(chmod(hook.c_str(), 0755), 0);
  }
  auto arguments = [&] {
    std::ifstream file(seen);
    return std::string(std::istreambuf_iterator<char>(file), {});
  };
  slurm::JobRequest request;
  request.user = "gpupool-test-nobody-here";
  request.owner_id = 5;
  request.home = "/home/gpupool-test-nobody-here";
  request.directory_uid = 7001;
  EXPECT_FALSE(slurm::SlurmCommandLine({hook, 100000}).submit(request).ok());
  request.directory_uid = 0;
  std::string with_directory = arguments();
  EXPECT_FALSE(slurm::SlurmCommandLine({hook, 100000}).submit(request).ok());
  std::string without = arguments();
  EXPECT_EQ(with_directory, "gpupool-test-nobody-here 7001 /home/gpupool-test-nobody-here\n");
  EXPECT_EQ(without, "gpupool-test-nobody-here 100005 /home/gpupool-test-nobody-here\n");
  std::filesystem::remove_all(directory);
}

TEST(SlurmJobScript, ItsSshdHasTheSamePolicyAsAnAgentsSessions) {
  // Both scripts take it from one file at build time (cmake/embed_text.cmake).
  for (const std::string* script : {&slurm::session_job_body(), &agent::session_init_script()}) {
    EXPECT_EQ(script->find("#@include"), std::string::npos);
    for (const char* line :
         {"\nPermitRootLogin no\n", "\nPasswordAuthentication no\n",
          "\nAuthenticationMethods publickey\n", "\nPermitUserEnvironment no\n",
          "\nPermitOpen localhost:* 127.0.0.1:*\n", "\nSubsystem sftp internal-sftp\nCONFIG\n"})
      EXPECT_NE(script->find(line), std::string::npos) << line;
  }
}

// A Slurm that records what it is asked and answers what the test sets.
class FakeSlurm final : public slurm::SlurmClient {
 public:
  Result<std::int64_t> submit(const slurm::JobRequest& request) override {
    if (refuse) return make_error(ErrorCode::invalid_argument, "Slurm refused the job: no way");
    submitted.push_back(request);
    return next_id++;
  }
  Result<std::vector<SlurmJob>> jobs() override { return listed; }
  Result<std::vector<slurm::SlurmNode>> nodes() override {
    if (down)
      return make_error(ErrorCode::unavailable,
                        "squeue: error: Unable to contact slurm controller");
    return cluster;
  }
  Status cancel(std::int64_t job_id) override {
    cancelled.push_back(job_id);
    return {};
  }

  std::vector<slurm::JobRequest> submitted;
  std::vector<SlurmJob> listed;
  std::vector<std::int64_t> cancelled;
  std::vector<slurm::SlurmNode> cluster = {
      {"gpu1", "10.0.0.11", {"idle"}, {{"gpu", "a100", 2}}, 64, 512000, {"gpu"}},
      {"gpu2", "10.0.0.12", {"mixed"}, {{"gpu", "a100", 2}}, 64, 512000, {"gpu"}},
      {"cpu1", "10.0.0.13", {"idle"}, {}, 64, 512000, {"cpu"}},
  };
  std::int64_t next_id = 100;
  bool refuse = false;
  bool down = false;
};

class SlurmBackendTest : public ::testing::Test {
 protected:
  SlurmBackendTest() : clock_(kNow) {
    init_crypto();
    services::SessionSettings settings;
    settings.slurm = true;
    settings.prepaid = false;
    sessions_ = std::make_unique<services::SessionService>(*store_, clock_, settings);
    EXPECT_TRUE(store_
                    ->upsert_image({"pytorch1.13-cpu-debian12-runtime", "gpupool/session:test",
                                    "pytorch", "1.13", "", "", "runtime", true, "available"})
                    .ok());
    ada_ = *store_->create_user("ada", *auth::hash_password("password-ada"), false, kNow);
    use(backend_settings());
  }

  static services::SlurmBackendSettings backend_settings() {
    services::SlurmBackendSettings backend;
    backend.partition = "gpu";
    backend.gpu_models = {{"a100", "A100-80GB"}};
    backend.group_qos = {{"lab", "interactive"}};
    backend.images_dir = "/srv/images";
    backend.ready_url = "https://gpupool.example/api/v1/slurm/ready";
    return backend;
  }

  void use(const services::SlurmBackendSettings& backend) {
    backend_ = std::make_unique<services::SlurmBackend>(*sessions_, *store_, slurm_, backend);
    EXPECT_TRUE(backend_->pass().ok());  // the pool comes from Slurm's nodes
  }

  Session request(int gpus) {
    SessionRequest request;
    request.gpus = gpus;
    request.gpu_model = "A100-80GB";
    auto session = sessions_->request_session(ada_, request);
    EXPECT_TRUE(session.ok()) << session.error().message;
    return *session;
  }

  Session fetch(const std::string& id) { return **store_->get_session(id); }

  // The job's secret, as its script carries it.
  static std::string secret_of(const slurm::JobRequest& request) {
    std::smatch found;
    EXPECT_TRUE(
        std::regex_search(request.script, found, std::regex("GPUPOOL_READY_SECRET='([0-9a-f]+)'")));
    return found[1];
  }

  // A session whose job Slurm started (the session is starting), with its job's secret.
  std::pair<Session, std::string> starting_session() {
    Session session = request(1);
    EXPECT_TRUE(backend_->pass().ok());
    std::string secret = secret_of(slurm_.submitted.back());
    slurm_.listed = {job_for(session, "RUNNING")};
    EXPECT_TRUE(backend_->pass().ok());
    return {session, secret};
  }

  SlurmJob job_for(const Session& session, const std::string& state) {
    SlurmJob job;
    auto recorded = store_->find_batch_job(session.id);
    job.id = recorded.ok() && recorded->has_value() ? (*recorded)->job_id : 100;
    job.name = "gpupool-" + session.id;
    job.state = state;
    job.user = "ada";
    if (state != "PENDING") {
      job.node = "gpu2";
      job.started_at = clock_.now();
      job.gpu_indices = {1};
      job.gpu_type = "a100";
    }
    return job;
  }

  ManualClock clock_;
  testing::TestStore store_;
  std::unique_ptr<services::SessionService> sessions_;
  FakeSlurm slurm_;
  std::unique_ptr<services::SlurmBackend> backend_;
  User ada_;
};

TEST_F(SlurmBackendTest, ThePoolIsSlurmsNodesOfThePartition) {
  auto nodes = store_->list_nodes();
  ASSERT_TRUE(nodes.ok());
  ASSERT_EQ(nodes->size(), 2u) << "cpu1 is not in the partition";
  EXPECT_EQ((*nodes)[0].name, "gpu1");
  EXPECT_EQ((*nodes)[0].address, "10.0.0.11");
  ASSERT_EQ((*nodes)[0].gpus.size(), 2u);
  EXPECT_EQ((*nodes)[0].gpus[1].model, "A100-80GB");
}

TEST_F(SlurmBackendTest, ARequestBecomesAJobOfItsUserWithASecretOnlyItsScriptHolds) {
  Session session = request(2);
  auto passed = backend_->pass();
  ASSERT_TRUE(passed.ok());
  EXPECT_EQ(*passed, 1) << "one job submitted";
  ASSERT_EQ(slurm_.submitted.size(), 1u);
  const slurm::JobRequest& job = slurm_.submitted[0];
  EXPECT_EQ(job.name, "gpupool-" + session.id);
  EXPECT_EQ(job.user, "ada");
  EXPECT_EQ(job.owner_id, ada_.id) << "an account the hook makes gets a uid from it";
  EXPECT_EQ(job.directory_uid, 0) << "ada's uid is gpupool's own";
  EXPECT_EQ(job.home, "/home/ada");
  EXPECT_EQ(job.partition, "gpu");
  EXPECT_EQ(job.qos, "") << "ada is in no group with a QOS";
  EXPECT_EQ(job.gpu_type, "a100") << "the model as Slurm's GRES type";
  EXPECT_EQ(job.gpus, 2);
  EXPECT_NE(job.script.find("GPUPOOL_ROOTFS='/srv/images/pytorch1.13-cpu-debian12-runtime'"),
            std::string::npos);
  EXPECT_NE(job.script.find("GPUPOOL_TOKEN='" + session.jupyter_token + "'"), std::string::npos);
  auto recorded = store_->find_batch_job(session.id);
  ASSERT_TRUE(recorded.ok() && recorded->has_value());
  EXPECT_EQ((*recorded)->job_id, 100);
  EXPECT_EQ((*recorded)->secret_hash, digest_hex(secret_of(job))) << "only its hash is stored";
  // Listed as pending, it is not submitted again.
  slurm_.listed = {job_for(session, "PENDING")};
  slurm_.listed[0].reason = "Priority";
  ASSERT_TRUE(backend_->pass().ok());
  EXPECT_EQ(slurm_.submitted.size(), 1u);
  EXPECT_EQ(fetch(session.id).queue_reason->slurm_reason, "Priority");
}

TEST_F(SlurmBackendTest, AShareAsksForItsPartOfTheGpuInShardsAndCarriesItsCap) {
  auto backend = backend_settings();
  backend.gpu_memory_mb = 80 * 1024;
  backend.shards_per_gpu = 8;
  backend.gpu_cap_library = "/opt/gpupool/lib/libgpupool_gpu_cap.so";
  use(backend);
  SessionRequest share;
  share.gpu_memory_mb = 25 * 1024;
  share.gpu_model = "A100-80GB";
  auto session = sessions_->request_session(ada_, share);
  ASSERT_TRUE(session.ok()) << session.error().message;
  ASSERT_TRUE(backend_->pass().ok());
  ASSERT_EQ(slurm_.submitted.size(), 1u);
  const slurm::JobRequest& job = slurm_.submitted[0];
  EXPECT_EQ(job.gpus, 0);
  EXPECT_EQ(job.shards, 3) << "25 of 80 GB is 2.5 shards of 8, rounded up";
  EXPECT_EQ(job.gpu_type, "a100");
  EXPECT_NE(job.script.find("GPUPOOL_GPU_MEMORY_LIMIT_MB='25600'"), std::string::npos);
  EXPECT_NE(job.script.find("GPUPOOL_GPU_CAP='/opt/gpupool/lib/libgpupool_gpu_cap.so'"),
            std::string::npos);
  EXPECT_EQ(*backend_->shards_for(1), 1) << "at least one shard";
  EXPECT_EQ(*backend_->shards_for(80 * 1024), 8);
  // Running, it holds the GPU its shards are on, and is billed for its part of it.
  slurm_.listed = {job_for(*session, "RUNNING")};
  ASSERT_TRUE(backend_->pass().ok());
  EXPECT_EQ(fetch(session->id).gpu_indices, std::vector<int>{1});
}

TEST_F(SlurmBackendTest, AShareOnAClusterWithoutShardsEndsSayingSo) {
  auto backend = backend_settings();
  backend.gpu_memory_mb = 80 * 1024;  // known, but no shards configured
  use(backend);
  SessionRequest share;
  share.gpu_memory_mb = 10 * 1024;
  auto session = sessions_->request_session(ada_, share);
  ASSERT_TRUE(session.ok()) << session.error().message;
  ASSERT_TRUE(backend_->pass().ok());
  EXPECT_TRUE(slurm_.submitted.empty()) << "never a job without its GPU";
  Session ended = fetch(session->id);
  EXPECT_EQ(ended.state, SessionState::ended);
  EXPECT_NE(ended.reason.find("whole GPUs only"), std::string::npos) << ended.reason;
}

TEST_F(SlurmBackendTest, AJobGetsTheQosOfItsOwnersGroup) {
  auto lab = store_->create_group("lab", kNow);
  ASSERT_TRUE(lab.ok());
  ASSERT_TRUE(store_->set_group_members(lab->id, {ada_.id}).ok());
  request(1);
  ASSERT_TRUE(backend_->pass().ok());
  ASSERT_EQ(slurm_.submitted.size(), 1u);
  EXPECT_EQ(slurm_.submitted[0].qos, "interactive");
}

TEST_F(SlurmBackendTest, ADirectoryUsersJobCarriesTheDirectorysUid) {
  ASSERT_TRUE(
      store_->set_user_identity(ada_.id, {AccountSource::ldap, "uid=ada,dc=example", 7001, 7001})
          .ok());
  request(1);
  ASSERT_TRUE(backend_->pass().ok());
  ASSERT_EQ(slurm_.submitted.size(), 1u);
  EXPECT_EQ(slurm_.submitted[0].directory_uid, 7001);
}

TEST_F(SlurmBackendTest, TheJobsReportWithItsSecretMakesTheSessionRun) {
  auto [session, secret] = starting_session();
  EXPECT_EQ(fetch(session.id).state, SessionState::starting);
  EXPECT_EQ(fetch(session.id).node, "gpu2");
  EXPECT_EQ(fetch(session.id).billed_gpu_model, "A100-80GB");

  services::SlurmEndpoint endpoint{28001, 28002, ""};
  for (const std::string& wrong :
       {std::string(), std::string("0"), secret + "0", session.jupyter_token}) {
    auto refused = sessions_->slurm_ready(session.id, wrong, endpoint);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::unauthorized);
  }
  EXPECT_EQ(sessions_->slurm_ready("s-unknown", secret, endpoint).error().code,
            ErrorCode::unauthorized);
  EXPECT_EQ(sessions_->slurm_ready(session.id, secret, {80, 0, ""}).error().code,
            ErrorCode::invalid_argument);
  EXPECT_EQ(sessions_->slurm_ready(session.id, secret, {28001, 0, "not a key"}).error().code,
            ErrorCode::invalid_argument);
  auto ready = sessions_->slurm_ready(session.id, secret, endpoint);
  ASSERT_TRUE(ready.ok()) << ready.error().message;
  EXPECT_EQ(fetch(session.id).state, SessionState::running);
  EXPECT_EQ(fetch(session.id).jupyter_port, 28001);
  // Once running, a second report changes nothing.
  EXPECT_EQ(sessions_->slurm_ready(session.id, secret, {29000, 0, ""}).error().code,
            ErrorCode::conflict);
  EXPECT_EQ(fetch(session.id).jupyter_port, 28001);
}

TEST_F(SlurmBackendTest, AJobThatCannotStartItsSessionLeavesItsOutputAsTheStartLog) {
  auto [session, secret] = starting_session();
  EXPECT_EQ(sessions_->slurm_start_failure(session.id, secret + "0", "x").error().code,
            ErrorCode::unauthorized);
  EXPECT_EQ(sessions_->slurm_start_failure("s-unknown", secret, "x").error().code,
            ErrorCode::unauthorized);
  // Any bytes, kept as the UTF-8 end of what was sent.
  std::string log = std::string(40 * 1024, 'a') + "\xff" + "gpupool: it stopped\n";
  ASSERT_TRUE(sessions_->slurm_start_failure(session.id, secret, log).ok());
  auto kept = store_->start_log(session.id);
  ASSERT_TRUE(kept.ok());
  EXPECT_LE(kept->size(), kMaxStartLogBytes);
  EXPECT_TRUE(kept->ends_with("\xef\xbf\xbdgpupool: it stopped\n"))
      << kept->substr(kept->size() - 40);

  ASSERT_TRUE(sessions_->slurm_ready(session.id, secret, {28001, 0, ""}).ok());
  EXPECT_EQ(sessions_->slurm_start_failure(session.id, secret, "late").error().code,
            ErrorCode::conflict)
      << "a running session did start";
}

TEST_F(SlurmBackendTest, AJobsActivityReportsWarnThenReclaimAnUnusedSession) {
  auto [session, secret] = starting_session();
  SessionActivity unused;
  unused.cpu_cores = 0.0;
  unused.ssh_connections = 0;
  EXPECT_EQ(sessions_->slurm_activity(session.id, secret, unused).error().code, ErrorCode::conflict)
      << "not running yet";
  ASSERT_TRUE(sessions_->slurm_ready(session.id, secret, {28001, 0, ""}).ok());
  for (const std::string& wrong : {std::string(), secret + "0", session.jupyter_token})
    EXPECT_EQ(sessions_->slurm_activity(session.id, wrong, unused).error().code,
              ErrorCode::unauthorized);

  // The default policy: warned after 2 hours unused, reclaimed 15 minutes later.
  ASSERT_TRUE(sessions_->slurm_activity(session.id, secret, unused).ok());
  clock_.advance(2 * 3600 * 1000 + 1000);
  ASSERT_TRUE(sessions_->slurm_activity(session.id, secret, unused).ok());
  EXPECT_GT(fetch(session.id).idle_warned_at, 0) << "warned";
  // Used again (an SSH login), the warning is withdrawn; unused again, the window restarts.
  SessionActivity used = unused;
  used.ssh_connections = 1;
  clock_.advance(60 * 1000);
  ASSERT_TRUE(sessions_->slurm_activity(session.id, secret, used).ok());
  EXPECT_EQ(fetch(session.id).idle_warned_at, 0);
  clock_.advance(2 * 3600 * 1000 + 1000);
  ASSERT_TRUE(sessions_->slurm_activity(session.id, secret, unused).ok());
  clock_.advance(15 * 60 * 1000 + 1000);
  auto reclaimed = sessions_->slurm_activity(session.id, secret, unused);
  ASSERT_TRUE(reclaimed.ok());
  EXPECT_EQ(reclaimed->state, SessionState::stopping);
  EXPECT_EQ(reclaimed->end_reason, EndReason::idle_reclaimed);
  // Slurm is then told to end its job, and the session ends when the job has.
  ASSERT_TRUE(backend_->pass().ok());
  EXPECT_EQ(slurm_.cancelled, std::vector<std::int64_t>{100});
  SlurmJob cancelled = job_for(session, "CANCELLED");
  cancelled.ended_at = clock_.now();
  slurm_.listed = {cancelled};
  ASSERT_TRUE(backend_->pass().ok());
  EXPECT_EQ(fetch(session.id).state, SessionState::ended);
  EXPECT_EQ(fetch(session.id).end_reason, EndReason::idle_reclaimed);
}

TEST_F(SlurmBackendTest, AnEndedJobIsChargedOnceForSlurmsElapsedTime) {
  ASSERT_TRUE(store_->set_price({"A100-80GB", 3600 * kMicrosPerCredit, kNow}).ok());  // 1 a second
  Session session = request(1);
  ASSERT_TRUE(backend_->pass().ok());
  SlurmJob job = job_for(session, "RUNNING");
  slurm_.listed = {job};
  ASSERT_TRUE(backend_->pass().ok());
  ASSERT_TRUE(
      sessions_->slurm_ready(session.id, secret_of(slurm_.submitted.at(0)), {28001, 0, ""}).ok());
  clock_.advance(100'000);
  job.state = "TIMEOUT";
  job.ended_at = job.started_at + 90'000;  // Slurm's record, not when gpupool looked
  slurm_.listed = {job};
  ASSERT_TRUE(backend_->pass().ok());
  ASSERT_TRUE(backend_->pass().ok());
  Session ended = fetch(session.id);
  EXPECT_EQ(ended.state, SessionState::ended);
  EXPECT_EQ(ended.end_reason, EndReason::time_limit);
  EXPECT_EQ(*store_->ledger_sum(ada_.id), -90 * kMicrosPerCredit);
}

TEST_F(SlurmBackendTest, StoppedSessionsLoseTheirJobs) {
  Session queued = request(1);
  Session running = request(1);
  ASSERT_TRUE(backend_->pass().ok());
  ASSERT_EQ(slurm_.submitted.size(), 2u);
  SlurmJob pending = job_for(queued, "PENDING");
  SlurmJob started = job_for(running, "RUNNING");
  slurm_.listed = {pending, started};
  ASSERT_TRUE(backend_->pass().ok());
  ASSERT_TRUE(sessions_->stop_session(ada_, queued.id).ok());
  ASSERT_TRUE(sessions_->stop_session(ada_, running.id).ok());
  ASSERT_TRUE(backend_->pass().ok());
  std::sort(slurm_.cancelled.begin(), slurm_.cancelled.end());
  EXPECT_EQ(slurm_.cancelled, (std::vector<std::int64_t>{100, 101}));
  EXPECT_EQ(fetch(queued.id).state, SessionState::ended);
  EXPECT_EQ(fetch(running.id).state, SessionState::stopping) << "until Slurm has ended its job";
  started.state = "CANCELLED";
  started.ended_at = clock_.now();
  pending.state = "CANCELLED";
  slurm_.listed = {pending, started};
  ASSERT_TRUE(backend_->pass().ok());
  EXPECT_EQ(fetch(running.id).state, SessionState::ended);
  EXPECT_EQ(fetch(running.id).end_reason, EndReason::user_stopped);
}

TEST_F(SlurmBackendTest, AJobNobodyRecordedIsCancelledAndTheSessionGetsItsOwn) {
  Session session = request(1);
  SlurmJob stray = job_for(session, "PENDING");
  stray.id = 77;  // sbatch answered, then the server stopped before it wrote the id down
  slurm_.listed = {stray};
  ASSERT_TRUE(backend_->pass().ok());
  EXPECT_EQ(slurm_.cancelled, std::vector<std::int64_t>{77});
  EXPECT_EQ(slurm_.submitted.size(), 1u);
}

TEST_F(SlurmBackendTest, AnotherUsersJobUnderASessionsNameChangesNothing) {
  Session session = request(1);
  ASSERT_TRUE(backend_->pass().ok());
  SlurmJob own = job_for(session, "RUNNING");
  SlurmJob foreign = job_for(session, "PENDING");
  foreign.id = 900;  // newer than the session's own
  foreign.user = "mallory";
  slurm_.listed = {own, foreign};
  ASSERT_TRUE(backend_->pass().ok());
  EXPECT_EQ(fetch(session.id).state, SessionState::starting);
  EXPECT_TRUE(slurm_.cancelled.empty()) << "nobody's job is cancelled";
  ASSERT_TRUE(sessions_->stop_session(ada_, session.id).ok());
  ASSERT_TRUE(backend_->pass().ok());
  EXPECT_EQ(slurm_.cancelled, std::vector<std::int64_t>{own.id});
  // Not yet submitted, a session is not fooled either: it gets its own job.
  Session fresh = request(1);
  SlurmJob decoy = job_for(fresh, "RUNNING");
  decoy.id = 901;
  decoy.user = "mallory";
  slurm_.listed = {decoy};
  slurm_.cancelled.clear();
  ASSERT_TRUE(backend_->pass().ok());
  EXPECT_TRUE(slurm_.cancelled.empty());
  EXPECT_EQ(slurm_.submitted.size(), 2u);
  EXPECT_EQ(fetch(fresh.id).state, SessionState::queued);
}

TEST_F(SlurmBackendTest, SlurmsRefusalEndsTheRequestWithItsWords) {
  slurm_.refuse = true;
  Session session = request(1);
  ASSERT_TRUE(backend_->pass().ok());
  EXPECT_EQ(fetch(session.id).state, SessionState::ended);
  EXPECT_EQ(fetch(session.id).end_reason, EndReason::failed);
  EXPECT_EQ(fetch(session.id).reason, "Slurm refused the job: no way");
}

TEST_F(SlurmBackendTest, AnUnreachableSlurmChangesNothing) {
  Session session = request(1);
  ASSERT_TRUE(backend_->pass().ok());
  slurm_.listed = {job_for(session, "RUNNING")};
  ASSERT_TRUE(backend_->pass().ok());
  slurm_.down = true;
  slurm_.listed = {};
  EXPECT_EQ(backend_->pass().error().code, ErrorCode::unavailable);
  EXPECT_EQ(fetch(session.id).state, SessionState::starting);
  clock_.advance(3'600'000);
  EXPECT_TRUE(sessions_->end_sessions_of_silent_nodes().ok());
  EXPECT_EQ(fetch(session.id).state, SessionState::starting) << "Slurm, not silence, ends jobs";
}

}  // namespace
}  // namespace gpupool
