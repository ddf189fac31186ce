// The sql:: connection (sql_db.h) on PostgreSQL through libpq: statements are prepared once per
// connection (`?` / `?N` placeholders become $N), parameters go as text (blobs as binary), rows
// come back as text. SQLSTATEs become Status codes as sql_db.h says.
//
// Thread-compatible: one thread uses a Connection at a time (the store's pool ensures it).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "sql_db.h"

struct pg_conn;
struct pg_result;

namespace baton::runner::pg {

// `?` and `?N` placeholders as PostgreSQL's $N (outside quoted strings). Pure.
std::string ToDollarPlaceholders(const std::string& sql);

class Connection;

class Statement final : public sql::Statement {
 public:
  Statement(Connection& conn, std::string name, std::string sql);
  ~Statement() override;

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
  struct Param {
    std::optional<std::string> value;
    bool binary = false;
  };
  Param& At(int index);
  Status Execute();

  Connection& conn_;
  const std::string name_;
  const std::string sql_;
  std::vector<Param> params_;
  pg_result* result_ = nullptr;
  int row_ = -1;  // the current row; -1 before the first Step
  mutable std::string blob_;
};

class Connection final : public sql::Connection {
 public:
  // Connects to `uri` (postgres://... or key=value). `what` names the database in errors
  // without its password.
  static Result<std::unique_ptr<Connection>> Open(const std::string& uri, const std::string& what);
  ~Connection() override;

  Status Exec(const std::string& sql) override;
  Result<sql::StatementLease> Prepare(const std::string& sql) override;
  int64_t LastInsertRowId() override;
  int Changes() const override { return changes_; }
  std::string BeginStatement(bool writer) const override;

  // Whether the server connection still works (a pool drops broken ones).
  bool Healthy() const;
  pg_conn* raw() { return conn_; }
  // A Status for a failed result (nullptr = the connection failed), naming `sql`.
  Status Error(pg_result* result, const std::string& sql) const;
  void SetChanges(int changes) { changes_ = changes; }

 private:
  explicit Connection(pg_conn* conn, std::string what) : conn_(conn), what_(std::move(what)) {}

  pg_conn* conn_;
  const std::string what_;
  std::unordered_map<std::string, std::unique_ptr<Statement>> cache_;
  int changes_ = 0;
};

}  // namespace baton::runner::pg
