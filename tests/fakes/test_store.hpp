// The store a test runs on: in-memory SQLite, or — with GPUPOOL_TEST_STORE=postgres — a fresh
// database of its own on the test run's PostgreSQL server, so that the services' whole test
// suite checks every query on both engines.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "postgres_server.hpp"
#include "store/postgres/postgres_store.hpp"
#include "store/sqlite/sqlite_store.hpp"

namespace gpupool::testing {

inline bool tests_use_postgres() {
  const char* engine = std::getenv("GPUPOOL_TEST_STORE");
  return engine != nullptr && std::string(engine) == "postgres";
}

class TestStore {
 public:
  TestStore() {
    if (!tests_use_postgres()) {
      auto opened = SqliteStore::open(":memory:");
      EXPECT_TRUE(opened.ok());
      if (opened) store_ = std::move(*opened);
      return;
    }
    database_ = PostgresDatabase::make(template_name());
    if (!database_) return;
    auto opened = PostgresStore::open(database_->url());
    EXPECT_TRUE(opened.ok()) << opened.error().message;
    if (opened) store_ = std::move(*opened);
  }
  TestStore(TestStore&&) = default;
  TestStore& operator=(TestStore&&) = default;
  ~TestStore() { store_.reset(); }  // closed before its database is dropped

  SqlStore* get() const { return store_.get(); }
  SqlStore* operator->() const { return store_.get(); }
  SqlStore& operator*() const { return *store_; }

 private:
  // A database migrated once per test process; each test's is a copy of it (far quicker
  // than migrating every one).
  static std::string template_name() {
    static const std::string name = [] {
      auto made = PostgresDatabase::make();
      if (!made) return std::string();
      { EXPECT_TRUE(PostgresStore::open(made->url()).ok()); }
      std::string kept = made->name();
      made->keep();  // dropped by the next run's start (tests/postgres/start.sh)
      return kept;
    }();
    return name;
  }

  std::optional<PostgresDatabase> database_;  // declared first: dropped last
  std::unique_ptr<SqlStore> store_;
};

}  // namespace gpupool::testing
