#include "core/command.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

extern char** environ;

namespace gpupool {

namespace {

// A pipe whose ends close themselves; both are close-on-exec in the parent.
struct Pipe {
  std::array<int, 2> ends{-1, -1};
  Pipe() {
    if (pipe2(ends.data(), O_CLOEXEC) != 0) ends = {-1, -1};
  }
  ~Pipe() {
    close_end(0);
    close_end(1);
  }
  Pipe(const Pipe&) = delete;
  Pipe& operator=(const Pipe&) = delete;
  bool ok() const { return ends[0] >= 0; }
  void close_end(int which) {
    if (ends[which] >= 0) ::close(ends[which]);
    ends[which] = -1;
  }
};

// Feeds `input` and drains the output at once, so neither side can fill a pipe and wait.
void exchange(Pipe& in, Pipe& out, const std::string& input, std::string& output,
              std::size_t max_output) {
  std::size_t written = 0;
  if (input.empty()) in.close_end(1);
  while (out.ends[0] >= 0) {
    std::array<pollfd, 2> fds{pollfd{out.ends[0], POLLIN, 0}, pollfd{in.ends[1], POLLOUT, 0}};
    nfds_t count = in.ends[1] >= 0 ? 2 : 1;
    if (::poll(fds.data(), count, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (count == 2 && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP)) != 0) {
      auto sent = ::write(in.ends[1], input.data() + written, input.size() - written);
      if (sent > 0) written += static_cast<std::size_t>(sent);
      bool failed = sent < 0 && errno != EAGAIN && errno != EINTR;
      if (failed || written == input.size()) in.close_end(1);
    }
    if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
      std::array<char, 4096> buffer{};
      auto got = ::read(out.ends[0], buffer.data(), buffer.size());
      if (got <= 0) {
        out.close_end(0);
      } else if (output.size() < max_output) {
        output.append(buffer.data(), std::min<std::size_t>(static_cast<std::size_t>(got),
                                                           max_output - output.size()));
      }
    }
  }
}

}  // namespace

Result<CommandResult> run_command(const std::vector<std::string>& argv, const std::string& input) {
  return run_command_up_to(argv, input, kDefaultMaxCommandOutput);
}

Result<CommandResult> run_command_up_to(const std::vector<std::string>& argv,
                                        const std::string& input, std::size_t max_output) {
  if (argv.empty()) return make_error(ErrorCode::invalid_argument, "no program to run");
  Pipe in;
  Pipe out;
  if (!in.ok() || !out.ok())
    return make_error(ErrorCode::unavailable, fmt::format("pipe: {}", std::strerror(errno)));

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in.ends[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.ends[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out.ends[1], STDERR_FILENO);
  std::vector<char*> args;
  for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t child = 0;
  int spawned = posix_spawnp(&child, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawned != 0)
    return make_error(ErrorCode::unavailable,
                      fmt::format("cannot run {}: {}", argv[0], std::strerror(spawned)));
  in.close_end(0);
  out.close_end(1);
  // Partial writes, so that a child busy writing its output never blocks us mid-input.
  ::fcntl(in.ends[1], F_SETFL, ::fcntl(in.ends[1], F_GETFL) | O_NONBLOCK);

  // A program that exits before reading its input must not kill us with SIGPIPE.
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  sigset_t previous;
  pthread_sigmask(SIG_BLOCK, &pipe_signal, &previous);
  CommandResult result;
  exchange(in, out, input, result.output, max_output);
  in.close_end(1);
  timespec no_wait{};
  while (sigtimedwait(&pipe_signal, nullptr, &no_wait) > 0) {
  }
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);

  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

}  // namespace gpupool
