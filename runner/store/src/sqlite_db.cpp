#include "sqlite_db.h"

#include <sqlite3.h>

#include <utility>

namespace baton::runner::sqlite {
namespace {

Status ErrorFromCode(int rc, const char* message, const std::string& sql) {
  std::string text = std::string("database: ") + (message ? message : sqlite3_errstr(rc));
  if (!sql.empty()) text += " (in: " + sql.substr(0, 80) + ")";
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return AlreadyExists(std::move(text));
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return NotFound(std::move(text));
    default:
      break;
  }
  // By its primary code: SQLITE_BUSY_RECOVERY, SQLITE_BUSY_SNAPSHOT, SQLITE_LOCKED_SHAREDCACHE
  // and the like are a lock held elsewhere as much as SQLITE_BUSY is.
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable(std::move(text));
    default:
      return IoError(std::move(text));
  }
}

}  // namespace

Statement::Statement(sqlite3* db, sqlite3_stmt* stmt, std::string sql)
    : db_(db), stmt_(stmt), sql_(std::move(sql)) {}

Statement::~Statement() { sqlite3_finalize(stmt_); }

void Statement::Reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

void Statement::BindInt(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }

void Statement::BindText(int index, std::string_view value) {
  sqlite3_bind_text64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
}

void Statement::BindBlob(int index, std::string_view value) {
  sqlite3_bind_blob64(stmt_, index, value.data(), value.size(), SQLITE_TRANSIENT);
}

void Statement::BindNull(int index) { sqlite3_bind_null(stmt_, index); }

Status Statement::Error(int rc) const {
  int extended = sqlite3_extended_errcode(db_);
  return ErrorFromCode(extended != SQLITE_OK ? extended : rc, sqlite3_errmsg(db_), sql_);
}

Result<bool> Statement::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return Error(rc);
}

int64_t Statement::Int(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Statement::Text(int col) const {
  const unsigned char* text = sqlite3_column_text(stmt_, col);
  int size = sqlite3_column_bytes(stmt_, col);
  return text ? std::string(reinterpret_cast<const char*>(text), size) : std::string();
}

std::string_view Statement::Blob(int col) const {
  const void* data = sqlite3_column_blob(stmt_, col);
  int size = sqlite3_column_bytes(stmt_, col);
  return data ? std::string_view(static_cast<const char*>(data), size) : std::string_view();
}

bool Statement::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& path, bool read_only,
                                                     int busy_timeout_ms) {
  sqlite3* db = nullptr;
  int flags = SQLITE_OPEN_NOMUTEX |
              (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    Status status = ErrorFromCode(rc, db ? sqlite3_errmsg(db) : nullptr, "");
    sqlite3_close(db);
    return status.WithContext(path);
  }
  std::unique_ptr<Connection> conn(new Connection(db));
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, busy_timeout_ms);
  BATON_RETURN_IF_ERROR(conn->Exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
  // The last connection to close would copy the whole WAL into the database and sync both (a
  // fresh `baton run`'s schema and builds: two fdatasyncs and every page written again, most of
  // its end). The WAL stays instead: the next open reads it, and the checkpoints SQLite makes as
  // it passes 1000 pages keep it bounded. Nothing committed is lost on a crash; after a power
  // loss, what synchronous=NORMAL may lose anyway (the last commits not yet synced).
  sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
  // Readers stay open between requests, each with its own page cache (2 MiB by default) that
  // a long log read fills and keeps; pages come back from the OS's cache cheaply.
  if (read_only) BATON_RETURN_IF_ERROR(conn->Exec("PRAGMA cache_size=-512"));
  return conn;
}

Connection::~Connection() {
  cache_.clear();  // finalize statements before closing
  sqlite3_close(db_);
}

void Connection::ReleaseMemory() { sqlite3_db_release_memory(db_); }

void Connection::OnWalCommit(std::function<void(int pages)> hook) {
  wal_hook_ = std::move(hook);
  sqlite3_wal_hook(
      db_,
      [](void* self, sqlite3*, const char*, int pages) {
        static_cast<Connection*>(self)->wal_hook_(pages);
        return SQLITE_OK;
      },
      this);
}

Result<bool> Connection::CheckpointPassive() {
  int in_wal = 0, copied = 0;
  int rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &in_wal, &copied);
  if (rc != SQLITE_OK) return ErrorFromCode(rc, sqlite3_errmsg(db_), "checkpoint");
  return copied >= in_wal;
}

// Every write begins and commits, and the event writer's commits add a savepoint a build: run
// from the statement cache, these are not parsed again each time (sqlite3_exec prepares, steps
// and finalizes; 8 statements a finished job, ~6,000 instructions each).
Status Connection::RunControl(const std::string& sql) {
  BATON_ASSIGN_OR_RETURN(StatementLease stmt, Prepare(sql));
  return stmt->Run();
}

Status Connection::Exec(const std::string& sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  if (rc == SQLITE_OK) return Status::Ok();
  Status status = ErrorFromCode(sqlite3_extended_errcode(db_), message, sql);
  sqlite3_free(message);
  return status;
}

Result<StatementLease> Connection::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return ErrorFromCode(rc, sqlite3_errmsg(db_), sql);
    it = cache_.emplace(sql, std::make_unique<Statement>(db_, stmt, sql)).first;
  }
  return StatementLease(it->second.get());
}

int64_t Connection::LastInsertRowId() { return sqlite3_last_insert_rowid(db_); }
int Connection::Changes() const { return sqlite3_changes(db_); }
bool Connection::InTransaction() const { return sqlite3_get_autocommit(db_) == 0; }

}  // namespace baton::runner::sqlite
