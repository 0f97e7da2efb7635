#include <gtest/gtest.h>

#include <map>

#include <nlohmann/json.hpp>

#include "api/session_request.hpp"
#include "service_fixture.hpp"

namespace gpupool::testing {
namespace {

using nlohmann::json;

constexpr const char* kKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHCfYdbpEfNo85EvyD2Uq3+hSzhdPwnGB1mw03IQsEYs root@vm";

class Api : public ServiceFixture {
 protected:
  Api() : api_(settings(telemetry_), *auth_, *sessions_, *store_, clock_) {}

  static api::ApiSettings settings(const services::TelemetryBoard& telemetry) {
    api::ApiSettings settings{
        {"pool.example", true, "https://pool.example"}, false, [] { return true; }};
    settings.telemetry = &telemetry;
    return settings;
  }

  gateway::HttpReply call(const std::string& method, const std::string& path,
                          const std::string& body = "",
                          std::vector<std::pair<std::string, std::string>> headers = {},
                          api::Api* api = nullptr) {
    api::Api& target = api != nullptr ? *api : api_;
    gateway::HttpExchange exchange;
    exchange.method = method;
    exchange.target = path;
    auto question = path.find('?');
    exchange.path = path.substr(0, question);
    if (question != std::string::npos) exchange.query = path.substr(question + 1);
    exchange.body = body;
    exchange.headers = std::move(headers);
    exchange.headers.emplace_back("Host", "pool.example:8080");
    exchange.remote_address = "192.0.2.1";
    if (exchange.path.starts_with("/s/")) {
      auto decision = target.route_proxy(exchange);
      if (decision.reply) return *decision.reply;
      proxied_ = decision;
      return {200, "text/plain", "proxied", {}};
    }
    return target.handle(exchange);
  }

  struct Login {
    std::string cookie;  // "gpupool_session=…"
    std::string csrf;
  };

  Login login_as(const std::string& name) {
    auto reply = call("POST", "/api/v1/auth/login",
                      json{{"username", name}, {"password", "password-" + name}}.dump());
    EXPECT_EQ(reply.status, 200) << reply.body;
    Login login;
    for (const auto& [key, value] : reply.headers) {
      if (key == "Set-Cookie") login.cookie = value.substr(0, value.find(';'));
    }
    login.csrf = json::parse(reply.body)["csrf_token"].get<std::string>();
    return login;
  }

  std::string token_for(const std::string& name) {
    auto login = login_as(name);
    auto minted = call("POST", "/api/v1/tokens", "{}",
                       {{"Cookie", login.cookie}, {"X-CSRF-Token", login.csrf}});
    EXPECT_EQ(minted.status, 201) << minted.body;
    return json::parse(minted.body)["token"].get<std::string>();
  }

  gateway::HttpReply as(const std::string& token, const std::string& method,
                        const std::string& path, const std::string& body = "") {
    return call(method, path, body, {{"Authorization", "Bearer " + token}});
  }

  static std::string error_code(const gateway::HttpReply& reply) {
    return json::parse(reply.body)["error"]["code"].get<std::string>();
  }

  services::TelemetryBoard telemetry_;  // before api_, which keeps a pointer to it
  api::Api api_;
  gateway::ProxyDecision proxied_;  // what the last proxied call() would have been sent to
};

TEST_F(Api, HealthNeedsNoLogin) {
  EXPECT_EQ(call("GET", "/healthz").status, 200);
  EXPECT_EQ(call("GET", "/readyz").status, 200);
}

TEST_F(Api, EverythingElseNeedsCredentials) {
  EXPECT_EQ(call("GET", "/api/v1/me").status, 401);
  EXPECT_EQ(call("GET", "/api/v1/sessions", "", {{"Authorization", "Bearer gp_forged"}}).status,
            401);
  EXPECT_EQ(call("GET", "/api/v1/me", "", {{"Authorization", "Basic YWxpY2U6eA=="}}).status, 401);
}

TEST_F(Api, LoginSetsAnHttpOnlyCookieAndWrongPasswordsFail) {
  auto reply =
      call("POST", "/api/v1/auth/login", R"({"username":"ALICE","password":"password-alice"})");
  ASSERT_EQ(reply.status, 200);
  ASSERT_EQ(reply.headers.size(), 1u);
  EXPECT_NE(reply.headers[0].second.find("HttpOnly"), std::string::npos);
  EXPECT_NE(reply.headers[0].second.find("SameSite=Lax"), std::string::npos);
  auto wrong = call("POST", "/api/v1/auth/login", R"({"username":"alice","password":"nope-nope"})");
  EXPECT_EQ(wrong.status, 401);
}

TEST_F(Api, LoginIsRateLimited) {
  int last = 0;
  for (int i = 0; i < 12; ++i) {
    last = call("POST", "/api/v1/auth/login", R"({"username":"alice","password":"wrong-password"})")
               .status;
  }
  EXPECT_EQ(last, 429);
  EXPECT_EQ(
      call("POST", "/api/v1/auth/login", R"({"username":"alice","password":"password-alice"})")
          .status,
      429);
  clock_.advance(6 * 60 * 1000);
  EXPECT_EQ(
      call("POST", "/api/v1/auth/login", R"({"username":"alice","password":"password-alice"})")
          .status,
      200);
}

TEST_F(Api, CookieWritesNeedTheCsrfTokenAndOurOrigin) {
  auto [cookie, csrf] = login_as("alice");
  EXPECT_EQ(call("GET", "/api/v1/me", "", {{"Cookie", cookie}}).status, 200);
  EXPECT_EQ(call("POST", "/api/v1/tokens", "{}", {{"Cookie", cookie}}).status, 403);
  EXPECT_EQ(call("POST", "/api/v1/tokens", "{}", {{"Cookie", cookie}, {"X-CSRF-Token", "x" + csrf}})
                .status,
            403);
  EXPECT_EQ(call("POST", "/api/v1/tokens", "{}",
                 {{"Cookie", cookie}, {"X-CSRF-Token", csrf}, {"Origin", "http://evil.example"}})
                .status,
            403);
  EXPECT_EQ(
      call("POST", "/api/v1/tokens", "{}",
           {{"Cookie", cookie}, {"X-CSRF-Token", csrf}, {"Origin", "http://pool.example:8080"}})
          .status,
      201);
}

TEST_F(Api, LogoutRevokesTheCookie) {
  auto [cookie, csrf] = login_as("alice");
  EXPECT_EQ(
      call("POST", "/api/v1/auth/logout", "", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}).status,
      200);
  EXPECT_EQ(call("GET", "/api/v1/me", "", {{"Cookie", cookie}}).status, 401);
}

TEST_F(Api, ExpiredTokensFail) {
  auto token = token_for("alice");
  auto minted = as(token, "POST", "/api/v1/tokens", R"({"name":"short","expires_in_days":1})");
  auto short_lived = json::parse(minted.body)["token"].get<std::string>();
  EXPECT_EQ(as(short_lived, "GET", "/api/v1/me").status, 200);
  clock_.advance(25LL * 3600 * 1000);
  EXPECT_EQ(as(short_lived, "GET", "/api/v1/me").status, 401);
}

TEST_F(Api, SshKeysAreValidatedAndShownWithFingerprints) {
  auto token = token_for("alice");
  auto reply = as(token, "PUT", "/api/v1/me/ssh-keys", json{{"keys", {kKey}}}.dump());
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(json::parse(reply.body)["ssh_keys"][0]["fingerprint"],
            "SHA256:FylJdAj+HQetj7dwRRPsUxwffv7b5iSXFfVwBtTWd2Y");
  auto bad = as(token, "PUT", "/api/v1/me/ssh-keys", R"({"keys":["ssh-ed25519 AAAA\nroot"]})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("keys[0]"), std::string::npos);
  EXPECT_EQ(as(token, "PUT", "/api/v1/me/ssh-keys", R"({"keys":"not a list"})").status, 400);
  EXPECT_EQ(json::parse(as(token, "GET", "/api/v1/me").body)["ssh_keys"].size(), 1u)
      << "a bad upload changes nothing";
}

TEST_F(Api, OnlyAdminsCreateUsersAndNobodyGrantsThemselvesAdmin) {
  auto alice = token_for("alice");
  auto refused = as(alice, "POST", "/api/v1/users",
                    R"({"username":"mallory","password":"long-password","admin":true})");
  EXPECT_EQ(refused.status, 403);
  auto admin = token_for("root-admin");
  auto created =
      as(admin, "POST", "/api/v1/users", R"({"username":"Carol","password":"long-password"})");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(json::parse(created.body)["username"], "carol");
  EXPECT_EQ(json::parse(created.body)["admin"], false);
  EXPECT_EQ(as(admin, "POST", "/api/v1/users", R"({"username":"carol","password":"long-password"})")
                .status,
            409);
  EXPECT_EQ(
      as(admin, "POST", "/api/v1/users", R"({"username":"c a","password":"long-password"})").status,
      400);
  EXPECT_EQ(as(admin, "POST", "/api/v1/users", R"({"username":"dave","password":"short"})").status,
            400);
}

TEST_F(Api, CreatesAndShowsASession) {
  auto token = token_for("alice");
  auto created = as(token, "POST", "/api/v1/sessions", R"({"gpus":1})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto session = json::parse(created.body);
  EXPECT_EQ(session["state"], "scheduled");
  EXPECT_EQ(session["image"], "pytorch1.13-cpu-debian12-runtime");
  EXPECT_TRUE(session["jupyter"].is_null()) << "no links before it runs";
  sync({observed(session["id"], ObservedPhase::running, "")});
  auto shown =
      json::parse(as(token, "GET", "/api/v1/sessions/" + session["id"].get<std::string>()).body);
  EXPECT_EQ(shown["state"], "running");
  EXPECT_EQ(shown["ssh"]["user"], "alice");
  EXPECT_EQ(shown["ssh"]["command"],
            "ssh -p " + std::to_string(shown["ssh"]["port"].get<int>()) + " alice@pool.example");
  EXPECT_EQ(shown["jupyter"]["url"],
            "https://pool.example/s/" + session["id"].get<std::string>() + "/")
      << "through the gateway, with no Jupyter token in the link";
  EXPECT_EQ(shown["gpus"]["simulated"], true);
  EXPECT_TRUE(shown["ssh"]["host_key"].is_null()) << "no host key reported yet";
  sync({observed(session["id"], ObservedPhase::running, "", kKey)});
  shown =
      json::parse(as(token, "GET", "/api/v1/sessions/" + session["id"].get<std::string>()).body);
  EXPECT_EQ(shown["ssh"]["host_key"]["fingerprint"],
            "SHA256:FylJdAj+HQetj7dwRRPsUxwffv7b5iSXFfVwBtTWd2Y");
  EXPECT_EQ(shown["ssh"]["host_key"]["known_hosts"].get<std::string>().rfind("[pool.example]:", 0),
            0u);
}

TEST_F(Api, AnotherUsersSessionAnswers404) {
  auto alice = token_for("alice");
  auto bob = token_for("bob");
  auto id = json::parse(as(alice, "POST", "/api/v1/sessions", R"({"gpus":1})").body)["id"]
                .get<std::string>();
  EXPECT_EQ(as(bob, "GET", "/api/v1/sessions/" + id).status, 404);
  EXPECT_EQ(as(bob, "DELETE", "/api/v1/sessions/" + id).status, 404);
  EXPECT_EQ(json::parse(as(bob, "GET", "/api/v1/sessions").body)["sessions"].size(), 0u);
  EXPECT_EQ(as(bob, "GET", "/api/v1/sessions?all=true").status, 403);
}

TEST_F(Api, BadSessionRequestsGetClear4xx) {
  auto token = token_for("alice");
  struct Case {
    const char* body;
    int status;
  };
  for (const Case& c :
       {Case{"{", 400}, Case{"[]", 400}, Case{R"({"gpus":"1"})", 400}, Case{R"({"gpus":0})", 400},
        Case{R"({"gpus":1000000000})", 400}, Case{R"({"gpus":-1})", 400},
        Case{R"({"gpus":1.5})", 400}, Case{R"({"gpus":5})", 400}, Case{R"({"gpu":1})", 400},
        Case{R"({"cpus":1e308})", 400}, Case{R"({"memory_gb":-4})", 400},
        Case{R"({"image":"ubuntu:latest"})", 404},
        Case{R"({"image":"registry.evil/pytorch1.13-cpu-debian12-runtime"})", 404},
        Case{R"({"image":7})", 400}, Case{R"({"gpu_memory_gb":8,"gpus":2})", 400},
        Case{R"({"gpu_memory_gb":100})", 400}, Case{R"({"gpu_memory_gb":0.1})", 400}}) {
    auto reply = as(token, "POST", "/api/v1/sessions", c.body);
    EXPECT_EQ(reply.status, c.status) << c.body << " → " << reply.body;
    auto parsed = json::parse(reply.body);
    EXPECT_TRUE(parsed["error"]["message"].is_string()) << c.body;
  }
  EXPECT_TRUE(sessions_->list_sessions(alice_, false)->empty());
}

TEST_F(Api, UnknownPathsAndMethods) {
  auto token = token_for("alice");
  EXPECT_EQ(as(token, "GET", "/api/v1/nope").status, 404);
  EXPECT_EQ(as(token, "PATCH", "/api/v1/sessions").status, 405);
  EXPECT_EQ(as(token, "GET", "/api/v1/sessions/a/b").status, 404);
  EXPECT_EQ(error_code(as(token, "GET", "/api/v1/sessions/unknown")), "not_found");
}

TEST_F(Api, PoolAndImagesAreListed) {
  auto token = token_for("alice");
  auto pool = json::parse(as(token, "GET", "/api/v1/pool").body);
  EXPECT_EQ(pool["gpu_models"][0]["model"], "A100-80GB");
  EXPECT_EQ(pool["gpu_models"][0]["free"], 4);
  EXPECT_EQ(pool["simulated"], true);
  auto images = json::parse(as(token, "GET", "/api/v1/images").body);
  EXPECT_EQ(images["images"][0]["tag"], "pytorch1.13-cpu-debian12-runtime");
  EXPECT_EQ(images["images"][0]["default"], true);
}

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

TEST_F(Api, AdminsManageGroupsAndQuotasAndUsersSeeTheirs) {
  auto admin = token_for("root-admin");
  auto alice = token_for("alice");
  EXPECT_EQ(as(alice, "POST", "/api/v1/groups", R"({"name":"lab"})").status, 403);
  EXPECT_EQ(as(alice, "PUT", "/api/v1/quotas/user/alice", R"({"max_gpus":64})").status, 403);
  EXPECT_EQ(as(admin, "POST", "/api/v1/groups", R"({"name":"Lab"})").status, 201);
  EXPECT_EQ(as(admin, "POST", "/api/v1/groups", R"({"name":"lab"})").status, 409);
  EXPECT_EQ(
      as(admin, "PUT", "/api/v1/groups/lab/members", R"({"users":["alice","nobody"]})").status,
      400);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/groups/lab/members", R"({"users":["alice"]})").status, 200);
  EXPECT_EQ(
      as(admin, "PUT", "/api/v1/quotas/group/lab", R"({"max_sessions":1,"max_session_hours":12})")
          .status,
      200);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/quotas/user/alice", R"({"max_gpus":-1})").status, 400);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/quotas/user/nobody", R"({"max_gpus":1})").status, 404);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/quotas/team/lab", R"({"max_gpus":1})").status, 404);
  auto me = json::parse(as(alice, "GET", "/api/v1/me").body);
  EXPECT_EQ(me["groups"], json::array({"lab"}));
  EXPECT_EQ(me["quotas"][0]["name"], "lab");
  EXPECT_EQ(me["quotas"][0]["max_sessions"], 1);
  EXPECT_EQ(as(alice, "POST", "/api/v1/sessions", R"({"gpus":1})").status, 201);
  auto refused = as(alice, "POST", "/api/v1/sessions", R"({"gpus":1})");
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(error_code(refused), "quota_exceeded");
  auto listed = json::parse(as(admin, "GET", "/api/v1/quotas").body);
  EXPECT_EQ(listed["quotas"].size(), 1u);
}

TEST_F(Api, AdminsListUsersAndGroupsWithTheirMembersAndNobodyElseDoes) {
  auto admin = token_for("root-admin");
  auto alice = token_for("alice");
  ASSERT_EQ(as(admin, "POST", "/api/v1/groups", R"({"name":"vision"})").status, 201);
  ASSERT_EQ(as(admin, "POST", "/api/v1/groups", R"({"name":"audio"})").status, 201);
  auto set = as(admin, "PUT", "/api/v1/groups/vision/members", R"({"users":["BOB","alice"]})");
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(json::parse(set.body)["members"], json::array({"bob", "alice"})) << "canonical names";

  auto users = as(admin, "GET", "/api/v1/users");
  ASSERT_EQ(users.status, 200) << users.body;
  std::map<std::string, json> by_name;
  auto user_list = json::parse(users.body)["users"];
  for (const auto& user : user_list) by_name[user["username"].get<std::string>()] = user;
  ASSERT_TRUE(by_name.contains("alice") && by_name.contains("bob")) << users.body;
  EXPECT_EQ(by_name["alice"]["groups"], json::array({"vision"}));
  EXPECT_EQ(by_name["root-admin"]["groups"], json::array());
  EXPECT_EQ(by_name["root-admin"]["admin"], true);
  EXPECT_FALSE(by_name["alice"].contains("password_hash"));

  auto groups = json::parse(as(admin, "GET", "/api/v1/groups").body)["groups"];
  ASSERT_EQ(groups.size(), 2u);
  EXPECT_EQ(groups[0]["name"], "audio");
  EXPECT_EQ(groups[0]["members"], json::array());
  EXPECT_EQ(groups[1]["name"], "vision");
  EXPECT_EQ(groups[1]["members"], json::array({"alice", "bob"}));

  EXPECT_EQ(as(alice, "GET", "/api/v1/users").status, 403);
  EXPECT_EQ(as(alice, "GET", "/api/v1/groups").status, 403);
  EXPECT_EQ(as(admin, "DELETE", "/api/v1/users").status, 405);
}

TEST_F(Api, DrainedNodesTakeNoNewSessionsUntilUndrained) {
  auto admin = token_for("root-admin");
  auto alice = token_for("alice");
  EXPECT_EQ(as(alice, "PUT", "/api/v1/nodes/node-1", R"({"drained":true})").status, 403);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/nodes/no-such-node", R"({"drained":true})").status, 404);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/nodes/node-1", R"({"drained":"yes"})").status, 400);
  EXPECT_EQ(as(admin, "PUT", "/api/v1/nodes/node-1", R"({"drained":true})").status, 200);
  auto pool = json::parse(as(alice, "GET", "/api/v1/pool").body);
  EXPECT_EQ(pool["nodes"][0]["drained"], true);
  sync({});  // the agent's inventory does not undo the drain
  auto session = json::parse(as(alice, "POST", "/api/v1/sessions", R"({"gpus":1})").body);
  EXPECT_EQ(session["state"], "queued");
  EXPECT_EQ(as(admin, "PUT", "/api/v1/nodes/node-1", R"({"drained":false})").status, 200);
  auto shown =
      json::parse(as(alice, "GET", "/api/v1/sessions/" + session["id"].get<std::string>()).body);
  EXPECT_EQ(shown["state"], "scheduled") << "undraining reschedules at once";
}

TEST_F(Api, AdminsSeeWhoHoldsEachGpuAndItsLatestReadingAndNobodyElseDoes) {
  auto admin = token_for("root-admin");
  auto alice = token_for("alice");
  telemetry_.record("node-1", {{0, 73, 10 * 1024, 61, 312.4, 700}, {1}}, clock_.now());
  auto session = request(alice_, 1);
  ASSERT_EQ(session.gpu_indices.size(), 1u);

  EXPECT_EQ(as(alice, "GET", "/api/v1/nodes").status, 403);
  auto reply = as(admin, "GET", "/api/v1/nodes");
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto node = json::parse(reply.body)["nodes"][0];
  EXPECT_EQ(node["name"], "node-1");
  EXPECT_EQ(node["state"], "up");
  EXPECT_FALSE(node["telemetry_at"].is_null());
  ASSERT_EQ(node["gpus"].size(), 4u);
  auto first = node["gpus"][0];
  EXPECT_EQ(first["model"], "A100-80GB");
  EXPECT_EQ(first["simulated"], true);
  EXPECT_EQ(first["utilization_percent"], 73);
  EXPECT_EQ(first["memory_used_gb"], 10.0);
  EXPECT_EQ(first["temperature_c"], 61);
  EXPECT_EQ(first["power_w"], 312.0) << "whole watts";
  EXPECT_EQ(first["power_limit_w"], 700.0);
  EXPECT_TRUE(node["gpus"][1]["utilization_percent"].is_null()) << "not read: no figure";
  EXPECT_TRUE(node["gpus"][2]["temperature_c"].is_null()) << "no reading at all";
  for (const auto& gpu : node["gpus"]) {
    bool held = gpu["index"] == session.gpu_indices[0];
    ASSERT_EQ(gpu["sessions"].size(), held ? 1u : 0u) << gpu.dump();
    if (held) {
      EXPECT_EQ(gpu["sessions"][0], (json{{"id", session.id}, {"user", "alice"}}));
    }
  }

  // A node silent past the limit is down, and its old readings are not shown as current.
  clock_.advance(scheduler::kNodeSilenceLimitMillis + 1000);
  auto silent = json::parse(as(admin, "GET", "/api/v1/nodes").body)["nodes"][0];
  EXPECT_EQ(silent["state"], "down");
  EXPECT_TRUE(silent["gpus"][0]["utilization_percent"].is_null());
  EXPECT_FALSE(silent["telemetry_at"].is_null()) << "when it last reported is still shown";
}

TEST_F(Api, AdminsScrapeMetricsWithAnApiTokenAndNobodyElseDoes) {
  auto admin = token_for("root-admin");
  telemetry_.record("node-1", {{0, 50, 1024, 44, 100, 400}}, clock_.now());
  request(alice_, 1);
  EXPECT_EQ(call("GET", "/metrics").status, 401);
  EXPECT_EQ(as(token_for("alice"), "GET", "/metrics").status, 403);
  EXPECT_EQ(as(admin, "POST", "/metrics").status, 405);
  auto reply = as(admin, "GET", "/metrics");
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_NE(
      reply.body.find("gpupool_gpu_temperature_celsius{node=\"node-1\",gpu=\"0\",uuid=\"GPU-0\""
                      ",model=\"A100-80GB\",simulated=\"true\"} 44\n"),
      std::string::npos)
      << reply.body;
  EXPECT_NE(reply.body.find("gpupool_sessions{state=\"scheduled\"} 1\n"), std::string::npos);
  EXPECT_NE(reply.body.find("gpupool_node_up{node=\"node-1\"} 1\n"), std::string::npos);
}

TEST_F(Api, AnAdminsLiveViewSendsTheGpusReadingsWhenAFigureChanges) {
  auto [cookie, csrf] = login_as("root-admin");
  telemetry_.record("node-1", {{0, 10, 0, 40, 60, 400}}, clock_.now());
  auto reply = call("GET", "/api/v1/events", "", {{"Cookie", cookie}});
  ASSERT_TRUE(reply.stream);
  auto first = reply.stream->next();
  ASSERT_TRUE(first);
  EXPECT_NE(first->find("event: nodes\ndata: {"), std::string::npos) << *first;
  EXPECT_NE(first->find("\"temperature_c\":40"), std::string::npos) << *first;

  telemetry_.record("node-1", {{0, 10, 0, 40, 60.2, 400}}, clock_.now() + 1000);
  auto same = reply.stream->next();
  ASSERT_TRUE(same);
  EXPECT_EQ(*same, "") << "the same figures (to the watt) are not sent again";

  telemetry_.record("node-1", {{0, 95, 0, 71, 380, 400}}, clock_.now() + 2000);
  auto hotter = reply.stream->next();
  ASSERT_TRUE(hotter);
  EXPECT_NE(hotter->find("event: nodes"), std::string::npos);
  EXPECT_NE(hotter->find("\"temperature_c\":71"), std::string::npos) << *hotter;
  EXPECT_EQ(hotter->find("event: sessions"), std::string::npos) << "only what changed";

  auto alice = token_for("alice");
  auto users_view = as(alice, "GET", "/api/v1/events");
  ASSERT_TRUE(users_view.stream);
  auto users_first = users_view.stream->next();
  ASSERT_TRUE(users_first);
  EXPECT_EQ(users_first->find("event: nodes"), std::string::npos) << "admins only";
}

TEST_F(Api, RunningSessionsShowTheirTimeLimitAndWarnBeforeIt) {
  auto token = token_for("alice");
  auto created =
      json::parse(as(token, "POST", "/api/v1/sessions", R"({"gpus":1,"max_hours":1})").body);
  std::string path = "/api/v1/sessions/" + created["id"].get<std::string>();
  sync({observed(created["id"], ObservedPhase::running)});
  auto shown = json::parse(as(token, "GET", path).body);
  EXPECT_TRUE(shown["ends_at"].is_string());
  EXPECT_TRUE(shown["warning"].is_null());
  clock_.advance(50 * 60 * 1000);
  shown = json::parse(as(token, "GET", path).body);
  EXPECT_EQ(shown["warning"], "this session reaches its time limit in 10 min; save your work");
}

TEST_F(Api, NodeSelectorsAreValidatedAndMustMatchSomeNode) {
  auto token = token_for("alice");
  EXPECT_EQ(as(token, "POST", "/api/v1/sessions", R"({"node_selector":{"net":1}})").status, 400);
  EXPECT_EQ(as(token, "POST", "/api/v1/sessions", R"({"node_selector":["net"]})").status, 400);
  auto unknown = as(token, "POST", "/api/v1/sessions", R"({"node_selector":{"net":"infiniband"}})");
  EXPECT_EQ(unknown.status, 400);
  EXPECT_NE(unknown.body.find("labels"), std::string::npos);
}

TEST(SessionRequest, DefaultsAndConversions) {
  auto request = api::parse_session_request(json::parse(R"({"memory_gb": 0.5, "max_hours": 2})"));
  ASSERT_TRUE(request.ok());
  EXPECT_EQ(request->gpus, 1);
  EXPECT_EQ(request->memory_mb, 512);
  EXPECT_EQ(request->max_hours, 2.0);
  EXPECT_EQ(request->image_tag, "");
}

}  // namespace
}  // namespace gpupool::testing

#include "gateway/proxy_route.hpp"

namespace gpupool::testing {
namespace {

TEST(SessionPath, AcceptsPlainPathsAndRefusesAnythingADecoderCouldReadOtherwise) {
  for (const char* good : {"/s/abc123/", "/s/abc123/files/a%20b.txt", "/s/abc123/api/kernels"}) {
    auto parsed = gateway::parse_session_path(good);
    ASSERT_TRUE(parsed.ok()) << good;
    EXPECT_EQ(parsed->session_id, "abc123");
    EXPECT_FALSE(parsed->bare);
  }
  EXPECT_TRUE(gateway::parse_session_path("/s/abc123")->bare);
  for (const char* bad : {"/s/abc/../other/", "/s/abc/..", "/s/abc/./x", "/s/abc/%2e%2e/x",
                          "/s/abc/%2E./x", "/s/abc%2Fother/", "/s/abc/%252e%252e/", "/s//abc/",
                          "/s/abc//x", "/s/ABC/", "/s/abc\\x", "/s/abc/%5c..", "/s/abc/%00", "/s/",
                          "/s", "/sx/abc/", "/s/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/"}) {
    EXPECT_FALSE(gateway::parse_session_path(bad).ok()) << bad;
  }
}

class Proxy : public Api {
 protected:
  // A running session of alice's; returns its id.
  std::string running_session() {
    auto created = as(token_for("alice"), "POST", "/api/v1/sessions", R"({"gpus":1})");
    auto id = json::parse(created.body)["id"].get<std::string>();
    sync({observed(id, ObservedPhase::running, "")});
    return id;
  }
};

TEST_F(Proxy, OwnerAndAdminsPassEveryoneElseGets404) {
  auto id = running_session();
  std::string path = "/s/" + id + "/tree?sort=name";
  EXPECT_EQ(call("GET", path).status, 404) << "anonymous";
  EXPECT_EQ(as(token_for("bob"), "GET", path).status, 404) << "another user";
  EXPECT_EQ(as("gp_forged", "GET", path).status, 404) << "a forged token";
  EXPECT_EQ(as(token_for("root-admin"), "GET", path).status, 200) << "an admin";
  EXPECT_EQ(as(token_for("alice"), "GET", "/s/zzzzzzzzzzzzz/tree").status, 404) << "no such id";

  ASSERT_EQ(as(token_for("alice"), "GET", path).status, 200);
  Session session = fetch(id);
  EXPECT_EQ(proxied_.host, "node-1.example") << "the upstream comes from the store";
  EXPECT_EQ(proxied_.port, session.jupyter_port);
  EXPECT_EQ(proxied_.target, path);
  ASSERT_EQ(proxied_.set_headers.size(), 1u);
  EXPECT_EQ(proxied_.set_headers[0].second, "token " + session.jupyter_token);
  EXPECT_EQ(proxied_.strip_cookies,
            (std::vector<std::string>{gateway::kSessionCookie, services::kPassCookie}));
}

TEST_F(Proxy, CookieLoginsNeedOurOriginForWritesAndWebSockets) {
  auto id = running_session();
  auto login = login_as("alice");
  std::string path = "/s/" + id + "/api/kernels";
  EXPECT_EQ(call("POST", path, "{}", {{"Cookie", login.cookie}}).status, 200)
      << "Jupyter's own pages send no gateway CSRF header";
  EXPECT_EQ(call("POST", path, "{}", {{"Cookie", login.cookie}, {"Origin", "https://evil.example"}})
                .status,
            403);
  EXPECT_EQ(
      call("GET", path + "/k/channels", "",
           {{"Cookie", login.cookie}, {"Upgrade", "websocket"}, {"Origin", "https://evil.example"}})
          .status,
      403);
  EXPECT_EQ(call("GET", path + "/k/channels", "",
                 {{"Cookie", login.cookie},
                  {"Upgrade", "websocket"},
                  {"Origin", "http://pool.example:8080"}})
                .status,
            200);
  EXPECT_EQ(proxied_.credential.empty(), false) << "logout can close it";
}

TEST_F(Proxy, BarePathsRedirectAndStoppedSessionsSaySo) {
  auto id = running_session();
  auto token = token_for("alice");
  auto bare = as(token, "GET", "/s/" + id);
  EXPECT_EQ(bare.status, 302);
  EXPECT_EQ(bare.headers.at(0).second, "/s/" + id + "/");
  EXPECT_EQ(as(token, "GET", "/s/" + id + "/../" + id + "/").status, 400);
  ASSERT_EQ(as(token, "DELETE", "/api/v1/sessions/" + id).status, 200);
  EXPECT_EQ(as(token, "GET", "/s/" + id + "/tree").status, 503);
}

}  // namespace
}  // namespace gpupool::testing

namespace gpupool::testing {
namespace {

TEST_F(Api, ThePortalIsServedFromTheBinaryUnderAStrictPolicy) {
  auto index = call("GET", "/");
  ASSERT_EQ(index.status, 200);
  EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
  EXPECT_NE(index.body.find("/ui/app.js"), std::string::npos);
  ASSERT_FALSE(index.headers.empty());
  EXPECT_EQ(index.headers[0].first, "Content-Security-Policy");
  EXPECT_NE(index.headers[0].second.find("script-src 'self'"), std::string::npos);
  EXPECT_NE(index.headers[0].second.find("frame-ancestors 'none'"), std::string::npos);
  EXPECT_EQ(call("GET", "/ui/app.js").content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(call("GET", "/ui/i18n.js").status, 200);
  EXPECT_EQ(call("GET", "/ui/nope.js").status, 404);
  EXPECT_EQ(call("GET", "/ui/../api/v1/me").status, 404);
  EXPECT_EQ(call("POST", "/").status, 404);
}

TEST_F(Api, TheCsrfTokenIsReadableByOurPagesAfterAReload) {
  auto login = login_as("alice");
  auto me = call("GET", "/api/v1/me", "", {{"Cookie", login.cookie}});
  EXPECT_EQ(json::parse(me.body)["csrf_token"], login.csrf);
  auto with_token = as(token_for("alice"), "GET", "/api/v1/me");
  EXPECT_FALSE(json::parse(with_token.body).contains("csrf_token")) << "API tokens have none";
}

}  // namespace
}  // namespace gpupool::testing

namespace gpupool::testing {
namespace {

TEST_F(Api, ACredentialJustUsedStopsAtLogoutAndAnyRemovalShowsWithinFiveSeconds) {
  auto [cookie, csrf] = login_as("alice");
  EXPECT_EQ(call("GET", "/api/v1/me", "", {{"Cookie", cookie}}).status, 200);  // now remembered
  EXPECT_EQ(
      call("POST", "/api/v1/auth/logout", "", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}).status,
      200);
  EXPECT_EQ(call("GET", "/api/v1/me", "", {{"Cookie", cookie}}).status, 401) << "at once";

  auto token = token_for("bob");
  EXPECT_EQ(as(token, "GET", "/api/v1/me").status, 200);
  auto principal = auth_->authenticate(token, CredentialKind::api_token);
  ASSERT_TRUE(principal.ok());
  ASSERT_TRUE(store_->delete_credential(principal->credential_digest).ok());  // not via logout
  clock_.advance(6000);
  EXPECT_EQ(as(token, "GET", "/api/v1/me").status, 401);
}

TEST_F(Api, TheLiveViewSendsTheCallersSessionsAndThePoolAsTheyChangeAndEndsAtLogout) {
  auto [cookie, csrf] = login_as("alice");
  auto bob = token_for("bob");
  auto reply = call("GET", "/api/v1/events", "", {{"Cookie", cookie}});
  ASSERT_EQ(reply.status, 200);
  EXPECT_EQ(reply.content_type, "text/event-stream");
  ASSERT_TRUE(reply.stream);
  auto first = reply.stream->next();
  ASSERT_TRUE(first);
  EXPECT_NE(first->find("event: sessions\ndata: {\"sessions\":[]}\n\n"), std::string::npos)
      << *first;
  EXPECT_NE(first->find("event: pool\ndata: {"), std::string::npos) << *first;

  // Bob's new session changes the pool alice sees, but never shows in her sessions.
  ASSERT_EQ(as(bob, "POST", "/api/v1/sessions", R"({"gpus":1})").status, 201);
  auto after_bob = reply.stream->next();
  ASSERT_TRUE(after_bob);
  EXPECT_NE(after_bob->find("event: pool"), std::string::npos) << *after_bob;
  EXPECT_EQ(after_bob->find("event: sessions"), std::string::npos) << *after_bob;

  auto mine = call("POST", "/api/v1/sessions", R"({"gpus":1})",
                   {{"Cookie", cookie}, {"X-CSRF-Token", csrf}});
  ASSERT_EQ(mine.status, 201);
  auto id = json::parse(mine.body)["id"].get<std::string>();
  auto after_mine = reply.stream->next();
  ASSERT_TRUE(after_mine);
  EXPECT_NE(after_mine->find("event: sessions\ndata: {\"sessions\":[{"), std::string::npos);
  EXPECT_NE(after_mine->find(id), std::string::npos);

  ASSERT_EQ(
      call("POST", "/api/v1/auth/logout", "", {{"Cookie", cookie}, {"X-CSRF-Token", csrf}}).status,
      200);
  ASSERT_EQ(as(bob, "POST", "/api/v1/sessions", R"({"gpus":1})").status, 201);
  EXPECT_FALSE(reply.stream->next()) << "a logged-out credential's stream ends";
  EXPECT_EQ(call("GET", "/api/v1/events").status, 401);
}

TEST_F(Api, OneUserHoldsAtMostSixteenLiveViews) {
  auto token = token_for("alice");
  std::vector<gateway::HttpReply> open;
  for (int i = 0; i < api::kMaxEventStreamsPerUser; ++i) {
    open.push_back(as(token, "GET", "/api/v1/events"));
    ASSERT_EQ(open.back().status, 200);
  }
  auto refused = as(token, "GET", "/api/v1/events");
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(error_code(refused), "rate_limited");
  EXPECT_EQ(as(token_for("bob"), "GET", "/api/v1/events").status, 200) << "others are not held up";
  open.pop_back();  // a tab closes
  EXPECT_EQ(as(token, "GET", "/api/v1/events").status, 200);
  EXPECT_EQ(as(token, "POST", "/api/v1/events").status, 405);
}

// Under --session-domain each session has its own origin; browsers get in with a ticket.
class IsolatedProxy : public Proxy {
 protected:
  IsolatedProxy()
      : isolated_({{"pool.example", true, "https://pool.example:8443"},
                   true,
                   [] { return true; },
                   nullptr,
                   "sessions.example"},
                  *auth_, *sessions_, *store_, clock_) {}

  gateway::HttpReply at(const std::string& host, const std::string& method, const std::string& path,
                        std::vector<std::pair<std::string, std::string>> headers = {}) {
    headers.emplace_back("Host", host);
    return call(method, path, "", std::move(headers), &isolated_);
  }

  static std::string header(const gateway::HttpReply& reply, const std::string& name) {
    for (const auto& [key, value] : reply.headers) {
      if (key == name) return value;
    }
    return {};
  }

  api::Api isolated_;
};

TEST_F(IsolatedProxy, BrowsersGoToTheSessionsOwnAddressWithATicketAndGetAPassThere) {
  auto id = running_session();
  auto login = login_as("alice");
  std::string gateway = "pool.example:8443";
  std::string own = id + ".sessions.example:8443";

  auto sent_on = at(gateway, "GET", "/s/" + id + "/tree?sort=name", {{"Cookie", login.cookie}});
  ASSERT_EQ(sent_on.status, 302) << sent_on.body;
  std::string location = header(sent_on, "Location");
  std::string expected = "https://" + own + "/s/" + id + "/tree?sort=name&gpupool-ticket=";
  ASSERT_TRUE(location.starts_with(expected)) << location;
  std::string ticket = location.substr(expected.size());
  EXPECT_EQ(at(gateway, "POST", "/s/" + id + "/api/kernels", {{"Cookie", login.cookie}}).status,
            403)
      << "browsers use Jupyter only at the session's own address";
  EXPECT_EQ(at(own, "GET", "/s/" + id + "/tree", {{"Cookie", login.cookie}}).status, 404)
      << "the login cookie is no pass";

  auto entered = at(own, "GET", "/s/" + id + "/tree?sort=name&gpupool-ticket=" + ticket, {});
  ASSERT_EQ(entered.status, 302) << entered.body;
  EXPECT_EQ(header(entered, "Location"), "/s/" + id + "/tree?sort=name");
  std::string cookie = header(entered, "Set-Cookie");
  EXPECT_NE(cookie.find("; Path=/s/" + id + "/; HttpOnly; SameSite=Lax; Secure"), std::string::npos)
      << cookie;
  std::string pass = cookie.substr(0, cookie.find(';'));
  EXPECT_EQ(at(own, "GET", "/s/" + id + "/tree?gpupool-ticket=" + ticket, {}).status, 404)
      << "a ticket works once";

  ASSERT_EQ(at(own, "GET", "/s/" + id + "/tree", {{"Cookie", pass}}).status, 200);
  EXPECT_EQ(
      proxied_.credential,
      auth_->authenticate(login.cookie.substr(login.cookie.find('=') + 1), CredentialKind::login)
          ->credential_digest)
      << "the pass stands for the login it came from";
  EXPECT_EQ(
      at(own, "POST", "/s/" + id + "/api/kernels", {{"Cookie", pass}, {"Origin", "https://" + own}})
          .status,
      200);
  EXPECT_EQ(at(own, "POST", "/s/" + id + "/api/kernels",
               {{"Cookie", pass}, {"Origin", "https://pool.example:8443"}})
                .status,
            403)
      << "writes come from the session's own pages";
  EXPECT_EQ(at(own, "GET", "/api/v1/me", {{"Cookie", login.cookie}}).status, 404)
      << "the portal and the API are not served at a session's address";

  ASSERT_EQ(call("POST", "/api/v1/auth/logout", "",
                 {{"Cookie", login.cookie}, {"X-CSRF-Token", login.csrf}}, &isolated_)
                .status,
            200);
  EXPECT_EQ(at(own, "GET", "/s/" + id + "/tree", {{"Cookie", pass}}).status, 404)
      << "logging out ends the pass";
}

TEST_F(IsolatedProxy, APassOpensOnlyItsOwnSessionAndApiTokensWorkEverywhere) {
  auto other =
      json::parse(as(token_for("alice"), "POST", "/api/v1/sessions", R"({"gpus":1})").body)["id"]
          .get<std::string>();
  auto id = running_session();
  auto login = login_as("alice");
  auto sent_on = at("pool.example:8443", "GET", "/s/" + id + "/", {{"Cookie", login.cookie}});
  auto location = header(sent_on, "Location");
  auto entered = at(id + ".sessions.example", "GET",
                    "/s/" + id + "/?gpupool-ticket=" + location.substr(location.rfind('=') + 1));
  std::string pass =
      header(entered, "Set-Cookie").substr(0, header(entered, "Set-Cookie").find(';'));
  ASSERT_EQ(at(id + ".sessions.example", "GET", "/s/" + id + "/api", {{"Cookie", pass}}).status,
            200);
  EXPECT_EQ(
      at(other + ".sessions.example", "GET", "/s/" + other + "/api", {{"Cookie", pass}}).status,
      404);
  EXPECT_EQ(at(id + ".sessions.example", "GET", "/s/" + other + "/api", {{"Cookie", pass}}).status,
            404)
      << "an address serves its own session only";
  auto token = token_for("alice");
  EXPECT_EQ(
      at("pool.example", "GET", "/s/" + id + "/api", {{"Authorization", "Bearer " + token}}).status,
      200);
  EXPECT_EQ(at(id + ".sessions.example", "GET", "/s/" + id + "/api",
               {{"Authorization", "Bearer " + token}})
                .status,
            200);
}

TEST(SessionAddresses, KeepTheGatewaysSchemeAndPortAndAreReadBackStrictly) {
  EXPECT_EQ(gateway::session_origin("https://gpus.example:8443", "s.example", "abc"),
            "https://abc.s.example:8443");
  EXPECT_EQ(gateway::session_origin("http://127.0.0.1", "localhost", "abc"),
            "http://abc.localhost");
  EXPECT_EQ(gateway::session_origin("http://[::1]:80", "localhost", "abc"),
            "http://abc.localhost:80");
  EXPECT_EQ(gateway::session_in_host("abc.s.example:8443", "s.example"), "abc");
  EXPECT_EQ(gateway::session_in_host("abc.s.example", "s.example"), "abc");
  EXPECT_EQ(gateway::session_in_host("s.example", "s.example"), std::nullopt);
  EXPECT_EQ(gateway::session_in_host("abcs.example", "s.example"), std::nullopt);
  EXPECT_EQ(gateway::session_in_host("gpus.example", "s.example"), std::nullopt);
  EXPECT_EQ(gateway::session_in_host("abc.s.example", ""), std::nullopt);
  EXPECT_EQ(gateway::session_in_host("a.b.s.example", "s.example"), "a.b") << "never a session id";
}

}  // namespace
}  // namespace gpupool::testing
