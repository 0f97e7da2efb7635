#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include <nlohmann/json.hpp>

#include "api/session_request.hpp"
#include "api_fixture.hpp"

namespace gpupool::testing {
namespace {

using nlohmann::json;

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
            "ssh -p " + std::to_string(shown["ssh"]["port"].get<int>()) + " alice@node-1.example")
      << "straight to the node that runs it";
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
  EXPECT_EQ(
      shown["ssh"]["host_key"]["known_hosts"].get<std::string>().rfind("[node-1.example]:", 0), 0u);
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

TEST_F(Api, ASessionsLogTellsItsOwnerItsChangesAndWhatItsContainerPrintedWhenItFailed) {
  auto alice = token_for("alice");
  auto id = json::parse(as(alice, "POST", "/api/v1/sessions", R"({"gpus":1})").body)["id"]
                .get<std::string>();
  auto failed = observed(id, ObservedPhase::failed, "Jupyter did not answer within 180 s");
  failed.log = "ModuleNotFoundError: No module named 'notebook'\n";
  sync({failed});
  auto reply = as(alice, "GET", "/api/v1/sessions/" + id + "/log");
  ASSERT_EQ(reply.status, 200) << reply.body;
  auto log = json::parse(reply.body);
  EXPECT_EQ(log["state"], "ended");
  EXPECT_EQ(log["start_log"], "ModuleNotFoundError: No module named 'notebook'\n");
  ASSERT_GE(log["events"].size(), 2U);
  EXPECT_EQ(log["events"].front()["state"], "queued");
  EXPECT_EQ(log["events"].back()["state"], "ended");
  EXPECT_EQ(log["events"].back()["reason"], "Jupyter did not answer within 180 s");
  // Another user's session, or none, is not found; a session that never failed has no log.
  EXPECT_EQ(as(token_for("bob"), "GET", "/api/v1/sessions/" + id + "/log").status, 404);
  EXPECT_EQ(as(alice, "GET", "/api/v1/sessions/nosuchsession/log").status, 404);
  auto other = json::parse(as(alice, "POST", "/api/v1/sessions", R"({"gpus":1})").body)["id"]
                   .get<std::string>();
  EXPECT_TRUE(json::parse(as(alice, "GET", "/api/v1/sessions/" + other + "/log").body)["start_log"]
                  .is_null());
}

TEST_F(Api, BadSessionRequestsGetClear4xx) {
  auto token = token_for("alice");
  struct Case {
    const char* body;
    int status;
  };
  for (const Case& c :
       {Case{"{", 400}, Case{"[]", 400}, Case{R"({"gpus":"1"})", 400}, Case{R"({"gpus":-1})", 400},
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

TEST_F(Api, WrongPasswordsFromOneAddressDoNotLockTheUserOutElsewhere) {
  remote_ = "203.0.113.66";
  for (int i = 0; i < 20; ++i)
    call("POST", "/api/v1/auth/login", R"({"username":"alice","password":"wrong-password"})");
  auto refused =
      call("POST", "/api/v1/auth/login", R"({"username":"alice","password":"password-alice"})");
  EXPECT_EQ(refused.status, 429);
  EXPECT_NE(refused.body.find("try again in"), std::string::npos);
  remote_ = "192.0.2.10";
  EXPECT_EQ(
      call("POST", "/api/v1/auth/login", R"({"username":"alice","password":"password-alice"})")
          .status,
      200);
}

TEST_F(Api, AForgedForwardedForIsIgnoredUnlessThePeerIsATrustedProxy) {
  auto login = [&](const std::string& forwarded_for, const std::string& password, api::Api* api) {
    return call("POST", "/api/v1/auth/login",
                nlohmann::json{{"username", "alice"}, {"password", password}}.dump(),
                {{"X-Forwarded-For", forwarded_for}}, api)
        .status;
  };
  // Not behind a proxy: a guesser changing the header every time is still one source.
  for (int i = 0; i < 20; ++i) login("198.51.100." + std::to_string(i), "wrong-password", nullptr);
  EXPECT_EQ(login("198.51.100.200", "password-alice", nullptr), 429);

  // Behind a trusted proxy: the proxy's clients are told apart by what it saw.
  auto settings = Api::settings(telemetry_);
  settings.trusted_proxies = {*parse_ipv4_block("10.0.0.0/8")};
  api::Api proxied(settings, *auth_, *sessions_, *store_, clock_);
  remote_ = "10.0.0.2";
  for (int i = 0; i < 20; ++i) login("203.0.113.66", "wrong-password", &proxied);
  EXPECT_EQ(login("203.0.113.66", "password-alice", &proxied), 429);
  EXPECT_EQ(login("192.0.2.10", "password-alice", &proxied), 200);
  EXPECT_EQ(login("203.0.113.66, 192.0.2.77", "password-alice", &proxied), 200)
      << "only the hop the proxy appended counts";
}

TEST_F(Api, ASessionSaysWhetherItsNodesGpusAreSimulated) {
  auto settings = Api::settings(telemetry_);
  settings.view.simulated = false;  // `gpupool server`: no GPUs of its own
  api::Api server(settings, *auth_, *sessions_, *store_, clock_);
  auto token = token_for("alice");
  auto show = [&](const std::string& path) {
    return json::parse(call("GET", path, "", {{"Authorization", "Bearer " + token}}, &server).body);
  };
  auto created = as(token, "POST", "/api/v1/sessions", R"({"gpus":1})");
  ASSERT_EQ(created.status, 201) << created.body;
  auto id = json::parse(created.body)["id"].get<std::string>();
  sync({observed(id, ObservedPhase::running, "")});
  EXPECT_EQ(show("/api/v1/sessions/" + id)["gpus"]["simulated"], true) << "node-1's are";
}

TEST_F(Api, AnUnknownUsersLoginTakesAsLongAsAKnownOnes) {
  // The password check dominates a login; an unknown name must not skip it. Medians of a few
  // tries each, compared with a wide margin (without the check the ratio is under 0.01).
  auto median_millis = [&](const std::string& username) {
    std::vector<double> times;
    for (int i = 0; i < 5; ++i) {
      remote_ = "192.0.2." + std::to_string(100 + i);  // no back-off in the way
      auto start = std::chrono::steady_clock::now();
      call("POST", "/api/v1/auth/login",
           nlohmann::json{{"username", username}, {"password", "wrong-password"}}.dump());
      times.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
    }
    std::sort(times.begin(), times.end());
    return times[2];
  };
  median_millis("nosuchuser");  // the first unknown name pays for making the decoy hash
  double known = median_millis("alice");
  double unknown = median_millis("nosuchuser");
  EXPECT_GT(unknown / known, 0.3) << "known " << known << " ms, unknown " << unknown << " ms";
}

TEST_F(Api, SystemNamesCannotBeAccounts) {
  auto admin = token_for("root-admin");
  for (const char* name : {"root", "sshd", "nobody", "daemon", "www-data", "systemd-network"}) {
    auto reply =
        as(admin, "POST", "/api/v1/users",
           nlohmann::json{{"username", name}, {"password", "long-enough-password"}}.dump());
    EXPECT_EQ(reply.status, 400) << name;
    EXPECT_NE(reply.body.find("reserved"), std::string::npos) << name;
  }
}

TEST_F(Api, OneUserHoldsAtMostSixteenLiveViews) {
  auto token = token_for("alice");
  std::vector<gateway::HttpReply> open;
  for (std::size_t i = 0; i < api::kMaxEventStreamsPerUser; ++i) {
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

}  // namespace
}  // namespace gpupool::testing
