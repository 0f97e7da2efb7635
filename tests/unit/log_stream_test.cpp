// The engine's framed container output, read back as the text the processes wrote.
#include <gtest/gtest.h>

#include "engine/docker_api/log_stream.hpp"

namespace gpupool::docker_api {
namespace {

std::string frame(char stream, const std::string& text) {
  std::string header = {stream, 0, 0, 0};
  auto length = static_cast<std::uint32_t>(text.size());
  for (int shift = 24; shift >= 0; shift -= 8)
    header += static_cast<char>((length >> shift) & 0xff);
  return header + text;
}

TEST(LogStream, FramesOfStdoutAndStderrAreJoinedInOrder) {
  EXPECT_EQ(demultiplexed_log(frame(1, "starting\n") + frame(2, "warning: slow\n") +
                              frame(1, std::string(300, 'a') + "\n")),
            "starting\nwarning: slow\n" + std::string(300, 'a') + "\n");
}

TEST(LogStream, ATtysUnframedOutputIsKeptAndACutFrameKeepsWhatArrived) {
  EXPECT_EQ(demultiplexed_log("plain output\n"), "plain output\n");
  EXPECT_EQ(demultiplexed_log(""), "");
  std::string cut = frame(1, "whole\n") + frame(2, "partial line that goes on");
  EXPECT_EQ(demultiplexed_log(cut.substr(0, cut.size() - 8)), "whole\npartial line that");
}

}  // namespace
}  // namespace gpupool::docker_api
