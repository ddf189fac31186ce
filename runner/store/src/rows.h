// How store records map to rows: the SELECT column lists and the functions that read a row
// into a record, plus helpers to collect rows. Pure; thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "baton/runner/store_types.h"
#include "sql_db.h"

namespace baton::runner::sql {

extern const char* const kTeamSelect;
extern const char* const kPipelineSelect;
extern const char* const kJobSelect;
extern const char* const kResourceSelect;
extern const char* const kVersionSelect;
extern const char* const kBuildSelect;
// kBuildSelect without the plan (read as null): what lists of builds show, which never show
// their plans, at a fraction of the cost (a plan is the largest column to read and parse).
extern const char* const kBuildSummarySelect;
extern const char* const kArtifactSelect;
extern const char* const kTokenSelect;

// Reads one row's columns left to right, so a reader lists fields in SELECT order without
// numbering them (a column added to a SELECT is read where it is listed).
class Columns {
 public:
  explicit Columns(const Statement& row) : row_(row) {}
  int64_t Int() { return row_.Int(next_++); }
  bool Bool() { return row_.Int(next_++) != 0; }
  std::string Text() { return row_.Text(next_++); }
  // NULL reads as 0 (no pipeline, no job, no pin).
  int64_t IdOrZero() {
    const int col = next_++;
    return row_.IsNull(col) ? 0 : row_.Int(col);
  }
  SystemTime Time() { return FromUnixMillis(row_.Int(next_++)); }
  std::optional<SystemTime> OptionalTime();
  Json JsonValue();

 private:
  const Statement& row_;
  int next_ = 0;
};

Team ReadTeam(const Statement& row);
PipelineRecord ReadPipeline(const Statement& row);
JobRecord ReadJob(const Statement& row);
ResourceRecord ReadResource(const Statement& row);
ResourceVersion ReadVersion(const Statement& row);
Build ReadBuild(const Statement& row);
Artifact ReadArtifact(const Statement& row);
ApiToken ReadToken(const Statement& row);

// JSON text as stored (objects dump with sorted keys, so equal JSON is equal text).
std::string JsonText(const Json& json);
// Parses stored JSON; malformed text (which the store never writes) reads as null.
Json ParseJson(const std::string& text);
std::optional<SystemTime> OptionalTime(const Statement& row, int col);
std::optional<int64_t> OptionalMillis(const std::optional<SystemTime>& t);

// Every remaining row of `stmt`, read with `read`.
template <typename T>
Result<std::vector<T>> CollectRows(Statement& stmt, T (*read)(const Statement&)) {
  std::vector<T> rows;
  while (true) {
    auto more = stmt.Step();
    if (!more.ok()) return more.status();
    if (!*more) return rows;
    rows.push_back(read(stmt));
  }
}

// The first row of `stmt`, or kNotFound with `what` ("build 12").
template <typename T>
Result<T> OneRow(Statement& stmt, T (*read)(const Statement&), const std::string& what) {
  auto more = stmt.Step();
  if (!more.ok()) return more.status();
  if (!*more) return NotFound(what + " not found");
  return read(stmt);
}

// Prepares `sql`, binds `args`, and reads every row / the one row.
template <typename T, typename... Args>
Result<std::vector<T>> QueryRows(Connection& conn, T (*read)(const Statement&),
                                 const std::string& sql, const Args&... args) {
  auto stmt = conn.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->BindAll(args...);
  return CollectRows(**stmt, read);
}

template <typename T, typename... Args>
Result<T> QueryOne(Connection& conn, T (*read)(const Statement&), const std::string& what,
                   const std::string& sql, const Args&... args) {
  auto stmt = conn.Prepare(sql);
  if (!stmt.ok()) return stmt.status();
  (*stmt)->BindAll(args...);
  return OneRow(**stmt, read, what);
}

}  // namespace baton::runner::sql
