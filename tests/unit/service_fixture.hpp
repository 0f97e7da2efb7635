// A server on in-memory SQLite (or PostgreSQL: test_store.hpp) and a manual clock, with one
// simulated 4-GPU node that has synced, for tests of the services and the API without sockets or an
// engine.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "api/api.hpp"
#include "auth/password.hpp"
#include "core/random.hpp"
#include "scheduler/schedule.hpp"
#include "services/auth_service.hpp"
#include "services/session_service.hpp"
#include "test_store.hpp"

namespace gpupool::testing {

class ServiceFixture : public ::testing::Test {
 protected:
  ServiceFixture() : clock_(1'800'000'000'000) {
    init_crypto();
    auth_ = std::make_unique<services::AuthService>(*store_, clock_);
    sessions_ = std::make_unique<services::SessionService>(*store_, clock_);
    EXPECT_TRUE(store_
                    ->upsert_image({"pytorch1.13-cpu-debian12-runtime", "gpupool/session:test",
                                    "pytorch", "1.13", "", "", "runtime", true, "available"})
                    .ok());
    alice_ = make_user("alice", false);
    bob_ = make_user("bob", false);
    admin_ = make_user("root-admin", true);
    sync({});
  }

  User make_user(const std::string& name, bool admin) {
    auto user =
        store_->create_user(name, *auth::hash_password("password-" + name), admin, clock_.now());
    EXPECT_TRUE(user.ok());
    return *user;
  }

  Node node() const {
    Node node;
    node.name = "node-1";
    node.app_relay_port = 40000;
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

  SyncResponse sync(std::vector<ObservedSession> observed) {
    auto response = sessions_->sync({node(), std::move(observed)});
    EXPECT_TRUE(response.ok()) << response.error().message;
    return response.ok() ? *response : SyncResponse{};
  }

  static ObservedSession observed(const std::string& id, ObservedPhase phase,
                                  const std::string& message = "",
                                  const std::string& host_key = "") {
    return {id, phase, message, host_key};
  }

  Session request(const User& user, int gpus) {
    SessionRequest request;
    request.gpus = gpus;
    auto session = sessions_->request_session(user, request);
    EXPECT_TRUE(session.ok()) << session.error().message;
    return *session;
  }

  Session fetch(const std::string& id) { return **store_->get_session(id); }

  ManualClock clock_;
  TestStore store_;
  std::unique_ptr<services::AuthService> auth_;
  std::unique_ptr<services::SessionService> sessions_;
  User alice_;
  User bob_;
  User admin_;
};

}  // namespace gpupool::testing
