// The API test fixture: an Api over in-memory services, called as a browser or a CLI would.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api.hpp"
#include "net/webhook_target.hpp"
#include "service_fixture.hpp"

namespace gpupool::testing {

inline constexpr const char* kKey =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHCfYdbpEfNo85EvyD2Uq3+hSzhdPwnGB1mw03IQsEYs root@vm";

class Api : public ServiceFixture {
 protected:
  Api() : api_(settings(telemetry_), *auth_, *sessions_, *store_, clock_) {}

  static api::ApiSettings settings(services::TelemetryBoard& telemetry) {
    api::ApiSettings settings_with_webhooks = plain_settings(telemetry);
    // As the app checks them, with no block allowed beyond the public ones.
    settings_with_webhooks.check_webhook_url = [](const std::string& url) -> Status {
      auto target = net::parse_webhook_url(url);
      if (!target) return target.error();
      auto addresses = net::resolve_webhook_host(target->host, {});
      return addresses ? Status{} : Status{addresses.error()};
    };
    return settings_with_webhooks;
  }
  static api::ApiSettings plain_settings(services::TelemetryBoard& telemetry) {
    api::ApiSettings settings{
        {"pool.example", true, "https://pool.example"}, false, [] { return true; }};
    settings.telemetry = &telemetry;
    settings.session_ports = {9001, 9002};
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
    if (exchange.header("Host").empty()) exchange.headers.emplace_back("Host", "pool.example:8080");
    // As the CLI and the portal send them.
    if (!body.empty() && exchange.header("Content-Type").empty())
      exchange.headers.emplace_back("Content-Type", "application/json");
    // The listener it came to: the Host's port, as a browser sends it.
    std::string host = exchange.header("Host");
    auto colon = host.rfind(':');
    exchange.local_port = colon == std::string::npos
                              ? 443
                              : static_cast<std::uint16_t>(std::stoi(host.substr(colon + 1)));
    exchange.remote_address = remote_;
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
                      nlohmann::json{{"username", name}, {"password", "password-" + name}}.dump());
    EXPECT_EQ(reply.status, 200) << reply.body;
    Login login;
    for (const auto& [key, value] : reply.headers) {
      if (key == "Set-Cookie") login.cookie = value.substr(0, value.find(';'));
    }
    login.csrf = nlohmann::json::parse(reply.body)["csrf_token"].get<std::string>();
    return login;
  }

  std::string token_for(const std::string& name) {
    auto login = login_as(name);
    auto minted = call("POST", "/api/v1/tokens", "{}",
                       {{"Cookie", login.cookie}, {"X-CSRF-Token", login.csrf}});
    EXPECT_EQ(minted.status, 201) << minted.body;
    return nlohmann::json::parse(minted.body)["token"].get<std::string>();
  }

  gateway::HttpReply as(const std::string& token, const std::string& method,
                        const std::string& path, const std::string& body = "") {
    return call(method, path, body, {{"Authorization", "Bearer " + token}});
  }

  static std::string error_code(const gateway::HttpReply& reply) {
    return nlohmann::json::parse(reply.body)["error"]["code"].get<std::string>();
  }

  std::string remote_ = "192.0.2.1";    // the peer of the next call()
  services::TelemetryBoard telemetry_;  // before api_, which keeps a pointer to it
  api::Api api_;
  gateway::ProxyDecision proxied_;  // what the last proxied call() would have been sent to
};

// The gateway's proxy decisions for /s/ paths (the proxy itself is tested with real sockets).
class Proxy : public Api {
 protected:
  // A running session of alice's; returns its id.
  std::string running_session() {
    auto created = as(token_for("alice"), "POST", "/api/v1/sessions", R"({"gpus":1})");
    auto id = nlohmann::json::parse(created.body)["id"].get<std::string>();
    sync({observed(id, ObservedPhase::running, "")});
    return id;
  }
};

}  // namespace gpupool::testing
