#include "pg_db.h"

#include <libpq-fe.h>

#include <cstdlib>
#include <cstring>

namespace baton::runner::pg {
namespace {

// SQLSTATE classes that keep their meaning for the store's callers.
Status FromSqlState(const char* state, std::string text) {
  const std::string code = state ? state : "";
  if (code == "23505") return AlreadyExists(std::move(text));  // unique_violation
  if (code == "23503") return NotFound(std::move(text));       // foreign_key_violation
  if (code == "40001" || code == "40P01" || code == "55P03") {
    return Unavailable(std::move(text));  // serialization failure, deadlock, lock not available
  }
  return IoError(std::move(text));
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 0;
}

}  // namespace

std::string ToDollarPlaceholders(const std::string& sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int next = 1;
  bool quoted = false;
  for (size_t i = 0; i < sql.size(); ++i) {
    const char c = sql[i];
    if (c == '\'') quoted = !quoted;
    if (c != '?' || quoted) {
      out += c;
      continue;
    }
    size_t digits = i + 1;
    while (digits < sql.size() && std::isdigit(static_cast<unsigned char>(sql[digits]))) ++digits;
    if (digits > i + 1) {  // ?N keeps its number
      out += '$';
      out.append(sql, i + 1, digits - i - 1);
      i = digits - 1;
    } else {
      out += '$' + std::to_string(next++);
    }
  }
  return out;
}

Statement::Statement(Connection& conn, std::string name, std::string sql)
    : conn_(conn), name_(std::move(name)), sql_(std::move(sql)) {}

Statement::~Statement() { Reset(); }

void Statement::Reset() {
  if (result_) PQclear(result_);
  result_ = nullptr;
  row_ = -1;
  params_.clear();
}

Statement::Param& Statement::At(int index) {
  if (static_cast<int>(params_.size()) < index) params_.resize(index);
  return params_[index - 1];
}

void Statement::BindInt(int index, int64_t value) { At(index) = {std::to_string(value), false}; }
void Statement::BindText(int index, std::string_view value) {
  At(index) = {std::string(value), false};
}
void Statement::BindBlob(int index, std::string_view value) {
  At(index) = {std::string(value), true};
}
void Statement::BindNull(int index) { At(index) = {std::nullopt, false}; }

Status Statement::Execute() {
  std::vector<const char*> values;
  std::vector<int> lengths;
  std::vector<int> formats;
  for (const Param& p : params_) {
    values.push_back(p.value ? p.value->data() : nullptr);
    lengths.push_back(p.value ? static_cast<int>(p.value->size()) : 0);
    formats.push_back(p.binary ? 1 : 0);
  }
  result_ = PQexecPrepared(conn_.raw(), name_.c_str(), static_cast<int>(params_.size()),
                           values.data(), lengths.data(), formats.data(), 0);
  const ExecStatusType status = result_ ? PQresultStatus(result_) : PGRES_FATAL_ERROR;
  if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
    Status error = conn_.Error(result_, sql_);
    PQclear(result_);
    result_ = nullptr;
    return error;
  }
  const char* tuples = PQcmdTuples(result_);
  conn_.SetChanges(tuples && *tuples ? std::atoi(tuples) : 0);
  return Status::Ok();
}

Result<bool> Statement::Step() {
  if (!result_) BATON_RETURN_IF_ERROR(Execute());
  ++row_;
  return row_ < PQntuples(result_);
}

int64_t Statement::Int(int col) const {
  const char* text = PQgetvalue(result_, row_, col);
  if (text[0] == 't' && text[1] == 0) return 1;  // a boolean
  if (text[0] == 'f' && text[1] == 0) return 0;
  return std::strtoll(text, nullptr, 10);
}

std::string Statement::Text(int col) const {
  return std::string(PQgetvalue(result_, row_, col), PQgetlength(result_, row_, col));
}

std::string_view Statement::Blob(int col) const {
  // bytea arrives as text in hex format: \x0a1b...
  const char* text = PQgetvalue(result_, row_, col);
  const size_t size = PQgetlength(result_, row_, col);
  blob_.clear();
  if (size >= 2 && text[0] == '\\' && text[1] == 'x') {
    blob_.reserve((size - 2) / 2);
    for (size_t i = 2; i + 1 < size; i += 2) {
      blob_ += static_cast<char>(HexValue(text[i]) << 4 | HexValue(text[i + 1]));
    }
  }
  return blob_;
}

bool Statement::IsNull(int col) const { return PQgetisnull(result_, row_, col) != 0; }

Result<std::unique_ptr<Connection>> Connection::Open(const std::string& uri,
                                                     const std::string& what) {
  pg_conn* conn = PQconnectdb(uri.c_str());
  if (!conn || PQstatus(conn) != CONNECTION_OK) {
    std::string message = conn ? PQerrorMessage(conn) : "out of memory";
    while (!message.empty() && message.back() == '\n') message.pop_back();
    PQfinish(conn);
    return Unavailable("cannot connect to PostgreSQL at " + what + ": " + message +
                       " (check --database / BATON_DATABASE and that the server is up)");
  }
  std::unique_ptr<Connection> connection(new Connection(conn, what));
  // Notices (e.g. "relation already exists, skipping") are not the user's business.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  BATON_RETURN_IF_ERROR(connection->Exec("SET client_min_messages = warning"));
  return connection;
}

Connection::~Connection() {
  cache_.clear();
  PQfinish(conn_);
}

Status Connection::Error(pg_result* result, const std::string& sql) const {
  std::string message = result ? PQresultErrorMessage(result) : "";
  if (message.empty()) message = PQerrorMessage(conn_);
  while (!message.empty() && message.back() == '\n') message.pop_back();
  std::string text = "database (" + what_ + "): " + message;
  if (!sql.empty()) text += " (in: " + sql.substr(0, 80) + ")";
  return FromSqlState(result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr,
                      std::move(text));
}

Status Connection::Exec(const std::string& sql) {
  pg_result* result = PQexec(conn_, sql.c_str());
  const ExecStatusType status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  Status out = Status::Ok();
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) out = Error(result, sql);
  PQclear(result);
  return out;
}

Result<sql::StatementLease> Connection::Prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    const std::string name = "s" + std::to_string(cache_.size() + 1);
    const std::string text = ToDollarPlaceholders(sql);
    pg_result* result = PQprepare(conn_, name.c_str(), text.c_str(), 0, nullptr);
    if (!result || PQresultStatus(result) != PGRES_COMMAND_OK) {
      Status error = Error(result, sql);
      PQclear(result);
      return error;
    }
    PQclear(result);
    it = cache_.emplace(sql, std::make_unique<Statement>(*this, name, sql)).first;
  }
  return sql::StatementLease(it->second.get());
}

int64_t Connection::LastInsertRowId() {
  // The sequence value the last INSERT drew on this connection (every table the store inserts
  // into and then reads back by id has a bigserial id).
  auto id = QueryInt("SELECT lastval()");
  return id.ok() && *id ? **id : 0;
}

std::string Connection::BeginStatement(bool writer) const {
  return writer ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
}

bool Connection::Healthy() const { return PQstatus(conn_) == CONNECTION_OK; }

}  // namespace baton::runner::pg
