#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api_fixture.hpp"
#include "gateway/proxy_route.hpp"

namespace gpupool::testing {
namespace {

using nlohmann::json;

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
