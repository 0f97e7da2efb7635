#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "api_fixture.hpp"
#include "gateway/app_preamble.hpp"
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

TEST_F(Proxy, OneUserHoldsABoundedNumberOfWebSockets) {
  auto id = running_session();
  std::string path = "/s/" + id + "/api/kernels/k1/channels";
  auto alice = token_for("alice");
  auto upgrade = [&](const std::string& token) {
    return call("GET", path, "",
                {{"Authorization", "Bearer " + token},
                 {"Upgrade", "websocket"},
                 {"Connection", "Upgrade"}});
  };
  std::vector<gateway::ProxyDecision> open;  // each holds its tunnel's slot while kept
  for (std::size_t i = 0; i < api::ApiSettings{}.max_websockets_per_user; ++i) {
    ASSERT_EQ(upgrade(alice).status, 200);
    ASSERT_NE(proxied_.tunnel_slot, nullptr);
    open.push_back(std::exchange(proxied_, {}));
  }
  auto refused = upgrade(alice);
  EXPECT_EQ(refused.status, 429);
  EXPECT_NE(refused.body.find("WebSocket"), std::string::npos);
  EXPECT_EQ(as(alice, "GET", "/s/" + id + "/tree").status, 200) << "plain requests still pass";
  EXPECT_EQ(upgrade(token_for("root-admin")).status, 200) << "others are not held up";
  proxied_ = {};
  open.pop_back();  // one tunnel closes
  EXPECT_EQ(upgrade(alice).status, 200);
  EXPECT_EQ(proxied_.tunnel_idle_time, api::ApiSettings{}.websocket_idle_time);
}

std::string header_of(const gateway::HttpReply& reply, const std::string& name) {
  for (const auto& [key, value] : reply.headers) {
    if (key == name) return value;
  }
  return {};
}

// Without --session-domain, a browser never gets a session's content at the gateway's address:
// it is sent to the session's own port with a ticket, which buys a pass for that port.
struct Entered {
  std::string host;  // "pool.example:<port>"
  std::string pass;  // "gpupool_pass=…"
};

class PortProxy : public Proxy {
 protected:
  Entered enter(const std::string& id, const Login& login) {
    auto sent_on = call("GET", "/s/" + id + "/tree?sort=name", "", {{"Cookie", login.cookie}});
    EXPECT_EQ(sent_on.status, 302) << sent_on.body;
    std::string location = header_of(sent_on, "Location");
    std::string prefix = "https://pool.example:900";
    EXPECT_TRUE(location.starts_with(prefix)) << location;
    std::string host = location.substr(8, location.find('/', 8) - 8);
    EXPECT_NE(location.find("/s/" + id + "/tree?sort=name&gpupool-ticket="), std::string::npos);
    auto entered = call("GET", location.substr(8 + host.size()), "", {{"Host", host}});
    EXPECT_EQ(entered.status, 302) << entered.body;
    EXPECT_EQ(header_of(entered, "Location"), "/s/" + id + "/tree?sort=name");
    std::string cookie = header_of(entered, "Set-Cookie");
    return {host, cookie.substr(0, cookie.find(';'))};
  }
};

TEST_F(PortProxy, ABrowserIsSentToTheSessionsOwnPortAndItsPassWorksOnlyThere) {
  auto id = running_session();
  auto login = login_as("alice");
  auto entered = enter(id, login);
  std::string origin = "https://" + entered.host;
  std::string kernels = "/s/" + id + "/api/kernels";
  auto at_port = [&](const std::string& method, const std::string& path,
                     std::vector<std::pair<std::string, std::string>> headers) {
    headers.emplace_back("Host", entered.host);
    return call(method, path, "{}", std::move(headers)).status;
  };
  EXPECT_EQ(at_port("GET", kernels, {{"Cookie", entered.pass}}), 200);
  EXPECT_EQ(proxied_.strip_cookies,
            (std::vector<std::string>{gateway::kSessionCookie, services::kPassCookie}));
  EXPECT_EQ(at_port("POST", kernels, {{"Cookie", entered.pass}, {"Origin", origin}}), 200);
  EXPECT_EQ(at_port("POST", kernels, {{"Cookie", entered.pass}}), 403)
      << "at a session's port, writes must say where they come from";
  EXPECT_EQ(
      at_port("POST", kernels, {{"Cookie", entered.pass}, {"Origin", "https://pool.example"}}), 403)
      << "not even the gateway's pages write into a session";
  EXPECT_EQ(at_port("GET", kernels + "/k/channels",
                    {{"Cookie", entered.pass}, {"Upgrade", "websocket"}, {"Origin", origin}}),
            200);
  EXPECT_FALSE(proxied_.credential.empty()) << "logout can close it";
  EXPECT_EQ(at_port("GET", kernels + "/k/channels",
                    {{"Cookie", entered.pass},
                     {"Upgrade", "websocket"},
                     {"Origin", "https://pool.example:9002"}}),
            403)
      << "another session's page";
  // Another port's page (another session's content) cannot make the browser fetch from here.
  EXPECT_EQ(at_port("GET", kernels,
                    {{"Cookie", entered.pass},
                     {"Sec-Fetch-Site", "same-site"},
                     {"Sec-Fetch-Mode", "cors"},
                     {"Sec-Fetch-Dest", "empty"}}),
            403);
  EXPECT_EQ(at_port("GET", kernels,
                    {{"Cookie", entered.pass},
                     {"Sec-Fetch-Site", "same-site"},
                     {"Sec-Fetch-Mode", "navigate"},
                     {"Sec-Fetch-Dest", "iframe"}}),
            403)
      << "nor frame it";
  EXPECT_EQ(at_port("GET", kernels,
                    {{"Cookie", entered.pass},
                     {"Sec-Fetch-Site", "same-site"},
                     {"Sec-Fetch-Mode", "navigate"},
                     {"Sec-Fetch-Dest", "document"}}),
            200)
      << "a link is followed";
  EXPECT_EQ(at_port("GET", kernels, {{"Cookie", login.cookie}}), 404)
      << "the login cookie reaches every port of the host, but opens no session";
  EXPECT_EQ(at_port("GET", kernels, {{"Cookie", "gpupool_pass=planted; " + entered.pass}}), 200)
      << "a planted pass does not hide the real one";
  EXPECT_EQ(at_port("GET", "/api/v1/me", {{"Cookie", login.cookie}}), 404)
      << "a session's port serves its session only";
  EXPECT_EQ(at_port("GET", "/", {}), 404);

  ASSERT_EQ(call("POST", "/api/v1/auth/logout", "",
                 {{"Cookie", login.cookie}, {"X-CSRF-Token", login.csrf}})
                .status,
            200);
  EXPECT_EQ(at_port("GET", kernels, {{"Cookie", entered.pass}}), 404) << "logout ends the pass";
}

TEST_F(PortProxy, EachOpenSessionHasItsOwnPortAndAPortServesOneSession) {
  auto token = token_for("alice");
  auto start = [&] {
    auto created = as(token, "POST", "/api/v1/sessions", R"({"gpus":1})");
    return nlohmann::json::parse(created.body)["id"].get<std::string>();
  };
  auto first = start();
  auto second = start();
  auto third = start();
  sync({observed(first, ObservedPhase::running, ""), observed(second, ObservedPhase::running, ""),
        observed(third, ObservedPhase::running, "")});
  auto login = login_as("alice");
  auto first_entry = enter(first, login);
  auto second_entry = enter(second, login);
  EXPECT_NE(first_entry.host, second_entry.host);
  EXPECT_EQ(enter(first, login).host, first_entry.host) << "a session keeps its port";
  EXPECT_EQ(call("GET", "/s/" + second + "/api", "",
                 {{"Host", first_entry.host}, {"Cookie", second_entry.pass}})
                .status,
            404)
      << "another session's path at this port";

  auto full = call("GET", "/s/" + third + "/", "", {{"Cookie", login.cookie}});
  EXPECT_EQ(full.status, 503) << "both ports serve open sessions";
  ASSERT_EQ(as(token, "DELETE", "/api/v1/sessions/" + first).status, 200);
  EXPECT_EQ(enter(third, login).host, first_entry.host) << "an ended session's port is given again";
  EXPECT_EQ(call("GET", "/s/" + first + "/api", "",
                 {{"Host", first_entry.host}, {"Cookie", first_entry.pass}})
                .status,
            404);
}

TEST_F(PortProxy, AnAdminEntersSomeoneElsesSessionOnlyByTheExplicitStep) {
  auto id = running_session();
  auto admin = login_as("root-admin");
  auto refused = call("GET", "/s/" + id + "/tree", "", {{"Cookie", admin.cookie}});
  EXPECT_EQ(refused.status, 403);
  EXPECT_NE(refused.body.find("Enter"), std::string::npos);
  EXPECT_EQ(call("GET", "/s/" + id + "/tree", "", {{"Cookie", login_as("bob").cookie}}).status,
            404);

  // The explicit step: the portal asks for a one-use link into the session's own port.
  std::string entry = "/api/v1/sessions/" + id + "/entry";
  auto link = call("POST", entry, "", {{"Cookie", admin.cookie}, {"X-CSRF-Token", admin.csrf}});
  ASSERT_EQ(link.status, 200) << link.body;
  std::string url = json::parse(link.body)["url"].get<std::string>();
  ASSERT_TRUE(url.starts_with("https://pool.example:900")) << url;
  std::string host = url.substr(8, url.find('/', 8) - 8);
  auto entered = call("GET", url.substr(8 + host.size()), "", {{"Host", host}});
  ASSERT_EQ(entered.status, 302);
  std::string pass = header_of(entered, "Set-Cookie");
  pass = pass.substr(0, pass.find(';'));
  EXPECT_EQ(call("GET", "/s/" + id + "/api", "", {{"Host", host}, {"Cookie", pass}}).status, 200);
  EXPECT_EQ(call("GET", "/api/v1/me", "", {{"Host", host}, {"Cookie", pass}}).status, 404)
      << "what the admin holds at the session's port cannot act on the API";
  EXPECT_EQ(call("GET", "/api/v1/me", "", {{"Cookie", pass}}).status, 401) << "nor at the gateway";

  auto bob = login_as("bob");
  EXPECT_EQ(call("POST", entry, "", {{"Cookie", bob.cookie}, {"X-CSRF-Token", bob.csrf}}).status,
            404);
  EXPECT_EQ(call("POST", entry, "", {{"Cookie", admin.cookie}}).status, 403) << "no CSRF token";
  EXPECT_EQ(as(token_for("alice"), "POST", entry).status, 400) << "for browsers";
  ASSERT_EQ(as(token_for("alice"), "DELETE", "/api/v1/sessions/" + id).status, 200);
  EXPECT_EQ(
      call("POST", entry, "", {{"Cookie", admin.cookie}, {"X-CSRF-Token", admin.csrf}}).status,
      409);
}

TEST_F(PortProxy, PlantedLoginCookiesAreRefusedAndExpired) {
  auto login = login_as("alice");
  EXPECT_EQ(call("GET", "/api/v1/me", "", {{"Cookie", login.cookie}}).status, 200);
  auto refused =
      call("GET", "/api/v1/me", "", {{"Cookie", "gpupool_session=planted; " + login.cookie}});
  EXPECT_EQ(refused.status, 401);
  std::vector<std::string> expired;
  for (const auto& [key, value] : refused.headers) {
    if (key == "Set-Cookie") expired.push_back(value);
  }
  EXPECT_NE(std::find(expired.begin(), expired.end(), "gpupool_session=; Path=/api/v1; Max-Age=0"),
            expired.end());
  EXPECT_NE(std::find(expired.begin(), expired.end(), "gpupool_session=; Path=/; Max-Age=0"),
            expired.end());
}

TEST_F(PortProxy, CookieCallsStartedByAnotherOriginsPageAreRefusedButTokensAreNot) {
  auto login = login_as("alice");
  std::vector<std::pair<std::string, std::string>> from_a_session = {
      {"Sec-Fetch-Site", "same-site"}, {"Sec-Fetch-Mode", "cors"}, {"Sec-Fetch-Dest", "empty"}};
  auto with = [&](std::pair<std::string, std::string> credential) {
    auto headers = from_a_session;
    headers.push_back(std::move(credential));
    return call("GET", "/api/v1/me", "", headers).status;
  };
  EXPECT_EQ(with({"Cookie", login.cookie}), 403);
  EXPECT_EQ(with({"Authorization", "Bearer " + token_for("alice")}), 200);
  EXPECT_EQ(call("POST", "/api/v1/users", R"({"username":"mallory","password":"long-password-1"})",
                 {{"Cookie", login.cookie},
                  {"X-CSRF-Token", login.csrf},
                  {"Origin", "https://pool.example:9001"}})
                .status,
            403)
      << "a session's origin is not the gateway's";
}

TEST_F(PortProxy, LoginRefusesCrossSiteFormPosts) {
  std::string body = R"({"username":"alice","password":"password-alice"})";
  EXPECT_EQ(call("POST", "/api/v1/auth/login", body, {{"Content-Type", "text/plain"}}).status, 403);
  EXPECT_EQ(call("POST", "/api/v1/auth/login", body, {{"Origin", "https://evil.example"}}).status,
            403);
  EXPECT_EQ(call("POST", "/api/v1/auth/login", body,
                 {{"Sec-Fetch-Site", "cross-site"}, {"Sec-Fetch-Mode", "no-cors"}})
                .status,
            403);
  EXPECT_EQ(
      call("POST", "/api/v1/auth/login", body, {{"Origin", "https://pool.example:8080"}}).status,
      200);
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

// VS Code goes to the session's code-server through its node's app relay, signed in there by
// a cookie that replaces all of the browser's; it is the owner's (and admins') like Jupyter.
TEST_F(Proxy, VsCodeIsTheOwnersThroughTheRelayWithCodeServersOwnSignIn) {
  auto id = running_session();
  auto alice = token_for("alice");
  std::string path = "/s/" + id + "/vscode/static/out/x.js?v=1";
  EXPECT_EQ(call("GET", path).status, 404) << "anonymous";
  EXPECT_EQ(as(token_for("bob"), "GET", path).status, 404) << "another user";
  auto bare = as(alice, "GET", "/s/" + id + "/vscode");
  EXPECT_EQ(bare.status, 302);
  EXPECT_EQ(bare.headers.at(0).second, "/s/" + id + "/vscode/");

  ASSERT_EQ(
      call("GET", path, "", {{"Authorization", "Bearer " + alice}, {"Cookie", "other=1"}}).status,
      200);
  Session session = fetch(id);
  EXPECT_EQ(proxied_.port, 40000) << "the node's app relay";
  EXPECT_EQ(proxied_.preamble,
            gateway::app_preamble({id, gateway::kCodeServerPort, session.jupyter_token}));
  EXPECT_EQ(proxied_.target, "/static/out/x.js?v=1");
  EXPECT_EQ(proxied_.set_headers, (std::vector<std::pair<std::string, std::string>>{
                                      {"Cookie", "code-server-session=" + session.jupyter_token}}));
  EXPECT_EQ(as(token_for("root-admin"), "GET", path).status, 200) << "an admin";
  // "/s/<id>/vscodefoo" is a path of Jupyter's.
  ASSERT_EQ(as(alice, "GET", "/s/" + id + "/vscodefoo").status, 200);
  EXPECT_EQ(proxied_.port, session.jupyter_port);
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
