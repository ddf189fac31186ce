// The sql:: connection (sql_db.h) on SQLite: a thin RAII layer over the sqlite3 C API, with a
// prepared-statement cache. SQLite errors become Status values (constraint violations keep their
// meaning).
//
// Thread-compatible: one thread uses a Connection at a time (the store's mutex / pool ensure it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "baton/common/status.h"
#include "sql_db.h"

struct sqlite3;
struct sqlite3_stmt;

namespace baton::runner::sqlite {

class Statement final : public sql::Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string sql);
  ~Statement() override;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void Reset() override;
  void BindInt(int index, int64_t value) override;
  void BindText(int index, std::string_view value) override;
  void BindBlob(int index, std::string_view value) override;
  void BindNull(int index) override;
  Result<bool> Step() override;
  int64_t Int(int col) const override;
  std::string Text(int col) const override;
  std::string_view Blob(int col) const override;
  bool IsNull(int col) const override;

 private:
  Status Error(int rc) const;

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string sql_;
};

using sql::StatementLease;
using sql::Transaction;

class Connection final : public sql::Connection {
 public:
  // Opens `path` read-write (creating it) or read-only; sets busy_timeout, synchronous=NORMAL,
  // foreign_keys=ON.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, bool read_only,
                                                  int busy_timeout_ms);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Status Exec(const std::string& sql) override;
  Status RunControl(const std::string& sql) override;  // from the statement cache
  Result<StatementLease> Prepare(const std::string& sql) override;
  int64_t LastInsertRowId() override;
  int Changes() const override;
  // BEGIN IMMEDIATE takes SQLite's write lock at once, so a writer never fails half-way on a
  // lock upgrade.
  std::string BeginStatement(bool writer) const override {
    return writer ? "BEGIN IMMEDIATE" : "BEGIN";
  }
  bool InTransaction() const;
  // Frees the pages SQLite caches for this connection (sqlite3_db_release_memory); it reads
  // them again when it needs them.
  void ReleaseMemory();
  // Calls `hook` on the committing thread after each commit with the WAL's size in pages
  // (sqlite3_wal_hook). This connection then no longer checkpoints by itself: SQLite's automatic
  // checkpoint after 1,000 pages is such a hook, which this one replaces.
  void OnWalCommit(std::function<void(int pages)> hook);
  // Copies what it can of the WAL into the database file without waiting for any reader or
  // writer (SQLITE_CHECKPOINT_PASSIVE); true when every frame was copied.
  Result<bool> CheckpointPassive();

 private:
  explicit Connection(sqlite3* db) : db_(db) {}

  sqlite3* db_;
  std::function<void(int)> wal_hook_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

}  // namespace baton::runner::sqlite
