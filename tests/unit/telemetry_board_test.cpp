#include <gtest/gtest.h>

#include "services/telemetry_board.hpp"

namespace gpupool::services {
namespace {

TEST(TelemetryBoard, KeepsOnlyEachNodesLatestReadingsAndMovesItsVersion) {
  TelemetryBoard board;
  EXPECT_TRUE(board.snapshot().empty());
  auto before = board.version();
  board.record("node-a", {{0, 10}}, 1000);
  board.record("node-b", {{0, 20}, {1, 30}}, 1100);
  board.record("node-a", {{0, 90}}, 2000);
  EXPECT_EQ(board.version(), before + 3);
  auto snapshot = board.snapshot();
  ASSERT_EQ(snapshot.size(), 2u);
  EXPECT_EQ(snapshot["node-a"].read_at, 2000);
  ASSERT_EQ(snapshot["node-a"].gpus.size(), 1u);
  EXPECT_EQ(snapshot["node-a"].gpus[0].utilization_percent, 90);
  EXPECT_EQ(snapshot["node-b"].gpus.size(), 2u);
}

TEST(TelemetryBoard, AnEmptyReportClearsTheNodesFigures) {
  TelemetryBoard board;
  board.record("node-a", {{0, 10}}, 1000);
  board.record("node-a", {}, 2000);  // the probe could not read this time
  EXPECT_TRUE(board.snapshot()["node-a"].gpus.empty());
}

}  // namespace
}  // namespace gpupool::services
