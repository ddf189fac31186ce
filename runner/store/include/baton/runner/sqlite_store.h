// SqliteStore: every store role on one SQLite file (WAL mode, synchronous=NORMAL, foreign keys
// on), schema created by numbered migrations (PRAGMA user_version). The roles' SQL is SqlStore's
// (sql_store.h); this class supplies the connections.
//
// Connections: one writer connection (every state change is one BEGIN IMMEDIATE transaction)
// and a pool of read-only connections, so readers (SSE followers, the API) never block the
// writer and always see committed state.
//
// Crash safety: committed transactions survive kill -9 (WAL); builds left pending/started are
// found by MarkOrphanedBuildsErrored on the next start.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "baton/common/path_beneath.h"
#include "baton/runner/sql_store.h"

namespace baton::runner {

namespace sqlite {
class Connection;
class ReaderPool;
class WalCheckpointer;
}  // namespace sqlite

struct SqliteStoreOptions : SqlStoreOptions {
  std::chrono::milliseconds busy_timeout{10000};
  // When set, and no other process has the database open, Open errors the builds left pending or
  // started with this message before any other process can start one: they were left by a process
  // that died (a `baton run` killed mid-way). Every open store holds a shared flock on <db>.lock;
  // Open tries it exclusively first, and only then settles. Not for a store whose owner resumes
  // builds (the server settles its own).
  std::optional<std::string> orphan_message;
  // The WAL is copied into the database file once a commit leaves it at this many pages (SQLite's
  // own default), on a thread of the store's, not the committing one (wal_checkpointer.h).
  int wal_checkpoint_pages = 1000;
  // A read finding the writer's connection free runs on it, in a read transaction, instead of on
  // a reader's: for one process that reads little while it writes (`baton run`), which then
  // opens no reader, each of which parses the whole schema again (~0.3 ms of its start). Not for
  // a server: a long read there (a log) would hold up every write meanwhile.
  bool reads_on_idle_writer = false;
};

class SqliteStore final : public SqlStore {
 public:
  // Opens (creating if needed) the database file and migrates it to the current schema.
  // A database written by a newer Baton is kFailedPrecondition. `clock` must outlive the store.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::filesystem::path& db_file,
                                                   const Clock& clock,
                                                   SqliteStoreOptions options = {});
  // Opens <data_dir>/baton.db, creating data_dir.
  static Result<std::unique_ptr<SqliteStore>> OpenDataDir(const std::filesystem::path& data_dir,
                                                          const Clock& clock,
                                                          SqliteStoreOptions options = {});
  // The schema version this Baton writes.
  static int LatestSchemaVersion();

  ~SqliteStore() override;  // commits queued events, then closes

  // PRAGMA integrity_check; OK when the file is sound.
  Status CheckIntegrity();
  Result<int> SchemaVersion();

  // Checkpoints the store's checkpointer thread has run so far.
  int64_t wal_checkpoints() const;

  // The builds Open errored (SqliteStoreOptions::orphan_message), oldest first.
  const std::vector<Build>& settled_orphans() const { return settled_orphans_; }

 private:
  SqliteStore(const Clock& clock, SqliteStoreOptions options);
  Status Initialize(const std::filesystem::path& db_file);
  // The checkpointer, the readers and the event writer, once the schema is there.
  Status StartConnections(const std::filesystem::path& db_file, int busy_ms);
  // Takes the flock on <db>.lock: exclusive if no other store has the file open, else shared.
  Status LockUsers(const std::filesystem::path& db_file, bool* alone);
  Status SettleOrphans(bool alone);
  Status WriteLocked(const Body& body) override;
  Status Read(const Body& body) override;
  // The writer's page cache, and the idle readers closed.
  void ReleaseConnectionCachesLocked() override;

  const std::chrono::milliseconds busy_timeout_;
  const int wal_checkpoint_pages_;
  const bool reads_on_idle_writer_;
  // Before writer_: the writer's commit hook calls it until the writer is closed.
  std::unique_ptr<sqlite::WalCheckpointer> checkpointer_;
  std::unique_ptr<sqlite::Connection> writer_;  // used under SqlStore's write mutex
  std::unique_ptr<sqlite::ReaderPool> readers_;
  std::optional<std::string> orphan_message_;
  ScopedFd users_lock_;  // flock'd on <db>.lock while the store is open
  std::vector<Build> settled_orphans_;
};

}  // namespace baton::runner
