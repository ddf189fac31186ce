// Thin RAII layer over the sqlite3 C API: Connection (with a prepared-statement cache),
// Statement, a scoped statement lease that resets on release, and Transaction.
// SQLite errors become Status values (constraint violations keep their meaning).
//
// Thread-compatible: one thread uses a Connection at a time (the store's mutex / pool ensure it).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "baton/common/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace baton::runner::sqlite {

class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt, std::string sql);
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  void Reset();  // reset + clear bindings

  // Binding (1-based indexes).
  void BindInt(int index, int64_t value);
  void BindText(int index, std::string_view value);
  void BindBlob(int index, std::string_view value);
  void BindNull(int index);
  void BindOptionalInt(int index, std::optional<int64_t> value);  // nullopt/0 handled by caller

  // Binds every argument in order, starting at index 1.
  template <typename... Args>
  void BindAll(const Args&... args) {
    [[maybe_unused]] int index = 1;
    (BindOne(index++, args), ...);
  }

  // Advances; true when a row is available, false when done.
  Result<bool> Step();
  // Steps to completion (for INSERT/UPDATE/DELETE).
  Status Run();

  int64_t Int(int col) const;
  std::string Text(int col) const;
  std::string_view Blob(int col) const;  // valid until the next Step/Reset
  bool IsNull(int col) const;

 private:
  void BindOne(int index, int64_t v) { BindInt(index, v); }
  void BindOne(int index, int v) { BindInt(index, v); }
  void BindOne(int index, bool v) { BindInt(index, v ? 1 : 0); }
  void BindOne(int index, const std::string& v) { BindText(index, v); }
  void BindOne(int index, std::string_view v) { BindText(index, v); }
  void BindOne(int index, const char* v) { BindText(index, v); }
  void BindOne(int index, std::nullptr_t) { BindNull(index); }
  void BindOne(int index, const std::optional<int64_t>& v) { BindOptionalInt(index, v); }
  Status Error(int rc) const;

  sqlite3* db_;
  sqlite3_stmt* stmt_;
  std::string sql_;
};

// A cached statement in use; resets it (releasing read locks) when it goes out of scope.
class StatementLease {
 public:
  explicit StatementLease(Statement* stmt) : stmt_(stmt) {}
  ~StatementLease() {
    if (stmt_) stmt_->Reset();
  }
  StatementLease(StatementLease&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  StatementLease(const StatementLease&) = delete;
  StatementLease& operator=(const StatementLease&) = delete;
  StatementLease& operator=(StatementLease&&) = delete;
  Statement* operator->() const { return stmt_; }
  Statement& operator*() const { return *stmt_; }

 private:
  Statement* stmt_;
};

class Connection {
 public:
  // Opens `path` read-write (creating it) or read-only; sets busy_timeout, synchronous=NORMAL,
  // foreign_keys=ON.
  static Result<std::unique_ptr<Connection>> Open(const std::string& path, bool read_only,
                                                  int busy_timeout_ms);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Runs one or more statements that return no rows.
  Status Exec(const std::string& sql);
  // A cached prepared statement for `sql`.
  Result<StatementLease> Prepare(const std::string& sql);
  // Prepares, binds and runs a statement returning no rows.
  template <typename... Args>
  Status Run(const std::string& sql, const Args&... args) {
    auto stmt = Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    (*stmt)->BindAll(args...);
    return (*stmt)->Run();
  }
  // Prepares, binds and returns the first column of the first row as an integer (nullopt when
  // there is no row or it is NULL).
  template <typename... Args>
  Result<std::optional<int64_t>> QueryInt(const std::string& sql, const Args&... args) {
    auto stmt = Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    (*stmt)->BindAll(args...);
    return StepInt(**stmt);
  }

  int64_t LastInsertRowId() const;
  int Changes() const;
  bool InTransaction() const;

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  static Result<std::optional<int64_t>> StepInt(Statement& stmt);

  sqlite3* db_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
};

// BEGIN (IMMEDIATE for writers) ... COMMIT; rolls back in the destructor unless committed.
class Transaction {
 public:
  explicit Transaction(Connection& conn) : conn_(conn) {}
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status Begin(bool immediate);
  Status Commit();

 private:
  Connection& conn_;
  bool open_ = false;
};

}  // namespace baton::runner::sqlite
