// Login limits that slow guessing but cannot be used to lock anyone out.
#include <gtest/gtest.h>

#include "gateway/client_address.hpp"
#include "services/login_limiter.hpp"

namespace gpupool::services {
namespace {

constexpr UnixMillis kNow = 1'000'000'000;

TEST(LoginLimiter, WrongPasswordsFromOneSourceNeverRefuseAnotherSource) {
  LoginLimiter limiter;
  for (int i = 0; i < 200; ++i) limiter.record_failure("admin", "203.0.113.66", kNow);
  EXPECT_GT(limiter.wait_before_attempt("admin", "203.0.113.66", kNow), 0);
  EXPECT_EQ(limiter.wait_before_attempt("admin", "192.0.2.10", kNow), 0)
      << "the admin, from their own desk, signs in";
}

TEST(LoginLimiter, EachFailurePastTheFreeOnesDoublesTheWaitUpToACap) {
  LoginLimiter limiter;
  for (int i = 0; i < 4; ++i) limiter.record_failure("alice", "192.0.2.1", kNow);
  EXPECT_EQ(limiter.wait_before_attempt("alice", "192.0.2.1", kNow), 0) << "a few typos are free";
  limiter.record_failure("alice", "192.0.2.1", kNow);
  EXPECT_EQ(limiter.wait_before_attempt("alice", "192.0.2.1", kNow), 1000);
  EXPECT_EQ(limiter.wait_before_attempt("alice", "192.0.2.1", kNow + 400), 600);
  EXPECT_EQ(limiter.wait_before_attempt("alice", "192.0.2.1", kNow + 1000), 0);
  limiter.record_failure("alice", "192.0.2.1", kNow + 1000);
  EXPECT_EQ(limiter.wait_before_attempt("alice", "192.0.2.1", kNow + 1000), 2000);
  limiter.record_failure("alice", "192.0.2.1", kNow + 3000);
  EXPECT_EQ(limiter.wait_before_attempt("alice", "192.0.2.1", kNow + 3000), 4000);
  for (int i = 0; i < 40; ++i) limiter.record_failure("alice", "192.0.2.1", kNow + 5000);
  EXPECT_EQ(limiter.wait_before_attempt("alice", "192.0.2.1", kNow + 5000), 15 * 60 * 1000);
}

TEST(LoginLimiter, ASourceTryingManyUsersIsSlowedForAllOfThem) {
  LoginLimiter limiter;
  for (int i = 0; i < 30; ++i)
    limiter.record_failure("user" + std::to_string(i), "198.51.100.9", kNow);
  EXPECT_GT(limiter.wait_before_attempt("someone-new", "198.51.100.9", kNow), 0);
  EXPECT_EQ(limiter.wait_before_attempt("someone-new", "198.51.100.10", kNow), 0);
}

TEST(LoginLimiter, ASuccessClearsItsOwnPairButNotTheSource) {
  LoginLimiter limiter;
  for (int i = 0; i < 30; ++i) limiter.record_failure("victim", "198.51.100.9", kNow);
  // The guesser signs in to an account of their own from the same address.
  limiter.record_success("mallory", "198.51.100.9");
  EXPECT_GT(limiter.wait_before_attempt("victim", "198.51.100.9", kNow), 0);
  EXPECT_GT(limiter.wait_before_attempt("mallory", "198.51.100.9", kNow), 0)
      << "the source is still slowed";
  LoginLimiter typos;
  for (int i = 0; i < 5; ++i) typos.record_failure("alice", "192.0.2.1", kNow);
  typos.record_success("alice", "192.0.2.1");
  typos.record_failure("alice", "192.0.2.1", kNow);
  EXPECT_EQ(typos.wait_before_attempt("alice", "192.0.2.1", kNow), 0);
}

TEST(LoginLimiter, FloodingCannotResetTheCountsThatHoldSomeoneBack) {
  LoginLimits limits;
  limits.max_entries = 50;
  LoginLimiter limiter(limits);
  for (int i = 0; i < 8; ++i) limiter.record_failure("admin", "203.0.113.66", kNow);
  UnixMillis held = limiter.wait_before_attempt("admin", "203.0.113.66", kNow + 1);
  ASSERT_GT(held, 0);
  for (int i = 0; i < 1000; ++i)
    limiter.record_failure("u" + std::to_string(i),
                           "10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250),
                           kNow + 1);
  EXPECT_LE(limiter.tracked(), 50u) << "memory stays bounded";
  EXPECT_EQ(limiter.wait_before_attempt("admin", "203.0.113.66", kNow + 1), held);
}

TEST(LoginLimiter, AnHourWithoutFailuresForgets) {
  LoginLimiter limiter;
  for (int i = 0; i < 10; ++i) limiter.record_failure("alice", "192.0.2.1", kNow);
  UnixMillis later = kNow + 61 * 60 * 1000;
  EXPECT_EQ(limiter.wait_before_attempt("alice", "192.0.2.1", later), 0);
  limiter.record_failure("alice", "192.0.2.1", later);
  EXPECT_EQ(limiter.wait_before_attempt("alice", "192.0.2.1", later), 0) << "counting afresh";
}

TEST(ClientAddress, IsThePeerUnlessThePeerIsATrustedProxy) {
  std::vector<Ipv4Block> trusted = {*parse_ipv4_block("10.0.0.0/24")};
  EXPECT_EQ(gateway::client_address("198.51.100.7", "1.2.3.4", trusted), "198.51.100.7")
      << "an untrusted peer's header is its own invention";
  EXPECT_EQ(gateway::client_address("198.51.100.7", "1.2.3.4", {}), "198.51.100.7");
  EXPECT_EQ(gateway::client_address("10.0.0.5", "198.51.100.7", trusted), "198.51.100.7");
  EXPECT_EQ(gateway::client_address("::ffff:10.0.0.5", "198.51.100.7", trusted), "198.51.100.7");
  // The client wrote a header of its own; the proxy appended what it saw: the right-most
  // untrusted hop is the client.
  EXPECT_EQ(gateway::client_address("10.0.0.5", "1.2.3.4, 198.51.100.7", trusted), "198.51.100.7");
  // Two trusted proxies in a row.
  EXPECT_EQ(gateway::client_address("10.0.0.5", "198.51.100.7, 10.0.0.9", trusted), "198.51.100.7");
  EXPECT_EQ(gateway::client_address("10.0.0.5", "2001:db8::1", trusted), "2001:db8::1");
  EXPECT_EQ(gateway::client_address("10.0.0.5", "", trusted), "10.0.0.5");
  EXPECT_EQ(gateway::client_address("10.0.0.5", "<script>, 198.51.100.7", trusted), "198.51.100.7");
  EXPECT_EQ(gateway::client_address("10.0.0.5", "garbage", trusted), "10.0.0.5")
      << "what is not an address is not believed";
}

}  // namespace
}  // namespace gpupool::services
