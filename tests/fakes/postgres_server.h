// PostgresServer: a real PostgreSQL 15 (Debian's postgresql-15) for tests, in a directory of its
// own under /tmp: its cluster is copied from a template made once per machine by `initdb`
// (under a lock, so parallel tests share it), started by `pg_ctl` listening only on a Unix
// socket in that directory (no TCP port to collide on), and stopped and removed on destruction.
//
// PostgreSQL refuses to run as root, and tests run as root here: the server then runs as the
// `postgres` system user that Debian's postgresql-common package creates (the directory is
// chowned to it). Any other user runs the server as itself.
//
// Nothing is skipped: when PostgreSQL cannot start, Start() says why (binaries missing, initdb's
// or the server's log), and the test using it fails with that reason.
//
//   auto server = PostgresServer::Shared();             // one per test process
//   ASSERT_TRUE(server.ok()) << server.status().ToString();
//   auto uri = (*server)->CreateDatabase();             // postgresql:///baton_1?host=/tmp/...
//
// Thread-safety: CreateDatabase may be called from any thread.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "baton/common/status.h"

namespace baton::testing {

class PostgresServer {
 public:
  // Starts a new server (a few hundred milliseconds once the template exists).
  static Result<std::unique_ptr<PostgresServer>> Start();
  // The server of this test process, started on first use and stopped at exit.
  static Result<PostgresServer*> Shared();

  ~PostgresServer();  // stops the server (fast shutdown) and removes its directory
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // A new empty database; returns its connection URI.
  Result<std::string> CreateDatabase();
  // Runs one SQL command as the superuser on the `postgres` database, outside a transaction
  // (so ALTER SYSTEM works), e.g. to turn on statement logging for a measurement.
  Status Exec(const std::string& sql);
  // The server's log (stderr of the postmaster).
  std::filesystem::path LogFile() const { return dir_ / "server.log"; }
  // The URI of an existing database on this server.
  std::string Uri(const std::string& database) const;
  const std::filesystem::path& dir() const { return dir_; }

  // Where Debian installs PostgreSQL 15's programs.
  static std::filesystem::path BinDir();

 private:
  PostgresServer() = default;
  Status Run(const std::string& program, const std::vector<std::string>& args) const;

  std::filesystem::path dir_;  // holds data/, the socket and server.log
  uid_t uid_ = 0;
  gid_t gid_ = 0;
  bool started_ = false;
  std::atomic<int> next_database_{0};
};

}  // namespace baton::testing
