// SqliteStore: opening, migrations, the writer connection and the reader pool, checks.
#include "baton/runner/sqlite_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

#include "fresh_database.h"
#include "migrations.h"
#include "reader_pool.h"
#include "sqlite_db.h"
#include "wal_checkpointer.h"

namespace baton::runner {

SqliteStore::SqliteStore(const Clock& clock, SqliteStoreOptions options)
    : SqlStore(clock, options),
      busy_timeout_(options.busy_timeout),
      wal_checkpoint_pages_(options.wal_checkpoint_pages),
      reads_on_idle_writer_(options.reads_on_idle_writer),
      orphan_message_(options.orphan_message) {}

SqliteStore::~SqliteStore() {
  StopEventWriter();
  writer_.reset();        // the last commit is made; its hook no longer calls the checkpointer
  checkpointer_.reset();  // its thread ends before the database's lock is let go
}

int64_t SqliteStore::wal_checkpoints() const {
  return checkpointer_ ? checkpointer_->checkpoints() : 0;
}

int SqliteStore::LatestSchemaVersion() { return sqlite::LatestSchemaVersion(); }

Result<std::unique_ptr<SqliteStore>> SqliteStore::Open(const std::filesystem::path& db_file,
                                                       const Clock& clock,
                                                       SqliteStoreOptions options) {
  std::unique_ptr<SqliteStore> store(new SqliteStore(clock, options));
  bool alone = false;
  Status status = store->LockUsers(db_file, &alone);
  if (status.ok()) status = store->Initialize(db_file);
  if (status.ok()) status = store->SettleOrphans(alone);
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

namespace {

// No file yet, or an empty one (a creation that stopped before its first write).
bool IsNewDatabase(const std::filesystem::path& db_file) {
  std::error_code ec;
  auto size = std::filesystem::file_size(db_file, ec);
  return ec || size == 0;
}

}  // namespace

Status SqliteStore::Initialize(const std::filesystem::path& db_file) {
  const int busy_ms = static_cast<int>(busy_timeout_.count());
  const bool fresh = IsNewDatabase(db_file);
  // A new database is written whole from the one the build made with every migration (see
  // fresh_database.h): no SQL makes its schema. This process holds the users' lock alone here
  // (LockUsers), so no other one has the file open. If it cannot be written, SQL makes it.
  if (fresh && sqlite::kFreshDatabaseImage.schema_version == sqlite::LatestSchemaVersion() &&
      sqlite::WriteFreshDatabase(db_file).ok()) {
    BATON_ASSIGN_OR_RETURN(writer_, sqlite::Connection::Open(db_file.string(), false, busy_ms));
    // The first commit writes the new WAL's header, which synchronous=NORMAL syncs at once, with
    // the directory: two fdatasyncs (~1-4 ms here, on `baton run`'s way to its first task; more
    // on a disk that flushes its cache). The sync keeps a restarted WAL's old frames from passing
    // for new ones after a power loss; a new WAL has none, and the first checkpoint syncs the WAL
    // (header, frames, directory) before it writes a page of the file, until then the image.
    BATON_RETURN_IF_ERROR(writer_->Exec("PRAGMA synchronous=OFF"));
    BATON_RETURN_IF_ERROR(writer_->Run("UPDATE teams SET created_at = ? WHERE name = 'main'",
                                       ToUnixMillis(clock_.Now())));
    BATON_RETURN_IF_ERROR(writer_->Exec("PRAGMA synchronous=NORMAL"));
    return StartConnections(db_file, busy_ms);
  }
  BATON_ASSIGN_OR_RETURN(writer_, sqlite::Connection::Open(db_file.string(), false, busy_ms));
  // A new database is made without waiting for the disk: switching to WAL through a rollback
  // journal and creating the schema cost five fdatasyncs and the journal's unlink (20-35 ms on
  // the benchmark VM, most of `baton run`'s start). Nothing finished exists yet, so nothing can
  // be lost: a kill -9 loses no write the OS has, and after a power loss the schema is at worst
  // not there (no checkpoint copies the WAL into the file before synchronous is NORMAL again),
  // user_version reads 0, and the next open creates it again.
  if (fresh) {
    BATON_RETURN_IF_ERROR(writer_->Exec("PRAGMA synchronous=OFF; PRAGMA journal_mode=MEMORY"));
  }
  BATON_RETURN_IF_ERROR(writer_->Exec("PRAGMA journal_mode=WAL"));
  BATON_RETURN_IF_ERROR(sqlite::Migrate(*writer_));
  if (fresh) BATON_RETURN_IF_ERROR(writer_->Exec("PRAGMA synchronous=NORMAL"));
  return StartConnections(db_file, busy_ms);
}

Status SqliteStore::StartConnections(const std::filesystem::path& db_file, int busy_ms) {
  checkpointer_ =
      std::make_unique<sqlite::WalCheckpointer>(db_file.string(), busy_ms, wal_checkpoint_pages_);
  writer_->OnWalCommit([cp = checkpointer_.get()](int pages) { cp->OnCommit(pages); });
  readers_ =
      std::make_unique<sqlite::ReaderPool>(db_file.string(), busy_ms, options_.max_idle_readers);
  StartEventWriter();
  return Status::Ok();
}

Status SqliteStore::LockUsers(const std::filesystem::path& db_file, bool* alone) {
  std::string path = db_file.string() + ".lock";
  users_lock_ = ScopedFd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (users_lock_.get() < 0) {
    return IoError("cannot open " + path +
                   " (held by every process using the database): " + std::strerror(errno));
  }
  int fd = users_lock_.get();
  if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
    *alone = true;
    return Status::Ok();
  }
  // Another process has the database open; wait out one that is settling what it found.
  while (::flock(fd, LOCK_SH) != 0) {
    if (errno != EINTR) return IoError("cannot lock " + path + ": " + std::strerror(errno));
  }
  return Status::Ok();
}

Status SqliteStore::SettleOrphans(bool alone) {
  if (alone && orphan_message_) {
    BATON_ASSIGN_OR_RETURN(settled_orphans_, MarkOrphanedBuildsErrored(*orphan_message_));
  }
  // From here on other processes may open the database and start builds.
  if (alone && ::flock(users_lock_.get(), LOCK_SH) != 0) {
    return IoError(std::string("cannot share the database's lock: ") + std::strerror(errno));
  }
  return Status::Ok();
}

Status SqliteStore::WriteLocked(const Body& body) {
  sql::Transaction tx(*writer_);
  BATON_RETURN_IF_ERROR(tx.Begin(/*immediate=*/true));
  BATON_RETURN_IF_ERROR(body(*writer_));
  return tx.Commit();
}

Status SqliteStore::Read(const Body& body) {
  if (reads_on_idle_writer_) {
    // Not when this thread writes (a read inside a write's body) or another one does.
    if (std::unique_lock<std::mutex> lock = TryWriteLock(); lock.owns_lock()) {
      sql::Transaction tx(*writer_);
      BATON_RETURN_IF_ERROR(tx.Begin(/*immediate=*/false));
      BATON_RETURN_IF_ERROR(body(*writer_));
      return tx.Commit();
    }
  }
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::Connection> conn, readers_->Acquire());
  Status status;
  {
    sql::Transaction tx(*conn);
    status = tx.Begin(/*immediate=*/false);
    if (status.ok()) status = body(*conn);
    if (status.ok()) status = tx.Commit();
  }
  readers_->Release(std::move(conn));
  return status;
}

void SqliteStore::ReleaseConnectionCachesLocked() {
  if (writer_) writer_->ReleaseMemory();
  if (readers_) readers_->CloseIdle();
}

Status SqliteStore::CheckIntegrity() {
  std::string report;
  BATON_RETURN_IF_ERROR(Read([&](sql::Connection& conn) -> Status {
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
  BATON_RETURN_IF_ERROR(Read([&](sql::Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(version, sqlite::ReadSchemaVersion(conn));
    return Status::Ok();
  }));
  return version;
}

}  // namespace baton::runner
