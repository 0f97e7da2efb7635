#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api_fixture.hpp"

namespace gpupool::testing {
namespace {

using nlohmann::json;

TEST_F(Api, AdminsSetPricesEveryoneReadsThemAndBadPricesGet400) {
  auto admin = token_for("root-admin");
  auto alice = token_for("alice");
  EXPECT_EQ(as(alice, "PUT", "/api/v1/prices/A100-80GB", R"({"per_gpu_hour":1})").status, 403);
  for (const char* bad :
       {R"({"per_gpu_hour":-1})", R"({"per_gpu_hour":20000})", R"({"per_gpu_hour":"2"})", R"({})",
        R"({"per_gpu_hour":1,"x":1})", R"({"per_gpu_hour":1e400})", "[1]"}) {
    EXPECT_EQ(as(admin, "PUT", "/api/v1/prices/A100-80GB", bad).status, 400) << bad;
  }
  for (const std::string& bad :
       std::vector<std::string>{"", "a%20b", "a/b", std::string(65, 'x')}) {
    EXPECT_EQ(as(admin, "PUT", "/api/v1/prices/" + bad, R"({"per_gpu_hour":1})").status, 400)
        << bad;
  }
  EXPECT_EQ(as(admin, "GET", "/api/v1/prices/A100-80GB").status, 405);
  ASSERT_EQ(as(admin, "PUT", "/api/v1/prices/A100-80GB", R"({"per_gpu_hour":1.5})").status, 200);
  ASSERT_EQ(as(admin, "PUT", "/api/v1/prices/A100-80GB", R"({"per_gpu_hour":2.25})").status, 200);
  ASSERT_EQ(as(admin, "PUT", "/api/v1/prices/T4-16GB", R"({"per_gpu_hour":0})").status, 200);
  auto prices = json::parse(as(alice, "GET", "/api/v1/prices").body);
  EXPECT_EQ(prices["currency"], "credits");
  ASSERT_EQ(prices["prices"].size(), 2u);
  EXPECT_EQ(prices["prices"][0]["gpu_model"], "A100-80GB");
  EXPECT_EQ(prices["prices"][0]["per_gpu_hour"], 2.25) << "the second price replaced the first";
  EXPECT_EQ(prices["prices"][1]["per_gpu_hour"], 0);
}

TEST_F(Api, ASessionPaysThePriceOfItsPlacementForEachSecondItRuns) {
  auto admin = token_for("root-admin");
  auto alice = token_for("alice");
  auto bob = token_for("bob");
  ASSERT_EQ(as(admin, "PUT", "/api/v1/prices/A100-80GB", R"({"per_gpu_hour":2})").status, 200);
  for (const char* user : {"alice", "bob"}) {
    ASSERT_EQ(as(admin, "POST", std::string("/api/v1/users/") + user + "/balance",
                 R"({"amount":100,"idempotency_key":"first"})")
                  .status,
              201);
  }
  auto whole = json::parse(as(alice, "POST", "/api/v1/sessions", R"({"gpus":2})").body);
  EXPECT_EQ(whole["cost"]["gpu_model"], "A100-80GB");
  EXPECT_EQ(whole["cost"]["gpus"], 2.0);
  EXPECT_EQ(whole["cost"]["hourly_rate"], 4.0);
  EXPECT_EQ(whole["cost"]["so_far"], 0.0) << "scheduled is not running";

  ASSERT_EQ(as(admin, "PUT", "/api/v1/prices/A100-80GB", R"({"per_gpu_hour":10})").status, 200);
  auto share = json::parse(as(bob, "POST", "/api/v1/sessions", R"({"gpu_memory_gb":20})").body);
  EXPECT_EQ(share["cost"]["gpus"], 0.25) << "20 GB of an 80 GB GPU";
  EXPECT_EQ(share["cost"]["hourly_rate"], 2.5) << "today's price";
  std::string whole_id = whole["id"];
  std::string share_id = share["id"];
  sync({observed(whole_id, ObservedPhase::running), observed(share_id, ObservedPhase::running)});
  clock_.advance(1800 * 1000);

  auto shown = json::parse(as(alice, "GET", "/api/v1/sessions/" + whole_id).body);
  EXPECT_EQ(shown["cost"]["hourly_rate"], 4.0) << "the rate was fixed at placement";
  EXPECT_EQ(shown["cost"]["billed_seconds"], 1800);
  EXPECT_EQ(shown["cost"]["so_far"], 2.0);
  ASSERT_EQ(as(alice, "DELETE", "/api/v1/sessions/" + whole_id).status, 200);
  sync({observed(share_id, ObservedPhase::running)});  // the container is gone: ended
  clock_.advance(1800 * 1000);

  auto usage = json::parse(as(alice, "GET", "/api/v1/usage").body);
  ASSERT_EQ(usage["sessions"].size(), 1u) << "only her own";
  EXPECT_EQ(usage["sessions"][0]["id"], whole_id);
  EXPECT_EQ(usage["sessions"][0]["state"], "ended");
  EXPECT_EQ(usage["sessions"][0]["cost"], 2.0) << "nothing after the end";
  EXPECT_EQ(usage["by_model"][0]["gpu_hours"], 1.0);
  EXPECT_EQ(usage["total_cost"], 2.0);
  EXPECT_EQ(as(alice, "GET", "/api/v1/usage?all=true").status, 403);
  auto everyone = json::parse(as(admin, "GET", "/api/v1/usage?all=true").body);
  ASSERT_EQ(everyone["sessions"].size(), 2u);
  EXPECT_EQ(everyone["total_cost"], 2.0 + 2.5) << "bob's share ran an hour";
  EXPECT_EQ(everyone["by_model"][0]["gpu_hours"], 1.25);
}

TEST_F(Api, AdminsTopUpBalancesOncePerKeyAndUsersSeeTheirLedger) {
  auto admin = token_for("root-admin");
  auto alice = token_for("alice");
  const std::string path = "/api/v1/users/alice/balance";
  EXPECT_EQ(as(alice, "POST", path, R"({"amount":5,"idempotency_key":"k"})").status, 403);
  EXPECT_EQ(
      as(admin, "POST", "/api/v1/users/nobody/balance", R"({"amount":5,"idempotency_key":"k"})")
          .status,
      404);
  for (const char* bad :
       {R"({"amount":0,"idempotency_key":"k"})", R"({"amount":5})",
        R"({"amount":5,"idempotency_key":""})", R"({"amount":2e6,"idempotency_key":"k"})",
        R"({"amount":"5","idempotency_key":"k"})",
        R"({"amount":5,"idempotency_key":"k","extra":1})"}) {
    EXPECT_EQ(as(admin, "POST", path, bad).status, 400) << bad;
  }
  EXPECT_EQ(as(alice, "GET", "/api/v1/balance").status, 200);
  EXPECT_EQ(json::parse(as(alice, "GET", "/api/v1/me").body)["balance"], 0.0);

  auto first = as(admin, "POST", path, R"({"amount":12.5,"idempotency_key":"invoice-7"})");
  ASSERT_EQ(first.status, 201) << first.body;
  EXPECT_EQ(json::parse(first.body)["balance"], 12.5);
  auto retried = as(admin, "POST", path, R"({"amount":12.5,"idempotency_key":"invoice-7"})");
  EXPECT_EQ(retried.status, 200) << "a retry is answered, not written again";
  EXPECT_EQ(json::parse(retried.body)["id"], json::parse(first.body)["id"]);
  EXPECT_EQ(as(admin, "POST", path, R"({"amount":99,"idempotency_key":"invoice-7"})").status, 409);
  auto refund =
      as(admin, "POST", path, R"({"amount":-2.5,"idempotency_key":"fix-1","note":"typo"})");
  ASSERT_EQ(refund.status, 201);
  EXPECT_EQ(json::parse(refund.body)["kind"], "adjustment");

  auto balance = json::parse(as(alice, "GET", "/api/v1/balance").body);
  EXPECT_EQ(balance["balance"], 10.0);
  EXPECT_EQ(balance["prepaid"], true);
  ASSERT_EQ(balance["entries"].size(), 2u);
  EXPECT_EQ(balance["entries"][0]["note"], "typo") << "newest first";
  EXPECT_EQ(balance["entries"][1]["kind"], "top_up");
  EXPECT_EQ(json::parse(as(alice, "GET", "/api/v1/me").body)["balance"], 10.0);
  auto users = json::parse(as(admin, "GET", "/api/v1/users").body)["users"];
  for (const auto& user : users) {
    if (user["username"] == "alice") {
      EXPECT_EQ(user["balance"], 10.0);
    }
  }
  auto bob = json::parse(as(token_for("bob"), "GET", "/api/v1/balance").body);
  EXPECT_TRUE(bob["entries"].empty()) << "nobody sees another's ledger";
}

TEST_F(Api, WithAPriceSetAnEmptyBalanceRefusesRequestsAndRunningOutStopsTheSession) {
  auto admin = token_for("root-admin");
  auto alice = token_for("alice");
  auto free = as(alice, "POST", "/api/v1/sessions", R"({"gpus":1})");
  ASSERT_EQ(free.status, 201) << "all free";
  std::string free_id = json::parse(free.body)["id"];
  ASSERT_EQ(as(admin, "PUT", "/api/v1/prices/A100-80GB", R"({"per_gpu_hour":3600})").status, 200);
  auto refused = as(alice, "POST", "/api/v1/sessions", R"({"gpus":1})");
  EXPECT_EQ(refused.status, 402);
  EXPECT_EQ(error_code(refused), "balance_exhausted");

  ASSERT_EQ(
      as(admin, "POST", "/api/v1/users/alice/balance", R"({"amount":3,"idempotency_key":"a"})")
          .status,
      201);
  auto session = json::parse(as(alice, "POST", "/api/v1/sessions", R"({"gpus":1})").body);
  ASSERT_EQ(session["cost"]["hourly_rate"], 3600.0) << "a credit a second";
  std::string id = session["id"];
  sync({observed(id, ObservedPhase::running), observed(free_id, ObservedPhase::running)});
  clock_.advance(2'000);
  sync({observed(id, ObservedPhase::running), observed(free_id, ObservedPhase::running)});
  EXPECT_EQ(fetch(id).state, SessionState::running) << "one credit left";
  EXPECT_EQ(json::parse(as(alice, "GET", "/api/v1/balance").body)["running_cost"], 2.0);

  clock_.advance(1'000);
  sync({observed(id, ObservedPhase::running), observed(free_id, ObservedPhase::running)});
  EXPECT_EQ(fetch(id).state, SessionState::stopping);
  EXPECT_EQ(fetch(id).end_reason, EndReason::balance_exhausted);
  EXPECT_EQ(fetch(free_id).state, SessionState::running) << "a free session is not stopped";
  clock_.advance(1'000);  // the container takes a second to go
  sync({observed(free_id, ObservedPhase::running)});
  sync({observed(free_id, ObservedPhase::running)});
  EXPECT_EQ(fetch(id).state, SessionState::ended);

  auto balance = json::parse(as(alice, "GET", "/api/v1/balance").body);
  EXPECT_EQ(balance["running_cost"], 0.0);
  EXPECT_EQ(balance["balance"], -1.0) << "charged for the 4 s it ran, once";
  ASSERT_EQ(balance["entries"].size(), 2u);
  EXPECT_EQ(balance["entries"][0]["kind"], "charge");
  EXPECT_EQ(balance["entries"][0]["amount"], -4.0);
  EXPECT_EQ(balance["entries"][0]["session"], id);
}

}  // namespace
}  // namespace gpupool::testing
