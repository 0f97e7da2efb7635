#include <gtest/gtest.h>

#include "gateway/connection_gate.hpp"

namespace gpupool::gateway {
namespace {

TEST(ConnectionGate, CapsEachSourceAndTheTotalAndFreesPlacesAsTheyAreGivenUp) {
  ConnectionGate gate({4, 2, [](const std::string& address) { return address == "10.0.0.9"; }});
  auto a1 = gate.admit("10.0.0.1");
  auto a2 = gate.admit("10.0.0.1");
  EXPECT_TRUE(a1 && a2);
  EXPECT_EQ(gate.admit("10.0.0.1"), nullptr) << "its source's cap";
  auto b1 = gate.admit("10.0.0.2");
  auto proxy = gate.admit("10.0.0.9");
  EXPECT_TRUE(b1 && proxy);
  EXPECT_EQ(gate.open(), 4u);
  EXPECT_EQ(gate.admit("10.0.0.9"), nullptr) << "the total holds even for a trusted proxy";
  a1.reset();
  EXPECT_EQ(gate.open(), 3u);
  EXPECT_NE(gate.admit("10.0.0.1"), nullptr) << "a place given up is free again";
}

TEST(ConnectionGate, AnAdmissionMayOutliveItsGate) {
  Admission kept;
  {
    ConnectionGate gate({1, 1, {}});
    kept = gate.admit("10.0.0.1");
  }
  kept.reset();  // must not touch the gate that is gone
}

TEST(UserSlots, EachUserHasTheirOwnAllowance) {
  UserSlots slots(2);
  auto a = slots.take("alice");
  auto b = slots.take("alice");
  EXPECT_EQ(slots.take("alice"), nullptr);
  EXPECT_NE(slots.take("bob"), nullptr);
  EXPECT_EQ(slots.held("alice"), 2u);
  b.reset();
  EXPECT_EQ(slots.held("alice"), 1u);
  EXPECT_NE(slots.take("alice"), nullptr);
  EXPECT_EQ(UserSlots(0).take("alice"), nullptr);
}

}  // namespace
}  // namespace gpupool::gateway
