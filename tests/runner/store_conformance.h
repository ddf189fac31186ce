// The store conformance harness: every implementation of the store roles (store.h), opened
// fresh for each test, so one suite per role (store_*_conformance_test.cpp) proves that SQLite
// and PostgreSQL behave the same. An implementation joins by adding a backend to
// StoreImplementations(): SQLite and PostgreSQL (a real PostgreSQL 15 per test process).
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "baton/runner/postgres_store.h"
#include "baton/runner/sqlite_store.h"
#include "baton/runner/store.h"
#include "fakes/fake_clock.h"
#include "fakes/postgres_server.h"
#include "fakes/test_env.h"

namespace baton::runner::conformance {

// The knobs the contract tests turn; each backend maps them onto its own options.
struct StoreTestOptions {
  std::chrono::milliseconds event_commit_interval{50};
  size_t event_queue_max_bytes = 16 << 20;
  size_t event_chunk_bytes = 64 << 10;
  std::chrono::milliseconds worker_stall_after{30000};
};

// One empty database of one implementation, open as often as a test likes (reopening keeps
// what was written).
class StoreBackend {
 public:
  virtual ~StoreBackend() = default;
  virtual Result<std::unique_ptr<Store>> Open(const Clock& clock,
                                              const StoreTestOptions& options) = 0;
  // The integer the one-row, one-column query `sql` answers (how tests see what is stored:
  // rows of chunks, their bytes). Works while a store is open.
  virtual Result<int64_t> QueryInt(const std::string& sql) = 0;
  // Runs the statement `sql` (how tests damage what is stored). REQUIRES: no store open.
  virtual Status Exec(const std::string& sql) = 0;
  // Rows in `table` (how tests see that events are stored in chunks).
  Result<int64_t> CountRows(const std::string& table) {
    return QueryInt("SELECT count(*) FROM " + table);
  }
  // Everything the database keeps on disk, as bytes (how tests see that a secret is not
  // stored). REQUIRES: no store of this backend is open.
  virtual Result<std::string> StoredBytes() = 0;
};

class SqliteBackend final : public StoreBackend {
 public:
  Result<std::unique_ptr<Store>> Open(const Clock& clock,
                                      const StoreTestOptions& options) override {
    SqliteStoreOptions o;
    o.event_commit_interval = options.event_commit_interval;
    o.event_queue_max_bytes = options.event_queue_max_bytes;
    o.event_chunk_bytes = options.event_chunk_bytes;
    o.worker_stall_after = options.worker_stall_after;
    BATON_ASSIGN_OR_RETURN(auto store, SqliteStore::Open(dir_ / "baton.db", clock, o));
    return std::unique_ptr<Store>(std::move(store));
  }

  Result<int64_t> QueryInt(const std::string& sql) override {
    int64_t n = 0;
    BATON_RETURN_IF_ERROR(WithConnection(SQLITE_OPEN_READONLY, sql, [&](sqlite3_stmt* stmt) {
      if (sqlite3_step(stmt) != SQLITE_ROW) return false;
      n = sqlite3_column_int64(stmt, 0);
      return true;
    }));
    return n;
  }

  Status Exec(const std::string& sql) override {
    return WithConnection(SQLITE_OPEN_READWRITE, sql,
                          [](sqlite3_stmt* stmt) { return sqlite3_step(stmt) == SQLITE_DONE; });
  }

  Result<std::string> StoredBytes() override {
    std::string bytes;
    for (const char* name : {"baton.db", "baton.db-wal"}) {
      if (std::filesystem::exists(dir_ / name)) bytes += testing::ReadFile(dir_ / name);
    }
    return bytes;
  }

 private:
  // Prepares `sql` on a connection of its own opened with `flags`; `step` says if it went well.
  Status WithConnection(int flags, const std::string& sql,
                        const std::function<bool(sqlite3_stmt*)>& step) {
    sqlite3* conn = nullptr;
    const std::string path = (dir_ / "baton.db").string();
    sqlite3_stmt* stmt = nullptr;
    const bool ok = sqlite3_open_v2(path.c_str(), &conn, flags, nullptr) == SQLITE_OK &&
                    sqlite3_busy_timeout(conn, 10000) == SQLITE_OK &&
                    sqlite3_prepare_v2(conn, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
                    step(stmt);
    const std::string error = conn ? sqlite3_errmsg(conn) : "out of memory";
    sqlite3_finalize(stmt);
    sqlite3_close(conn);
    if (!ok) return IoError(sql + " failed on " + path + ": " + error);
    return Status::Ok();
  }

  testing::TempDir dir_;
};

// A fresh database on this test process's PostgreSQL 15 (tests/fakes/postgres_server.h). When
// PostgreSQL cannot start, Open fails with the reason: nothing is skipped.
class PostgresBackend final : public StoreBackend {
 public:
  Result<std::unique_ptr<Store>> Open(const Clock& clock,
                                      const StoreTestOptions& options) override {
    if (uri_.empty()) {
      BATON_ASSIGN_OR_RETURN(server_, testing::PostgresServer::Shared());
      BATON_ASSIGN_OR_RETURN(uri_, server_->CreateDatabase());
    }
    PostgresStoreOptions o;
    o.event_commit_interval = options.event_commit_interval;
    o.event_queue_max_bytes = options.event_queue_max_bytes;
    o.event_chunk_bytes = options.event_chunk_bytes;
    o.worker_stall_after = options.worker_stall_after;
    BATON_ASSIGN_OR_RETURN(auto store, PostgresStore::Open(uri_, clock, o));
    return std::unique_ptr<Store>(std::move(store));
  }

  Result<int64_t> QueryInt(const std::string& sql) override {
    BATON_ASSIGN_OR_RETURN(std::string n, QueryText(sql));
    return std::stoll(n);
  }

  Status Exec(const std::string& sql) override { return QueryText(sql).status(); }

  // The cluster's files after a checkpoint: the tables' heap files and the write-ahead log.
  Result<std::string> StoredBytes() override {
    BATON_RETURN_IF_ERROR(QueryText("CHECKPOINT").status());
    std::string bytes;
    for (const char* sub : {"base", "pg_wal"}) {
      for (const auto& entry :
           std::filesystem::recursive_directory_iterator(server_->dir() / "data" / sub)) {
        if (entry.is_regular_file()) bytes += testing::ReadFile(entry.path());
      }
    }
    return bytes;
  }

 private:
  Result<std::string> QueryText(const std::string& sql) {
    PGconn* conn = PQconnectdb(uri_.c_str());
    Status status = Status::Ok();
    std::string out;
    PGresult* res = PQstatus(conn) == CONNECTION_OK ? PQexec(conn, sql.c_str()) : nullptr;
    const ExecStatusType rc = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (rc == PGRES_TUPLES_OK && PQntuples(res) == 1) {
      out = PQgetvalue(res, 0, 0);
    } else if (rc != PGRES_COMMAND_OK) {
      status = IoError(sql + " failed on " + uri_ + ": " + PQerrorMessage(conn));
    }
    PQclear(res);
    PQfinish(conn);
    if (!status.ok()) return status;
    return out;
  }

  testing::PostgresServer* server_ = nullptr;
  std::string uri_;
};

struct StoreImplementation {
  std::string name;  // the test name suffix
  std::function<std::unique_ptr<StoreBackend>()> make;
};

inline void PrintTo(const StoreImplementation& impl, std::ostream* os) { *os << impl.name; }

inline std::vector<StoreImplementation> StoreImplementations() {
  return {{"Sqlite", [] { return std::make_unique<SqliteBackend>(); }},
          {"Postgres", [] { return std::make_unique<PostgresBackend>(); }}};
}

inline std::string ImplementationName(const ::testing::TestParamInfo<StoreImplementation>& info) {
  return info.param.name;
}

// The base of every role's suite: a fresh database of the implementation under test.
class StoreConformanceTest : public ::testing::TestWithParam<StoreImplementation> {
 protected:
  void SetUp() override { backend_ = GetParam().make(); }
  void TearDown() override { store_.reset(); }

  void Open(const StoreTestOptions& options = {}) {
    store_.reset();
    auto store = backend_->Open(clock_, options);
    ASSERT_TRUE(store.ok()) << GetParam().name << ": " << store.status().ToString();
    store_ = std::move(*store);
  }

  PipelineStore& pipelines() { return *store_; }
  BuildStore& builds() { return *store_; }
  EventLog& events() { return *store_; }
  AccessStore& access() { return *store_; }

  // A pipeline update with these jobs and resources (all resources on source hash "hash-1").
  static PipelineUpdate Update(const std::string& name, std::vector<std::string> jobs,
                               std::vector<std::string> resources) {
    PipelineUpdate u;
    u.name = name;
    u.yaml = "jobs: []\n";
    u.config = Json{{"jobs", jobs}};
    u.vars = Json{{"branch", "main"}};
    for (auto& j : jobs) u.jobs.push_back(JobSpec{j, "", Json{{"name", j}}});
    for (auto& r : resources) u.resources.push_back(ResourceSpec{r, "", "git", "hash-1", {}});
    return u;
  }

  static BuildEvent Line(const std::string& text, const std::string& stream = "stdout") {
    return BuildEvent{0, {}, "task:compile", "log", stream, text};
  }

  testing::FakeClock clock_;
  std::unique_ptr<StoreBackend> backend_;
  std::unique_ptr<Store> store_;
};

}  // namespace baton::runner::conformance
