// SqlStore: construction, the write serialization, the event writer's life, and teams.
#include "baton/runner/sql_store.h"

#include "event_chunker.h"
#include "event_writer.h"
#include "rows.h"
#include "sql_db.h"

namespace baton::runner {

using sql::Connection;

SqlStore::SqlStore(const Clock& clock, SqlStoreOptions options)
    : clock_(clock),
      options_(options),
      chunker_(std::make_unique<sql::EventChunker>(options.event_chunk_bytes)) {}

SqlStore::~SqlStore() = default;

void SqlStore::StartEventWriter() {
  events_ = std::make_unique<sql::EventWriter>(
      [this](const std::vector<sql::QueuedEvent>& batch) { return CommitEventBatch(batch); },
      options_.event_commit_interval, options_.event_commit_batch, options_.event_queue_max_bytes);
}

void SqlStore::StopEventWriter() { events_.reset(); }  // commits what is queued

void SqlStore::ReleaseCaches() {
  std::lock_guard<std::mutex> lock(write_mu_);
  chunker_->ReleaseMemory();
  ReleaseConnectionCachesLocked();
}

Status SqlStore::Write(const Body& body) {
  std::lock_guard<std::mutex> lock(write_mu_);
  return WriteLocked(body);
}

Result<Team> SqlStore::CreateTeam(const std::string& name) {
  if (name.empty()) return InvalidArgument("a team needs a name");
  Team team;
  Status status = Write([&](Connection& conn) -> Status {
    BATON_RETURN_IF_ERROR(conn.Run("INSERT INTO teams (name, created_at) VALUES (?, ?)", name,
                                   ToUnixMillis(clock_.Now())));
    BATON_ASSIGN_OR_RETURN(team, sql::QueryOne(conn, sql::ReadTeam, "team " + name,
                                               std::string(sql::kTeamSelect) + "WHERE id = ?",
                                               conn.LastInsertRowId()));
    return Status::Ok();
  });
  if (status.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists("team " + name + " already exists");
  }
  if (!status.ok()) return status;
  return team;
}

Result<Team> SqlStore::GetTeam(const std::string& name) {
  Team team;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(team,
                           sql::QueryOne(conn, sql::ReadTeam, "team " + name,
                                         std::string(sql::kTeamSelect) + "WHERE name = ?", name));
    return Status::Ok();
  }));
  return team;
}

Result<std::vector<Team>> SqlStore::ListTeams() {
  std::vector<Team> teams;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(teams, sql::QueryRows(conn, sql::ReadTeam,
                                                 std::string(sql::kTeamSelect) + "ORDER BY name"));
    return Status::Ok();
  }));
  return teams;
}

}  // namespace baton::runner
