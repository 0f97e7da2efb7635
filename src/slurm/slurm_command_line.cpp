#include "slurm/slurm_command_line.hpp"

#include <pwd.h>

#include <array>
#include <charconv>

#include <fmt/format.h>

#include "core/command.hpp"
#include "slurm/job_script.hpp"
#include "slurm/slurm_json.hpp"

namespace gpupool::slurm {

namespace {

// A large cluster's squeue --json runs to megabytes (22.05 ignores filters with --json).
constexpr std::size_t kMaxJsonOutput = 256 * 1024 * 1024;

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

Result<CommandResult> run_slurm(const std::vector<std::string>& argv, const std::string& input = "",
                                std::size_t max_output = kDefaultMaxCommandOutput) {
  auto result = run_command_up_to(argv, input, max_output);
  if (!result) return result.error();
  if (result->exit_code != 0 && argv.front() != "sbatch")
    return make_error(ErrorCode::unavailable,
                      fmt::format("{} failed: {}", argv.front(), trimmed(result->output)));
  return result;
}

struct Account {
  int uid = 0;
  int gid = 0;
};

// The account's ids as this host knows them (the site's directory, as on every node).
Result<Account> account_of(const std::string& user) {
  passwd entry{};
  passwd* found = nullptr;
  std::array<char, 16384> buffer{};
  if (getpwnam_r(user.c_str(), &entry, buffer.data(), buffer.size(), &found) != 0 || !found)
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("there is no Unix account named {} for Slurm to run the session "
                                  "as (docs/slurm.md: users and homes)",
                                  user));
  if (found->pw_uid == 0) return make_error(ErrorCode::forbidden, "sessions never run as root");
  return Account{static_cast<int>(found->pw_uid), static_cast<int>(found->pw_gid)};
}

// The hook makes the account; then it is looked up like any other.
Result<Account> account_made_by(const AccountHook& hook, const JobRequest& request) {
  // The directory's uid where it has one: the same identity as in gpupool's containers.
  std::string uid = std::to_string(request.directory_uid != 0 ? request.directory_uid
                                                              : hook.uid_base + request.owner_id);
  auto made = run_command({"timeout", "60", hook.program, request.user, uid, request.home});
  if (!made) return made.error();
  if (made->exit_code != 0)
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("the account hook could not make an account for {}: {}",
                                  request.user, trimmed(made->output)));
  return account_of(request.user);
}

}  // namespace

Result<std::int64_t> SlurmCommandLine::submit(const JobRequest& request) {
  auto account = account_of(request.user);
  if (!account && account.error().code == ErrorCode::invalid_argument && !hook_.program.empty())
    account = account_made_by(hook_, request);
  if (!account) return account.error();
  if (request.directory_uid != 0 && account->uid != request.directory_uid) {
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("the Unix account {} has uid {} on this host, but the directory "
                                  "gives {} uid {}: the cluster's accounts and the directory "
                                  "disagree, and the session would run as someone else "
                                  "(docs/slurm.md: users and homes)",
                                  request.user, account->uid, request.user, request.directory_uid));
  }
  auto result = run_slurm(sbatch_arguments(request, account->uid, account->gid), request.script);
  if (!result) return result.error();
  std::string output = trimmed(result->output);
  if (result->exit_code != 0)
    return make_error(ErrorCode::invalid_argument,
                      fmt::format("Slurm refused the job: {}", output));
  // --parsable: "<id>" or "<id>;<cluster>" on the last line, after any warnings.
  std::string last =
      output.substr(output.rfind('\n') == std::string::npos ? 0 : output.rfind('\n') + 1);
  last = last.substr(0, last.find(';'));
  std::int64_t id = 0;
  auto [end, error] = std::from_chars(last.data(), last.data() + last.size(), id);
  if (error != std::errc{} || end != last.data() + last.size() || id <= 0)
    return make_error(ErrorCode::unavailable, fmt::format("sbatch answered no job id: {}", output));
  return id;
}

Result<std::vector<SlurmJob>> SlurmCommandLine::jobs() {
  auto result = run_slurm({"squeue", "--all", "--json"}, "", kMaxJsonOutput);
  if (!result) return result.error();
  auto all = parse_jobs(result->output);
  if (!all) return all.error();
  std::vector<SlurmJob> ours;
  for (auto& job : *all)
    if (job.name.starts_with(kJobNamePrefix)) ours.push_back(std::move(job));
  return ours;
}

Result<std::vector<SlurmNode>> SlurmCommandLine::nodes() {
  auto result = run_slurm({"sinfo", "--json"}, "", kMaxJsonOutput);
  if (!result) return result.error();
  return parse_nodes(result->output);
}

Status SlurmCommandLine::cancel(std::int64_t job_id) {
  auto result = run_slurm({"scancel", std::to_string(job_id)});
  if (!result) return result.error();
  return {};
}

}  // namespace gpupool::slurm
