// SqliteStore: opening, the transaction helpers, teams, and database checks.
#include "baton/runner/sqlite_store.h"

#include <system_error>

#include "store/event_chunker.h"
#include "store/event_writer.h"
#include "store/migrations.h"
#include "store/reader_pool.h"
#include "store/rows.h"
#include "store/sqlite_db.h"

namespace baton::runner {

using sqlite::Connection;

SqliteStore::SqliteStore(const Clock& clock, SqliteStoreOptions options)
    : clock_(clock), options_(options) {}

SqliteStore::~SqliteStore() { events_.reset(); }

int SqliteStore::LatestSchemaVersion() { return sqlite::LatestSchemaVersion(); }

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::filesystem::path& db_file,
                                                       const Clock& clock,
                                                       SqliteStoreOptions options) {
  std::unique_ptr<SqliteStore> store(new SqliteStore(clock, options));
  Status status = store->Initialize(db_file);
  if (!status.ok()) return status.WithContext(db_file.string());
  return store;
}

Result<std::unique_ptr<SqliteStore>> SqliteStore::OpenDataDir(const std::filesystem::path& data_dir,
                                                              const Clock& clock,
                                                              SqliteStoreOptions options) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return IoError("cannot create data dir " + data_dir.string() + ": " + ec.message());
  return Open(data_dir / "baton.db", clock, options);
}

Status SqliteStore::Initialize(const std::filesystem::path& db_file) {
  const int busy_ms = static_cast<int>(options_.busy_timeout.count());
  BATON_ASSIGN_OR_RETURN(writer_, Connection::Open(db_file.string(), false, busy_ms));
  BATON_RETURN_IF_ERROR(writer_->Exec("PRAGMA journal_mode=WAL"));
  BATON_RETURN_IF_ERROR(sqlite::Migrate(*writer_));
  chunker_ = std::make_unique<sqlite::EventChunker>(options_.event_chunk_bytes);
  readers_ =
      std::make_unique<sqlite::ReaderPool>(db_file.string(), busy_ms, options_.max_idle_readers);
  events_ = std::make_unique<sqlite::EventWriter>(
      [this](const std::vector<sqlite::QueuedEvent>& batch) { return CommitEventBatch(batch); },
      options_.event_commit_interval, options_.event_commit_batch, options_.event_queue_max_bytes);
  return Status::Ok();
}

Status SqliteStore::Write(const WriteBody& body) {
  std::lock_guard<std::mutex> lock(write_mu_);
  sqlite::Transaction tx(*writer_);
  BATON_RETURN_IF_ERROR(tx.Begin(/*immediate=*/true));
  BATON_RETURN_IF_ERROR(body(*writer_));
  return tx.Commit();
}

Status SqliteStore::Read(const ReadBody& body) {
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<Connection> conn, readers_->Acquire());
  Status status;
  {
    sqlite::Transaction tx(*conn);
    status = tx.Begin(/*immediate=*/false);
    if (status.ok()) status = body(*conn);
    if (status.ok()) status = tx.Commit();
  }
  readers_->Release(std::move(conn));
  return status;
}

Status SqliteStore::CheckIntegrity() {
  std::string report;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(auto stmt, conn.Prepare("PRAGMA integrity_check"));
    while (true) {
      BATON_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) return Status::Ok();
      report += (report.empty() ? "" : "; ") + stmt->Text(0);
    }
  }));
  if (report == "ok") return Status::Ok();
  return IoError("database integrity check failed: " + report);
}

Result<int> SqliteStore::SchemaVersion() {
  int version = 0;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(version, sqlite::ReadSchemaVersion(conn));
    return Status::Ok();
  }));
  return version;
}

Result<Team> SqliteStore::CreateTeam(const std::string& name) {
  if (name.empty()) return InvalidArgument("a team needs a name");
  Team team;
  Status status = Write([&](Connection& conn) -> Status {
    BATON_RETURN_IF_ERROR(conn.Run("INSERT INTO teams (name, created_at) VALUES (?, ?)", name,
                                   ToUnixMillis(clock_.Now())));
    BATON_ASSIGN_OR_RETURN(team, sqlite::QueryOne(conn, sqlite::ReadTeam, "team " + name,
                                                  std::string(sqlite::kTeamSelect) + "WHERE id = ?",
                                                  conn.LastInsertRowId()));
    return Status::Ok();
  });
  if (status.code() == StatusCode::kAlreadyExists) {
    return AlreadyExists("team " + name + " already exists");
  }
  if (!status.ok()) return status;
  return team;
}

Result<Team> SqliteStore::GetTeam(const std::string& name) {
  Team team;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(
        team, sqlite::QueryOne(conn, sqlite::ReadTeam, "team " + name,
                               std::string(sqlite::kTeamSelect) + "WHERE name = ?", name));
    return Status::Ok();
  }));
  return team;
}

Result<std::vector<Team>> SqliteStore::ListTeams() {
  std::vector<Team> teams;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(teams,
                           sqlite::QueryRows(conn, sqlite::ReadTeam,
                                             std::string(sqlite::kTeamSelect) + "ORDER BY name"));
    return Status::Ok();
  }));
  return teams;
}

}  // namespace baton::runner
