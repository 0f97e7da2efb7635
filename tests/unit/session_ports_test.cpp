#include "services/session_ports.hpp"

#include <gtest/gtest.h>

#include <set>

namespace gpupool::services {
namespace {

TEST(SessionPorts,
     ASessionKeepsItsPortAndAnEndedSessionsPortIsGivenAgainLeastRecentlyEnteredFirst) {
  SessionPorts ports({9003, 9001, 9002});
  std::set<std::string> open = {"a", "b", "c"};
  auto is_open = [&](const std::string& id) { return open.count(id) > 0; };
  EXPECT_TRUE(ports.is_session_port(9002));
  EXPECT_FALSE(ports.is_session_port(8080));
  auto a = ports.assign("a", is_open);
  auto b = ports.assign("b", is_open);
  auto c = ports.assign("c", is_open);
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ((std::set<std::uint16_t>{*a, *b, *c}), (std::set<std::uint16_t>{9001, 9002, 9003}));
  EXPECT_EQ(ports.assign("a", is_open), a) << "entered again: the same port";
  EXPECT_EQ(ports.session_at(*b), "b");
  EXPECT_EQ(ports.session_at(8080), "");
  EXPECT_EQ(ports.assign("d", is_open), std::nullopt) << "every port serves an open session";

  open.erase("a");
  open.erase("b");
  open.insert({"d", "e"});
  // b was entered longer ago than a (a was entered again), so b's port goes first.
  EXPECT_EQ(ports.assign("d", is_open), b);
  EXPECT_EQ(ports.session_at(*b), "d");
  EXPECT_EQ(ports.assign("e", is_open), a);
  EXPECT_EQ(ports.assign("f", is_open), std::nullopt);
}

}  // namespace
}  // namespace gpupool::services
