// A database of its own on the PostgreSQL server the test run started
// (GPUPOOL_TEST_POSTGRES, from tests/postgres/start.sh), dropped when the test ends.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <optional>
#include <string>

#include <fmt/format.h>

namespace gpupool::testing {

class PostgresDatabase {
 public:
  // None where no server was started and GPUPOOL_REQUIRE_POSTGRES is unset (a developer's
  // quick run); the CI run sets it, so a missing server fails there.
  // `copy_of`: a database to copy (its schema and rows), rather than an empty one.
  static std::optional<PostgresDatabase> make(const std::string& copy_of = "") {
    const char* server = std::getenv("GPUPOOL_TEST_POSTGRES");
    if (server == nullptr || *server == '\0') {
      if (std::getenv("GPUPOOL_REQUIRE_POSTGRES") != nullptr)
        ADD_FAILURE() << "GPUPOOL_TEST_POSTGRES is not set";
      return std::nullopt;
    }
    static std::atomic<int> made{0};
    std::string name = fmt::format("gpupool_test_{}_{}", getpid(), made++);
    // One statement per call: neither runs inside a transaction, which several would make.
    if (!run(server, fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", name)) ||
        !run(server, copy_of.empty()
                         ? fmt::format("CREATE DATABASE {}", name)
                         : fmt::format("CREATE DATABASE {} TEMPLATE {}", name, copy_of)))
      return std::nullopt;
    return PostgresDatabase(server, name);
  }

  PostgresDatabase(PostgresDatabase&& other) noexcept
      : server_(std::move(other.server_)), name_(std::move(other.name_)) {
    other.name_.clear();
  }
  PostgresDatabase(const PostgresDatabase&) = delete;
  PostgresDatabase& operator=(const PostgresDatabase&) = delete;
  PostgresDatabase& operator=(PostgresDatabase&& other) noexcept {
    std::swap(server_, other.server_);
    std::swap(name_, other.name_);
    return *this;
  }
  ~PostgresDatabase() {
    if (!name_.empty()) run(server_, fmt::format("DROP DATABASE IF EXISTS {} WITH (FORCE)", name_));
  }

  // The server's URL with this database's name in place of the one it names.
  std::string url() const {
    auto slash = server_.rfind('/');
    auto query = server_.find('?', slash);
    std::string tail = query == std::string::npos ? "" : server_.substr(query);
    return server_.substr(0, slash + 1) + name_ + tail;
  }
  const std::string& name() const { return name_; }
  // Leaves the database on the server when this object goes.
  void keep() { name_.clear(); }

  // Runs `sql` on the server (not in this database); false, with a test failure, if it fails.
  static bool run(const std::string& server, const std::string& sql) {
    PGconn* connection = PQconnectdb(server.c_str());
    bool ok = PQstatus(connection) == CONNECTION_OK;
    if (!ok) ADD_FAILURE() << "cannot reach " << server << ": " << PQerrorMessage(connection);
    if (ok) {
      PQsetNoticeProcessor(
          connection, [](void*, const char*) {}, nullptr);
      PGresult* result = PQexec(connection, sql.c_str());
      ok = PQresultStatus(result) == PGRES_COMMAND_OK;
      if (!ok) ADD_FAILURE() << sql << ": " << PQresultErrorMessage(result);
      PQclear(result);
    }
    PQfinish(connection);
    return ok;
  }

 private:
  PostgresDatabase(std::string server, std::string name)
      : server_(std::move(server)), name_(std::move(name)) {}

  std::string server_;
  std::string name_;
};

}  // namespace gpupool::testing
