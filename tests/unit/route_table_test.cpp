#include <gtest/gtest.h>

#include <set>
#include <string>

#include <fmt/format.h>

#include "api/route_pattern.hpp"
#include "api_fixture.hpp"

namespace gpupool::testing {
namespace {

using nlohmann::json;

TEST(RoutePattern, MatchesLiteralsParametersAndTheRest) {
  using Segments = std::vector<std::string>;
  struct Case {
    const char* pattern;
    Segments segments;
    std::optional<api::PathParameters> expected;
  };
  const std::vector<Case> cases{
      {"/", {}, api::PathParameters{}},
      {"/", {""}, std::nullopt},
      {"/api/v1/me", {"api", "v1", "me"}, api::PathParameters{}},
      {"/api/v1/me", {"api", "v1", "me", ""}, std::nullopt},
      {"/api/v1/me", {"api", "v1"}, std::nullopt},
      {"/api/v1/sessions/{id}", {"api", "v1", "sessions", "abc"}, {{{"id", "abc"}}}},
      {"/api/v1/sessions/{id}", {"api", "v1", "sessions", ""}, std::nullopt},
      {"/api/v1/sessions/{id}", {"api", "v1", "sessions", "a", "b"}, std::nullopt},
      {"/api/v1/quotas/{scope}/{name}",
       {"api", "v1", "quotas", "user", "bob"},
       {{{"scope", "user"}, {"name", "bob"}}}},
      {"/ui/{file...}", {"ui", "js", "app.js"}, {{{"file", "js/app.js"}}}},
      {"/ui/{file...}", {"ui", ""}, {{{"file", ""}}}},
      {"/ui/{file...}", {"ui"}, std::nullopt},
      {"/ui/{file...}", {"api", "x"}, std::nullopt},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(api::match_route_pattern(c.pattern, c.segments), c.expected)
        << c.pattern << " against " << fmt::format("{}", fmt::join(c.segments, "/"));
  }
}

// A path that fits the route's pattern, its parameters filled in.
std::string concrete_path(std::string_view pattern) {
  std::string path;
  for (auto part : api::split_path(pattern)) {
    path += "/";
    path += part.starts_with('{') ? std::string("x1") : std::string(part);
  }
  return path.empty() ? "/" : path;
}

TEST_F(Api, EveryRouteNotOpenToAnyoneRefusesAnonymousCallers) {
  for (const auto& route : api::Api::routes()) {
    if (route.access == api::Access::anyone) continue;
    auto path = concrete_path(route.pattern);
    EXPECT_EQ(call(std::string(route.method), path, "{}").status, 401)
        << route.method << " " << path;
  }
}

TEST_F(Api, EveryAdminRouteRefusesOtherUsers) {
  auto alice = token_for("alice");
  int admin_routes = 0;
  for (const auto& route : api::Api::routes()) {
    if (route.access != api::Access::admin) continue;
    ++admin_routes;
    auto path = concrete_path(route.pattern);
    auto reply = as(alice, std::string(route.method), path, "{}");
    EXPECT_EQ(reply.status, 403) << route.method << " " << path;
  }
  EXPECT_GE(admin_routes, 10);
}

// A Slurm job's report proves itself with its session's secret, checked by the session service.
TEST_F(Api, OnlyHealthThePortalSignInJoiningAndJobReportsAreOpenToAnyone) {
  std::set<std::string> open;
  for (const auto& route : api::Api::routes()) {
    if (route.access == api::Access::anyone)
      open.insert(fmt::format("{} {}", route.method, route.pattern));
  }
  EXPECT_EQ(open, (std::set<std::string>{
                      "GET /healthz", "HEAD /healthz", "GET /readyz", "HEAD /readyz", "GET /",
                      "HEAD /", "GET /ui/{file...}", "HEAD /ui/{file...}",
                      "POST /api/v1/auth/login", "GET /api/v1/auth/providers",
                      "GET /api/v1/auth/oidc/start", "GET /api/v1/auth/oidc/callback",
                      "POST /api/v1/auth/cli-confirm", "POST /api/v1/auth/cli-token",
                      "POST /api/v1/agent/join", "POST /api/v1/slurm/ready",
                      "POST /api/v1/slurm/activity", "POST /api/v1/slurm/start-failure"}));
}

TEST_F(Api, WithoutAnIdentityProviderItsSignInIsNotFoundAndNoCliCodeWorks) {
  auto providers = call("GET", "/api/v1/auth/providers");
  ASSERT_EQ(providers.status, 200);
  EXPECT_EQ(json::parse(providers.body), json::parse(R"({"password":true,"oidc":null})"));
  EXPECT_EQ(call("GET", "/api/v1/auth/oidc/start").status, 404);
  EXPECT_EQ(call("GET", "/api/v1/auth/oidc/callback?code=c&state=s").status, 404);
  EXPECT_EQ(call("POST", "/api/v1/auth/cli-token", R"({"code":"c","verifier":"v"})").status, 401);
  EXPECT_EQ(call("POST", "/api/v1/auth/cli-token", R"({"code":"c"})").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/auth/cli-confirm", "confirmation=c&answer=yes").status, 403);
  EXPECT_EQ(call("POST", "/api/v1/auth/cli-confirm", "confirmation=c&answer=maybe").status, 400);
  EXPECT_EQ(call("POST", "/api/v1/auth/cli-confirm", "confirmation=%zz&answer=yes").status, 400);
}

TEST_F(Api, EachMethodAndPatternIsRoutedOnce) {
  std::set<std::string> seen;
  for (const auto& route : api::Api::routes()) {
    EXPECT_TRUE(seen.insert(fmt::format("{} {}", route.method, route.pattern)).second)
        << route.method << " " << route.pattern;
  }
}

TEST_F(Api, OnlyTheExactQueryParameterAllListsEveryonesSessions) {
  auto alice = token_for("alice");
  auto admin = token_for("root-admin");
  ASSERT_EQ(as(alice, "POST", "/api/v1/sessions", R"({"gpus":1})").status, 201);
  EXPECT_EQ(as(alice, "GET", "/api/v1/sessions?all=true").status, 403);
  EXPECT_EQ(as(alice, "GET", "/api/v1/sessions?xall=true").status, 200);
  EXPECT_EQ(as(alice, "GET", "/api/v1/usage?all=true").status, 403);
  auto own = as(admin, "GET", "/api/v1/sessions?xall=true&ball=true");
  EXPECT_EQ(json::parse(own.body)["sessions"].size(), 0u) << "the admin has none of their own";
  auto everyone = as(admin, "GET", "/api/v1/sessions?limit=5&all=%74rue");
  EXPECT_EQ(json::parse(everyone.body)["sessions"].size(), 1u) << "decoded like any query";
}

TEST_F(Api, APathWithAnUnreadableTargetGets400) {
  auto alice = token_for("alice");
  EXPECT_EQ(as(alice, "GET", "/api/v1/me?x=%zz").status, 400);
  EXPECT_EQ(as(alice, "GET", "http://other.example/api/v1/me").status, 400);
}

}  // namespace
}  // namespace gpupool::testing
