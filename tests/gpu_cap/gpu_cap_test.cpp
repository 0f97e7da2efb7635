// The GPU-memory cap against the stand-in driver: every interposed call through every way a
// program finds it, queries, two processes on one account, a process killed inside an
// allocation, a fork, missing settings, NVML. Each case runs cap_client with the cap
// preloaded (LD_PRELOAD here; /etc/ld.so.preload in sessions, the same loader step).
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace {

namespace fs = std::filesystem;

struct Child {
  pid_t pid = -1;
  int output = -1;  // its stdout and stderr
};

class GpuCap : public testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/gpu-cap-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    directory_ = pattern;
    write_settings(1024);
    std::ofstream(directory_ / "account").flush();  // as the session's init makes it: empty
  }
  void TearDown() override {
    for (const auto& child : children_) {
      kill(child.pid, SIGKILL);
      waitpid(child.pid, nullptr, 0);
      close(child.output);
    }
    fs::remove_all(directory_);
  }

  void write_settings(int limit_mb) {
    std::ofstream(directory_ / "gpu-cap.conf")
        << "limit_mb=" << limit_mb << "\naccount=" << (directory_ / "account").string() << "\n";
  }

  Child start(const std::vector<std::string>& arguments, const std::vector<std::string>& extra_env,
              const char* program = GPUCAP_CLIENT) {
    std::vector<std::string> env = {
        "PATH=/usr/bin:/bin",
        "LD_PRELOAD=" GPUCAP_LIBRARY,
        "LD_LIBRARY_PATH=" GPUCAP_DRIVER_DIR,
        "GPUPOOL_GPU_CAP_CONFIG=" + (directory_ / "gpu-cap.conf").string(),
    };
    env.insert(env.end(), extra_env.begin(), extra_env.end());
    std::vector<std::string> argv = {program};
    argv.insert(argv.end(), arguments.begin(), arguments.end());
    std::vector<char*> argv_pointers;
    for (auto& argument : argv) argv_pointers.push_back(argument.data());
    argv_pointers.push_back(nullptr);
    std::vector<char*> env_pointers;
    for (auto& entry : env) env_pointers.push_back(entry.data());
    env_pointers.push_back(nullptr);

    int pipe_ends[2];
    EXPECT_EQ(pipe2(pipe_ends, O_CLOEXEC), 0);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, pipe_ends[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, pipe_ends[1], STDERR_FILENO);
    Child child;
    EXPECT_EQ(posix_spawn(&child.pid, program, &actions, nullptr, argv_pointers.data(),
                          env_pointers.data()),
              0);
    posix_spawn_file_actions_destroy(&actions);
    close(pipe_ends[1]);
    child.output = pipe_ends[0];
    children_.push_back(child);
    return child;
  }

  // Reads the child's output up to and including a line that contains `text`.
  static std::string read_until(const Child& child, const std::string& text) {
    std::string output;
    char byte = 0;
    while (read(child.output, &byte, 1) == 1) {
      output += byte;
      if (byte == '\n' && output.find(text) != std::string::npos) break;
    }
    return output;
  }

  // Runs the client to its end; everything it printed.
  std::string run(const std::vector<std::string>& arguments,
                  const std::vector<std::string>& extra_env = {},
                  const char* program = GPUCAP_CLIENT) {
    Child child = start(arguments, extra_env, program);
    std::string output;
    char buffer[4096];
    ssize_t length = 0;
    while ((length = read(child.output, buffer, sizeof buffer)) > 0) output.append(buffer, length);
    int status = 0;
    waitpid(child.pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << output;
    return output;
  }

  fs::path directory_;
  std::vector<Child> children_;
};

// The client's lines, without the cap's own messages (stderr, mixed in).
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("gpupool: ")) lines.push_back(line);
  }
  return lines;
}

constexpr const char* kOutOfMemory = "error 2";  // CUDA_ERROR_OUT_OF_MEMORY

TEST_F(GpuCap, EveryAllocationCallIsRefusedPastTheShareAndFreesGiveItBack) {
  for (const char* via : {"procaddress", "procaddress-per-thread", "dlsym"}) {
    for (const char* kind :
         {"plain", "pitch", "managed", "async", "pool", "vmm", "array", "array3d", "mipmap"}) {
      std::string alloc = std::string("alloc:") + kind + ":600";
      auto output = run({"--via", via, alloc, alloc, "free-all", alloc, "free-all"});
      EXPECT_NE(output.find("gpupool: GPU memory allocation refused: it would exceed this "
                            "session's share of the GPU"),
                std::string::npos);
      auto lines = lines_of(output);
      ASSERT_EQ(lines.size(), 5u) << output;
      SCOPED_TRACE(std::string(via) + " " + kind);
      EXPECT_NE(lines[0].find(" ok"), std::string::npos) << output;
      EXPECT_NE(lines[1].find(kOutOfMemory), std::string::npos) << output;
      EXPECT_EQ(lines[2], "free-all ok");
      EXPECT_NE(lines[3].find(" ok"), std::string::npos) << output;
    }
  }
}

TEST_F(GpuCap, ProgramsLinkedToTheDriverAreCappedToo) {
  auto lines = lines_of(run({"alloc:plain:600", "alloc:plain:600", "free-all", "alloc:plain:600"},
                            {}, GPUCAP_CLIENT_LINKED));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "alloc plain 600 ok 0");
  EXPECT_EQ(lines[1], "alloc plain 600 error 2");
  EXPECT_EQ(lines[3], "alloc plain 600 ok 0");
}

TEST_F(GpuCap, PerThreadStreamVariantsAreCappedWhenFoundByName) {
  auto lines = lines_of(
      run({"--via", "dlsym", "alloc:async:600", "alloc:async:600"}, {"CAP_CLIENT_PTSZ=1"}));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1], "alloc async 600 error 2");
}

TEST_F(GpuCap, AMipmappedArrayCountsEveryLevel) {
  // 512 MiB at level 0, 64 MiB at level 1: 576 MiB of the 1024.
  auto lines = lines_of(run({"alloc:mipmap:512", "info", "free-all", "info"}));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[1], "info 0 free_mb=448 total_mb=1024");
  EXPECT_EQ(lines[3], "info 0 free_mb=1024 total_mb=1024");
}

TEST_F(GpuCap, HostMemoryIsNotTheGpusAndIsNotCounted) {
  auto lines = lines_of(run({"alloc:host-vmm:4000", "alloc:plain:1000"}));
  EXPECT_EQ(lines[0], "alloc host-vmm 4000 ok 0");
  EXPECT_EQ(lines[1], "alloc plain 1000 ok 0");
}

TEST_F(GpuCap, QueriesReportTheShareAsTheCard) {
  for (const char* via : {"procaddress", "dlsym"}) {
    auto lines = lines_of(run({"--via", via, "alloc:plain:256", "info", "info-null", "total"}));
    ASSERT_EQ(lines.size(), 4u);
    EXPECT_EQ(lines[1], "info 0 free_mb=768 total_mb=1024") << via;
    EXPECT_EQ(lines[2], "info-null 0 free_mb=0 total_mb=1024") << via;
    EXPECT_EQ(lines[3], "total 0 total_mb=1024") << via;
  }
}

TEST_F(GpuCap, ProcAddressHandsOutTheWrapperOfTheVariantTheDriverChose) {
  std::string cap = fs::path(GPUCAP_LIBRARY).filename().string();
  auto lines = lines_of(run({"where:cuMemAlloc/cuMemAlloc_v2", "where:cuInit/cuInit",
                             "where:cuGetProcAddress/cuGetProcAddress_v2"}));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "where " + cap + " cuMemAlloc_v2");
  EXPECT_EQ(lines[1], "where libcuda.so.1 cuInit");  // what the cap does not count is untouched
  EXPECT_EQ(lines[2], "where " + cap + " cuGetProcAddress_v2");
  lines = lines_of(run({"--via", "procaddress-per-thread", "where:cuMemAllocAsync/x",
                        "where:cuMemFreeAsync/x", "where:cuMemAlloc/x"}));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0], "where " + cap + " cuMemAllocAsync_ptsz");
  EXPECT_EQ(lines[1], "where " + cap + " cuMemFreeAsync_ptsz");
  EXPECT_EQ(lines[2], "where " + cap + " cuMemAlloc_v2");
}

TEST_F(GpuCap, DlsymWithRtldNextStillMeansAfterTheCaller) {
  // The cap's dlsym passes other lookups on as a tail call, so glibc still sees the program
  // as the caller: the next "dlsym" after the program is the cap's own.
  std::string cap = fs::path(GPUCAP_LIBRARY).filename().string();
  EXPECT_EQ(run({"next-dlsym"}), "next-dlsym " + cap + " dlsym\n");
}

TEST_F(GpuCap, TwoProcessesShareOneAccount) {
  Child holder = start({"alloc:plain:600", "hold"}, {});
  ASSERT_NE(read_until(holder, "holding").find("alloc plain 600 ok"), std::string::npos);
  auto lines = lines_of(run({"alloc:plain:600", "alloc:plain:400", "info"}));
  EXPECT_EQ(lines[0], "alloc plain 600 error 2");
  EXPECT_EQ(lines[1], "alloc plain 400 ok 0");
  EXPECT_EQ(lines[2], "info 0 free_mb=24 total_mb=1024");
  // The second process ended: its 400 are back; the holder's 600 are still held.
  EXPECT_EQ(lines_of(run({"info"}))[0], "info 0 free_mb=424 total_mb=1024");
}

TEST_F(GpuCap, AProcessKilledAfterItsAllocationGivesItsShareBack) {
  Child holder = start({"alloc:plain:800", "hold"}, {});
  read_until(holder, "holding");
  EXPECT_EQ(lines_of(run({"alloc:plain:800"}))[0], "alloc plain 800 error 2");
  kill(holder.pid, SIGKILL);
  waitpid(holder.pid, nullptr, 0);
  EXPECT_EQ(lines_of(run({"alloc:plain:800"}))[0], "alloc plain 800 ok 0");
}

TEST_F(GpuCap, AProcessKilledInsideTheDriverGivesItsReservationBack) {
  // The stand-in driver waits 30 s inside the allocation: the share is reserved, the call
  // has not returned.
  Child stuck = start({"alloc:plain:800"}, {"FAKE_CUDA_DELAY_MS=30000"});
  std::string info;
  for (int attempt = 0; attempt < 200; ++attempt) {
    info = lines_of(run({"info"}))[0];
    if (info == "info 0 free_mb=224 total_mb=1024") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(info, "info 0 free_mb=224 total_mb=1024");
  kill(stuck.pid, SIGKILL);
  waitpid(stuck.pid, nullptr, 0);
  EXPECT_EQ(lines_of(run({"alloc:plain:800"}))[0], "alloc plain 800 ok 0");
}

TEST_F(GpuCap, AForkedChildCountsAgainstTheSameShare) {
  auto lines = lines_of(run({"alloc:plain:600", "fork:600", "fork:400", "free-all", "info"}));
  ASSERT_EQ(lines.size(), 5u);
  EXPECT_EQ(lines[1], "child alloc 600 error");
  EXPECT_EQ(lines[2], "child alloc 400 ok");
  EXPECT_EQ(lines[3], "free-all ok");
  EXPECT_EQ(lines[4], "info 0 free_mb=1024 total_mb=1024");  // the child's exit gave its 400 back
}

TEST_F(GpuCap, WithoutItsSettingsTheCapRefusesEveryAllocation) {
  fs::remove(directory_ / "gpu-cap.conf");
  auto output = run({"alloc:plain:1", "alloc:host-vmm:1"});
  EXPECT_NE(output.find("the GPU-memory cap's settings or account are missing"), std::string::npos);
  EXPECT_NE(output.find("alloc plain 1 error 2"), std::string::npos);
  EXPECT_NE(output.find("alloc host-vmm 1 ok"), std::string::npos);
}

TEST_F(GpuCap, TheEnvironmentCannotWidenTheShare) {
  // The limit is the settings file's; variables a user might try change nothing.
  auto lines = lines_of(run({"alloc:plain:2000"}, {"GPUPOOL_GPU_MEMORY_LIMIT_MB=100000",
                                                   "CUDA_DEVICE_MEMORY_LIMIT=80g"}));
  EXPECT_EQ(lines[0], "alloc plain 2000 error 2");
}

TEST_F(GpuCap, NvmlReportsTheShareAsTheCard) {
  auto lines = lines_of(run({std::string("nvml:") + GPUCAP_FAKE_NVML}));
  EXPECT_EQ(lines[0], "nvml 0 total_mb=1024 free_mb=1024 used_mb=0");
}

}  // namespace
