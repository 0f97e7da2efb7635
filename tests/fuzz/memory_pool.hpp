// A whole gpupool server but the sockets, in memory, for fuzz targets that go through the
// API or the agent sync: an SQLite store in memory, a node with four GPUs, a user and an
// admin with API tokens, and a few sessions in different states. Made once per process.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/api.hpp"
#include "auth/password.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "fuzz_input.hpp"
#include "services/auth_service.hpp"
#include "services/session_service.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace gpupool::fuzz {

struct MemoryPool {
  MemoryPool() : clock(1'800'000'000'000) {
    init_crypto();
    store = std::move(*SqliteStore::open(":memory:"));
    auth = std::make_unique<services::AuthService>(*store, clock);
    sessions = std::make_unique<services::SessionService>(*store, clock);
    require(store
                ->upsert_image({"pytorch1.13-cpu-debian12-runtime", "gpupool/session:test",
                                "pytorch", "1.13", "", "", "runtime", true, "available"})
                .ok(),
            "the catalog takes an image");
    user_token = token_for("alice", false);
    admin_token = token_for("root-admin", true);
    require(sessions->sync({node(), {}, {}}).ok(), "the node joins");
    auto alice = store->find_user_by_name("alice");
    require(alice.ok() && alice->has_value(), "alice is stored");
    for (int gpus : {1, 2, 1}) {
      SessionRequest request;
      request.gpus = gpus;
      auto session = sessions->request_session((*alice)->user, request);
      require(session.ok(), "a session is requested");
      session_ids.push_back(session->id);
    }
    api::ApiSettings settings;
    settings.view = {"pool.example", true, "https://pool.example"};
    settings.ready = [] { return true; };
    settings.session_ports = {9001, 9002};
    api = std::make_unique<api::Api>(settings, *auth, *sessions, *store, clock);
  }

  std::string token_for(const std::string& name, bool admin) {
    std::string password = "password-" + name;
    require(store->create_user(name, *auth::hash_password(password), admin, clock.now()).ok(),
            "a user is created");
    auto login = auth->login(name, password, "192.0.2.1");
    require(login.ok(), "the user signs in");
    auto principal = auth->authenticate(login->cookie_secret, CredentialKind::login);
    require(principal.ok(), "the sign-in holds");
    auto minted = auth->mint_token(*principal, "fuzz", std::nullopt);
    require(minted.ok(), "a token is minted");
    return minted->token;
  }

  static Node node() {
    Node node;
    node.name = "node-1";
    node.address = "node-1.example";
    node.cpus = 16;
    node.memory_mb = 64 * 1024;
    node.port_min = 30000;
    node.port_max = 30099;
    node.simulated = true;
    for (int i = 0; i < 4; ++i)
      node.gpus.push_back({i, "GPU-" + std::to_string(i), "A100-80GB", 80 * 1024, true, {}});
    return node;
  }

  ManualClock clock;
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<services::AuthService> auth;
  std::unique_ptr<services::SessionService> sessions;
  std::unique_ptr<api::Api> api;
  std::string user_token;
  std::string admin_token;
  std::vector<std::string> session_ids;
};

inline MemoryPool& memory_pool() {
  static MemoryPool pool;
  return pool;
}

}  // namespace gpupool::fuzz
