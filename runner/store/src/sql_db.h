// The SQL connection the store's logic (SqlStore) speaks, whatever the database: Statement,
// Connection, a scoped statement lease that resets on release, and Transaction. SQLite
// (sqlite_db.h) and PostgreSQL (pg_db.h) implement it.
//
// The SQL the store writes runs on both: `?` / `?N` placeholders (the PostgreSQL layer turns
// them into $N), ON CONFLICT upserts, integers for booleans and Unix milliseconds for times.
// Errors become Status values: a unique violation is kAlreadyExists, a foreign-key violation
// kNotFound, a busy database kUnavailable, anything else kIoError.
//
// Thread-compatible: one thread uses a Connection at a time (the store's mutex / pool ensure it).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "baton/common/status.h"

namespace baton::runner::sql {

class Statement {
 public:
  virtual ~Statement() = default;

  virtual void Reset() = 0;  // forgets the result and the bindings

  // Binding (1-based indexes).
  virtual void BindInt(int index, int64_t value) = 0;
  virtual void BindText(int index, std::string_view value) = 0;
  virtual void BindBlob(int index, std::string_view value) = 0;
  virtual void BindNull(int index) = 0;
  void BindOptionalInt(int index, std::optional<int64_t> value) {
    if (value) {
      BindInt(index, *value);
    } else {
      BindNull(index);
    }
  }

  // Binds every argument in order, starting at index 1.
  template <typename... Args>
  void BindAll(const Args&... args) {
    [[maybe_unused]] int index = 1;
    (BindOne(index++, args), ...);
  }

  // Advances; true when a row is available, false when done.
  virtual Result<bool> Step() = 0;
  // Steps to completion (for INSERT/UPDATE/DELETE).
  Status Run() {
    while (true) {
      auto row = Step();
      if (!row.ok()) return row.status();
      if (!*row) return Status::Ok();
    }
  }

  virtual int64_t Int(int col) const = 0;
  virtual std::string Text(int col) const = 0;
  virtual std::string_view Blob(int col) const = 0;  // valid until the next Step/Reset
  virtual bool IsNull(int col) const = 0;

 private:
  void BindOne(int index, int64_t v) { BindInt(index, v); }
  void BindOne(int index, int v) { BindInt(index, v); }
  void BindOne(int index, bool v) { BindInt(index, v ? 1 : 0); }
  void BindOne(int index, const std::string& v) { BindText(index, v); }
  void BindOne(int index, std::string_view v) { BindText(index, v); }
  void BindOne(int index, const char* v) { BindText(index, v); }
  void BindOne(int index, std::nullptr_t) { BindNull(index); }
  void BindOne(int index, const std::optional<int64_t>& v) { BindOptionalInt(index, v); }
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
  virtual ~Connection() = default;

  // Runs one or more statements that return no rows.
  virtual Status Exec(const std::string& sql) = 0;
  // Runs one statement of transaction control ("BEGIN IMMEDIATE", "COMMIT", "SAVEPOINT name",
  // "ROLLBACK TO name", ...). A backend may keep it prepared: every write begins and commits.
  virtual Status RunControl(const std::string& sql) { return Exec(sql); }
  // A cached prepared statement for `sql`.
  virtual Result<StatementLease> Prepare(const std::string& sql) = 0;
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
    auto row = (*stmt)->Step();
    if (!row.ok()) return row.status();
    if (!*row || (*stmt)->IsNull(0)) return std::optional<int64_t>();
    return std::optional<int64_t>((*stmt)->Int(0));
  }

  // The id the last INSERT on this connection gave its row (tables with an id column).
  virtual int64_t LastInsertRowId() = 0;
  // Rows changed by the last INSERT/UPDATE/DELETE.
  virtual int Changes() const = 0;
  // What starts a transaction: a writer's (which takes the write lock at once) or a reader's
  // (a consistent snapshot).
  virtual std::string BeginStatement(bool writer) const = 0;
};

// BEGIN ... COMMIT; rolls back in the destructor unless committed.
class Transaction {
 public:
  explicit Transaction(Connection& conn) : conn_(conn) {}
  ~Transaction() {
    if (open_) (void)conn_.RunControl("ROLLBACK");
  }
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;

  Status Begin(bool immediate) {
    BATON_RETURN_IF_ERROR(conn_.RunControl(conn_.BeginStatement(immediate)));
    open_ = true;
    return Status::Ok();
  }
  Status Commit() {
    Status status = conn_.RunControl("COMMIT");
    if (status.ok()) open_ = false;
    return status;
  }

 private:
  Connection& conn_;
  bool open_ = false;
};

}  // namespace baton::runner::sql
