#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "core/random.hpp"
#include "services/session_passes.hpp"

namespace gpupool::testing {
namespace {

TEST(SessionPasses, ATicketWorksOnceForItsSessionWithinAMinute) {
  init_crypto();
  ManualClock clock(1'800'000'000'000);
  services::SessionPasses passes(clock);
  auto ticket = passes.issue_ticket("login-digest", "s1");
  EXPECT_FALSE(passes.redeem(ticket, "s2")) << "another session";
  EXPECT_FALSE(passes.redeem(ticket, "s1")) << "a ticket tried once is spent";

  auto late = passes.issue_ticket("login-digest", "s1");
  clock.advance(services::kTicketLifetimeMillis);
  EXPECT_FALSE(passes.redeem(late, "s1")) << "too old";

  auto fresh = passes.issue_ticket("login-digest", "s1");
  auto pass = passes.redeem(fresh, "s1");
  ASSERT_TRUE(pass);
  EXPECT_NE(*pass, fresh);
  EXPECT_EQ(passes.credential_for(*pass, "s1"), "login-digest");
  EXPECT_EQ(passes.credential_for(*pass, "s2"), std::nullopt);
  EXPECT_EQ(passes.credential_for("forged", "s1"), std::nullopt);
  EXPECT_EQ(passes.credential_for(fresh, "s1"), std::nullopt) << "a ticket is no pass";
  EXPECT_FALSE(passes.redeem("", "s1"));
  EXPECT_FALSE(passes.redeem(std::string(1000, 'x'), "s1"));
}

}  // namespace
}  // namespace gpupool::testing
