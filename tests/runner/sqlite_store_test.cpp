// What is SQLite's own, beyond the role contracts (store_*_conformance_test.cpp): the file in
// the data dir, migrations (PRAGMA user_version), integrity, and the W4 measurement.
#include "baton/runner/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "fakes/fake_clock.h"
#include "fakes/test_env.h"

namespace baton::runner {
namespace {

using testing::FakeClock;
using testing::TempDir;

class SqliteStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::OpenDataDir(dir_.path() / "data", clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  PipelineUpdate Update(const std::string& name, std::vector<std::string> jobs,
                        std::vector<std::string> resources) {
    PipelineUpdate u;
    u.name = name;
    u.yaml = "jobs: []\n";
    u.config = Json{{"jobs", jobs}};
    u.vars = Json{{"branch", "main"}};
    for (auto& j : jobs) u.jobs.push_back(JobSpec{j, "", Json{{"name", j}}});
    for (auto& r : resources) u.resources.push_back(ResourceSpec{r, "", "git", "hash-1", {}});
    return u;
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(SqliteStoreTest, OpeningCreatesTheDatabaseInTheDataDirWithTheMainTeam) {
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "data" / "baton.db"));
  auto team = store_->GetTeam("main");
  ASSERT_TRUE(team.ok()) << team.status().ToString();
  EXPECT_EQ(team->name, "main");
  EXPECT_EQ(*store_->SchemaVersion(), SqliteStore::LatestSchemaVersion());
  EXPECT_TRUE(store_->CheckIntegrity().ok());
}

TEST_F(SqliteStoreTest, ReopeningKeepsDataAndDoesNotRerunMigrations) {
  ASSERT_TRUE(store_->CreateTeam("ops").ok());
  store_.reset();
  auto again = SqliteStore::OpenDataDir(dir_.path() / "data", clock_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->ListTeams()->size(), 2u);
}

// The commits in a WAL file: frames whose header names the database's size after them.
int CommitsInWal(const std::filesystem::path& wal) {
  std::string bytes = testing::ReadFile(wal);
  auto be32 = [&](size_t at) {
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + at);
    return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
  };
  if (bytes.size() < 32) return 0;
  const size_t frame = 24 + be32(8);  // a frame's header, then one page
  int commits = 0;
  for (size_t at = 32; at + frame <= bytes.size(); at += frame) commits += be32(at + 4) != 0;
  return commits;
}

// The file operations SQLite makes while it is alive, through a VFS over the default one made the
// default: which file each open, write and sync was for ("db", "wal" or "other"), in order. Each
// file is the default VFS's own, with a note of its kind and real methods behind it, and its
// writes and syncs noted on their way to those. One at a time.
class RecordingVfs {
 public:
  RecordingVfs() {
    base_ = sqlite3_vfs_find(nullptr);
    vfs_ = *base_;
    vfs_.zName = "baton-test-recording";
    vfs_.szOsFile = base_->szOsFile + static_cast<int>(sizeof(Tag));
    vfs_.xOpen = &Open;
    current_ = this;
    sqlite3_vfs_register(&vfs_, /*makeDflt=*/1);
  }
  ~RecordingVfs() {
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(base_, /*makeDflt=*/1);
    current_ = nullptr;
  }
  std::vector<std::string> events() {
    std::lock_guard lock(mu_);
    return events_;
  }
  int Count(const std::string& event) {
    auto all = events();
    return static_cast<int>(std::count(all.begin(), all.end(), event));
  }

 private:
  struct Tag {
    const char* kind;
    const sqlite3_io_methods* real;
  };
  static Tag& TagOf(sqlite3_file* file) {
    return *reinterpret_cast<Tag*>(reinterpret_cast<char*>(file) + current_->base_->szOsFile);
  }
  static void Note(const char* what, sqlite3_file* file) {
    std::lock_guard lock(current_->mu_);
    current_->events_.push_back(std::string(what) + " " + TagOf(file).kind);
  }
  static int Open(sqlite3_vfs*, const char* name, sqlite3_file* file, int flags, int* out) {
    RecordingVfs* self = current_;
    int rc = self->base_->xOpen(self->base_, name, file, flags, out);
    if (rc != SQLITE_OK || file->pMethods == nullptr) return rc;
    Tag& tag = TagOf(file);
    tag.kind = (flags & SQLITE_OPEN_MAIN_DB) ? "db" : (flags & SQLITE_OPEN_WAL) ? "wal" : "other";
    tag.real = file->pMethods;
    Note("open", file);
    std::lock_guard lock(self->mu_);
    auto [wrapped, made] = self->wrapped_.try_emplace(tag.real, *tag.real);
    if (made) {  // a database and its WAL have different methods (the WAL takes no locks)
      wrapped->second.xWrite = [](sqlite3_file* f, const void* data, int n, sqlite3_int64 at) {
        Note("write", f);
        return TagOf(f).real->xWrite(f, data, n, at);
      };
      wrapped->second.xSync = [](sqlite3_file* f, int sync_flags) {
        Note("sync", f);
        return TagOf(f).real->xSync(f, sync_flags);
      };
    }
    file->pMethods = &wrapped->second;
    return rc;
  }

  static inline RecordingVfs* current_ = nullptr;
  sqlite3_vfs* base_;
  sqlite3_vfs vfs_;
  std::mutex mu_;
  std::map<const sqlite3_io_methods*, sqlite3_io_methods> wrapped_;  // GUARDED_BY(mu_)
  std::vector<std::string> events_;                                  // GUARDED_BY(mu_)
};

// A new database (every `baton run` on a fresh --data-dir) is written whole from the one the
// build made (fresh_database.h): its WAL holds one commit (the main team's creation time), not the
// schema's pages.
TEST_F(SqliteStoreTest, ANewDatabaseIsWrittenWholeWithOneCommitAfter) {
  EXPECT_EQ(CommitsInWal(dir_.path() / "data" / "baton.db-wal"), 1);
  EXPECT_EQ(*store_->SchemaVersion(), SqliteStore::LatestSchemaVersion());
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "data" / "baton.db.new"));
}

// The schema of a database, one "type name table sql" line per table, index and trigger.
std::string SchemaOf(const std::filesystem::path& db_file) {
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open(db_file.c_str(), &db), SQLITE_OK);
  std::string out;
  sqlite3_exec(
      db, "SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY name",
      [](void* out, int n, char** values, char**) {
        for (int i = 0; i < n; ++i)
          *static_cast<std::string*>(out) += (values[i] ? values[i] : "-");
        *static_cast<std::string*>(out) += "\n";
        return 0;
      },
      &out, nullptr);
  sqlite3_close(db);
  return out;
}

// The database a new store starts from is the one its migrations make on an existing file: the
// build made it by running them, and this fails if the two ever part.
TEST(SqliteStoreCreation, ANewDatabaseHasTheSchemaTheMigrationsMake) {
  TempDir dir;
  FakeClock clock;
  const auto migrated = dir.path() / "migrated.db";
  sqlite3* db = nullptr;  // a database with nothing in it yet, not an empty file: not new
  ASSERT_EQ(sqlite3_open(migrated.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE t (a); DROP TABLE t", nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  ASSERT_TRUE(SqliteStore::Open(migrated, clock).ok());
  ASSERT_TRUE(SqliteStore::Open(dir.path() / "new.db", clock).ok());
  const std::string schema = SchemaOf(dir.path() / "new.db");
  EXPECT_NE(schema.find("CREATE TABLE builds"), std::string::npos);
  EXPECT_EQ(schema, SchemaOf(migrated));
}

// The team `main` of a new database was made now, by the store's clock.
TEST(SqliteStoreCreation, TheMainTeamOfANewDatabaseIsMadeAtTheStoresTime) {
  TempDir dir;
  FakeClock clock;
  clock.SetNow("2024-05-01T12:00:00Z");
  auto store = SqliteStore::Open(dir.path() / "baton.db", clock);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto team = (*store)->GetTeam("main");
  ASSERT_TRUE(team.ok()) << team.status().ToString();
  EXPECT_EQ(ToUnixMillis(team->created_at), ToUnixMillis(clock.Now()));
}

// Closing does not copy the WAL into the database and sync both (most of a short `baton run`'s
// end): the WAL stays, and the next open reads what it holds.
TEST_F(SqliteStoreTest, ClosingLeavesTheWalForTheNextOpen) {
  ASSERT_TRUE(store_->CreateTeam("ops").ok());
  store_.reset();
  const auto wal = dir_.path() / "data" / "baton.db-wal";
  ASSERT_TRUE(std::filesystem::exists(wal));
  EXPECT_GT(std::filesystem::file_size(wal), 0u);
  auto again = SqliteStore::OpenDataDir(dir_.path() / "data", clock_);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ((*again)->ListTeams()->size(), 2u);
  EXPECT_TRUE((*again)->CheckIntegrity().ok());
}

TEST_F(SqliteStoreTest, ADatabaseFromANewerBatonIsRefusedWithAClearError) {
  store_.reset();
  const std::string path = (dir_.path() / "data" / "baton.db").string();
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 999", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto store = SqliteStore::Open(path, clock_);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("newer"), std::string::npos);
}

TEST_F(SqliteStoreTest, TheFileStaysSoundAfterAPipelineWithBuildsAndEventsIsDestroyed) {
  auto p = store_->SetPipeline(Update("app", {"build"}, {"repo"}));
  auto job = store_->GetJob(p->id, "build");
  auto build = store_->CreateJobBuild(job->id, Json::object());
  ASSERT_TRUE(
      store_->AppendEvents(build->id, {BuildEvent{0, {}, "s", "log", "stdout", "hi"}}).ok());
  ASSERT_TRUE(store_->Flush().ok());
  ASSERT_TRUE(store_->DestroyPipeline("main", "app").ok());
  EXPECT_TRUE(store_->CheckIntegrity().ok());
}

// A server's readers stay open between requests, each with its page cache: reading a long log
// back must not leave mebibytes cached per reader (RSS once quiet, docs/benchmarks.md).
TEST(SqliteStoreEvents, ReadingALongLogBackLeavesLittleCachedInTheReader) {
  TempDir dir;
  auto store = SqliteStore::Open(dir / "baton.db", RealClock());
  ASSERT_TRUE(store.ok());
  auto build = (*store)->CreateOneOffBuild("main", 0, Json::object());
  constexpr int kLines = 50000;  // ~5 MB of text
  for (int i = 0; i < kLines; i += 500) {
    std::vector<BuildEvent> batch;
    for (int j = i; j < i + 500; ++j)
      batch.push_back(BuildEvent{0, {}, "t", "log", "stdout", std::string(100, 'a' + j % 26)});
    ASSERT_TRUE((*store)->AppendEvents(build->id, std::move(batch)).ok());
  }
  ASSERT_TRUE((*store)->FinishBuild(build->id, BuildStatus::kErrored).ok());  // flushes
  const sqlite3_int64 before = sqlite3_memory_used();
  int64_t after_seq = 0;
  for (;;) {
    auto page = (*store)->ReadEvents(build->id, after_seq, 1000);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    after_seq = page->back().seq;
  }
  ASSERT_EQ(after_seq, kLines);
  EXPECT_LT(sqlite3_memory_used() - before, 1 << 20);  // a reader keeps up to 512 KiB of pages
}

// Once a server is quiet it gives back what the store caches (RSS once quiet,
// docs/benchmarks.md): the writer's page cache, which a long log fills to SQLite's 2 MiB, and the
// idle readers'. Writing and reading go on as before afterwards.
TEST(SqliteStoreEvents, ReleasingCachesGivesBackThePagesALongLogFilled) {
  TempDir dir;
  auto store = SqliteStore::Open(dir / "baton.db", RealClock());
  ASSERT_TRUE(store.ok());
  auto build = (*store)->CreateOneOffBuild("main", 0, Json::object());
  std::mt19937 random(16);
  auto line = [&] {  // 100 random letters: they compress little, so chunks stay ~4 MB in all
    std::string text(100, 'a');
    for (char& c : text) c = static_cast<char>('a' + random() % 26);
    return text;
  };
  auto append = [&](int from, int count) {
    for (int i = from; i < from + count; i += 500) {
      std::vector<BuildEvent> batch;
      for (int j = i; j < i + 500; ++j)
        batch.push_back(BuildEvent{0, {}, "t", "log", "stdout", line()});
      ASSERT_TRUE((*store)->AppendEvents(build->id, std::move(batch)).ok());
    }
    ASSERT_TRUE((*store)->Flush().ok());
  };
  append(0, 50000);
  ASSERT_EQ((*store)->ReadEvents(build->id, 49990, 100)->size(), 10u);
  const sqlite3_int64 filled = sqlite3_memory_used();
  (*store)->ReleaseCaches();
  const sqlite3_int64 released = sqlite3_memory_used();
  EXPECT_GT(filled - released, 1 << 20) << "SQLite kept " << released << " of " << filled;
  append(50000, 1000);
  auto last = (*store)->ReadEvents(build->id, 50990, 100);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 10u);
  EXPECT_EQ(last->back().seq, 51000);
  EXPECT_EQ(last->back().payload.size(), 100u);
}

// The names of the files created in `dir` while `fn` ran (inotify: every creation is queued,
// so nothing is missed however briefly the file lived).
std::vector<std::string> FilesCreatedInStoreDirWhile(const std::filesystem::path& dir,
                                                     const std::function<void()>& fn) {
  std::vector<std::string> names;
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0 || inotify_add_watch(fd, dir.c_str(), IN_CREATE) < 0) {
    ADD_FAILURE() << "inotify: " << std::strerror(errno);
    if (fd >= 0) close(fd);
    return names;
  }
  fn();
  alignas(inotify_event) char buffer[16384];
  ssize_t n;
  while ((n = read(fd, buffer, sizeof buffer)) > 0) {
    for (char* p = buffer; p < buffer + n;) {
      auto* event = reinterpret_cast<inotify_event*>(p);
      if (event->len > 0) names.emplace_back(event->name);
      p += sizeof(inotify_event) + event->len;
    }
  }
  close(fd);
  return names;
}

// Switching a new file to WAL through a rollback journal cost five fdatasyncs and the journal's
// unlink (20-35 ms of `baton run`'s start); a new database needs neither.
TEST(SqliteStoreCreation, ANewDatabaseIsMadeWithoutARollbackJournal) {
  TempDir dir;
  FakeClock clock;
  std::unique_ptr<SqliteStore> store;
  auto created = FilesCreatedInStoreDirWhile(dir.path(), [&] {
    auto opened = SqliteStore::Open(dir.path() / "baton.db", clock);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    store = std::move(*opened);
  });
  // Written as baton.db.new and renamed (fresh_database.h).
  EXPECT_NE(std::find(created.begin(), created.end(), "baton.db.new"), created.end());
  EXPECT_TRUE(std::filesystem::exists(dir.path() / "baton.db"));
  EXPECT_EQ(std::find(created.begin(), created.end(), "baton.db-journal"), created.end());
  EXPECT_EQ(*store->SchemaVersion(), SqliteStore::LatestSchemaVersion());
  EXPECT_TRUE(store->CheckIntegrity().ok());
}

// What a creation that stopped before its first write leaves (or a power loss before the
// schema reached the disk) is made again on the next open.
TEST(SqliteStoreCreation, AnEmptyDatabaseFileIsCreatedAgain) {
  TempDir dir;
  FakeClock clock;
  testing::WriteFile(dir.path() / "baton.db", "");
  auto store = SqliteStore::Open(dir.path() / "baton.db", clock);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(*(*store)->SchemaVersion(), SqliteStore::LatestSchemaVersion());
  EXPECT_TRUE((*store)->GetTeam("main").ok());
  store->reset();
  auto again = SqliteStore::Open(dir.path() / "baton.db", clock);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE((*again)->CheckIntegrity().ok());
}

// A checkpoint racing the writer may copy nothing: it stops at the frame the writer's
// transaction reads from, and a page whose latest frame is past that is left for the next one
// (every page the teams touch, when each commit rewrites them), or it finds the writer's lock and
// gives up (busy). Either way the next commit past the threshold asks again (WalCheckpointer). So
// while the store has checkpointed and `written` does not hold yet, this makes one more team
// (team-<next>, team-<next+1>, ...) every 5 ms, for up to 10 s; it returns the next free number.
// CI met the race once; a loop of the first test below met it about once in 1,000 under load.
int MoreTeamsUntilACheckpointHasWritten(SqliteStore& store, int next,
                                        const std::function<bool()>& written) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    // In this order: a checkpoint is counted once it has written what it could.
    const bool checkpointed = store.wal_checkpoints() > 0;
    if ((checkpointed && written()) || std::chrono::steady_clock::now() > deadline) return next;
    if (checkpointed) {
      EXPECT_TRUE(store.CreateTeam("team-" + std::to_string(next++)).ok());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

// The first commit in a new database writes its new WAL's header, which synchronous=NORMAL syncs
// at once, with the directory: two fdatasyncs on `baton run`'s way to its first task. A new WAL
// has no old frames for a header lost to a power loss to revive, so nothing is synced until the
// first checkpoint, and that syncs the WAL before it writes a page of the database file.
TEST(SqliteStoreCreation, ANewDatabaseSyncsNothingBeforeItsFirstCheckpoint) {
  TempDir dir;
  RecordingVfs vfs;
  SqliteStoreOptions options;
  options.wal_checkpoint_pages = 16;
  auto store = SqliteStore::Open(dir / "baton.db", RealClock(), options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->CreateTeam("first").ok());
  EXPECT_EQ(vfs.Count("sync wal") + vfs.Count("sync db"), 0);
  EXPECT_GE(vfs.Count("write wal"), 2) << "the creation time's commit, then the team's";
  for (int i = 0; i < 40; ++i) ASSERT_TRUE((*store)->CreateTeam("team-" + std::to_string(i)).ok());
  const int next_team =
      MoreTeamsUntilACheckpointHasWritten(**store, 40, [&] { return vfs.Count("write db") > 0; });
  ASSERT_GE((*store)->wal_checkpoints(), 1);
  auto events = vfs.events();
  auto first_wal_sync = std::find(events.begin(), events.end(), "sync wal");
  auto first_db_write = std::find(events.begin(), events.end(), "write db");
  ASSERT_NE(first_wal_sync, events.end()) << "the checkpoint syncs the WAL";
  ASSERT_NE(first_db_write, events.end()) << "the checkpoint copies pages into the file";
  EXPECT_LT(first_wal_sync - events.begin(), first_db_write - events.begin())
      << "the WAL (its header with it) is on the disk before the file is written";
  EXPECT_TRUE((*store)->CheckIntegrity().ok());
  EXPECT_EQ((*store)->ListTeams()->size(), static_cast<size_t>(2 + next_team))
      << "main, first and team-0 to team-" << next_team - 1;
}

// `baton run` reads little, on the thread that writes: with reads_on_idle_writer its reads use
// the writer's connection, so no reader is opened (each would parse the whole schema again).
// Without it, the first read opens one.
TEST(SqliteStoreReads, OnTheIdleWriterNoReaderIsOpened) {
  for (bool on_writer : {true, false}) {
    SCOPED_TRACE(on_writer ? "reads_on_idle_writer" : "readers");
    TempDir dir;
    RecordingVfs vfs;
    SqliteStoreOptions options;
    options.reads_on_idle_writer = on_writer;
    auto store = SqliteStore::Open(dir / "baton.db", RealClock(), options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE((*store)->CreateTeam("ops").ok());
    auto teams = (*store)->ListTeams();
    ASSERT_TRUE(teams.ok()) << teams.status().ToString();
    EXPECT_EQ(teams->size(), 2u) << "a read sees every commit before it";
    EXPECT_TRUE((*store)->GetTeam("ops").ok());
    EXPECT_EQ(vfs.Count("open db"), on_writer ? 1 : 2);
  }
}

// W4: one job printing 200,000 lines (~20 MB). Reports rows/s and the size on disk.
TEST(SqliteStoreEvents, TwoHundredThousandLinesAreStoredQuicklyAndCompactly) {
  constexpr int kLines = 200000;
  std::vector<double> rates;
  std::vector<int64_t> sizes;
  int64_t payload_bytes = 0;
  for (int run = 0; run < 3; ++run) {
    TempDir dir;
    auto store = SqliteStore::Open(dir / "baton.db", RealClock());
    ASSERT_TRUE(store.ok());
    auto build = (*store)->CreateOneOffBuild("main", 0, Json::object());
    payload_bytes = 0;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kLines; i += 100) {
      std::vector<BuildEvent> batch;
      batch.reserve(100);
      for (int j = i; j < i + 100; ++j) {
        char text[128];
        std::snprintf(text, sizeof text,
                      "[%06d] compiling src/module_%03d/file_%05d.cpp -> obj/file_%05d.o (ok) %s",
                      j, j % 997, j, j, "................");
        payload_bytes += static_cast<int64_t>(strlen(text));
        batch.push_back(
            BuildEvent{0, {}, "task:compile", "log", j % 10 == 0 ? "stderr" : "stdout", text});
      }
      ASSERT_TRUE((*store)->AppendEvents(build->id, std::move(batch)).ok());
    }
    ASSERT_TRUE((*store)->FinishBuild(build->id, BuildStatus::kErrored).ok());  // flushes
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rates.push_back(kLines / seconds);
    auto last = (*store)->ReadEvents(build->id, kLines - 1, 10);
    ASSERT_EQ(last->size(), 1u);
    EXPECT_EQ(last->front().seq, kLines);
    store->reset();  // checkpoints the WAL into the file
    sizes.push_back(static_cast<int64_t>(std::filesystem::file_size(dir / "baton.db")));
  }
  std::sort(rates.begin(), rates.end());
  std::sort(sizes.begin(), sizes.end());
  std::printf(
      "[ W4 ] %d lines, %.1f MB payload: median %.0f lines/s (%.0f/%.0f/%.0f), "
      "db %.1f MB\n",
      kLines, payload_bytes / 1e6, rates[1], rates[0], rates[1], rates[2], sizes[1] / 1e6);
  RecordProperty("lines_per_second", static_cast<int>(rates[1]));
  RecordProperty("db_bytes", static_cast<int>(sizes[1]));
  EXPECT_GT(rates[1], 20000.0);                  // generous: shared 2-core machine
  EXPECT_LT(sizes[1], payload_bytes * 12 / 10);  // < 20% overhead over the raw text
}

// Rows of `sql` (one integer column) in the database file alone: a copy of it without its WAL.
int64_t CountInFileAlone(const std::filesystem::path& db_file, const std::string& sql) {
  TempDir copy;
  std::filesystem::copy_file(db_file, copy / "alone.db");
  sqlite3* db = nullptr;
  int64_t count = -1;
  if (sqlite3_open((copy / "alone.db").c_str(), &db) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
      count = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return count;
}

// Once a commit leaves the WAL past SqliteStoreOptions::wal_checkpoint_pages, the store's own
// thread copies it into the database file (a PASSIVE checkpoint): the committing thread - the
// scheduler's, in `baton run` - no longer waits for the copy and its two fdatasyncs. Nothing
// past the threshold, no checkpoint and no thread.
TEST(SqliteStoreCheckpoint, TheWalPastTheThresholdIsCopiedIntoTheFileByTheStoresThread) {
  TempDir dir;
  SqliteStoreOptions options;
  options.wal_checkpoint_pages = 16;
  auto store = SqliteStore::Open(dir / "baton.db", RealClock(), options);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_TRUE((*store)->CreateTeam("first").ok());
  EXPECT_EQ((*store)->wal_checkpoints(), 0) << "one small commit is below the threshold";
  auto first_in_file = [&] {
    return CountInFileAlone(dir / "baton.db", "SELECT count(*) FROM teams WHERE name='first'");
  };
  EXPECT_NE(first_in_file(), 1)
      << "not checkpointed yet: the team (and a new file's schema) are in the WAL only";
  for (int i = 0; i < 40; ++i) {
    ASSERT_TRUE((*store)->CreateTeam("team-" + std::to_string(i)).ok());
  }
  const int next_team =
      MoreTeamsUntilACheckpointHasWritten(**store, 40, [&] { return first_in_file() == 1; });
  EXPECT_GE((*store)->wal_checkpoints(), 1);
  EXPECT_EQ(first_in_file(), 1) << "the checkpoint copied the first commits into the file";
  EXPECT_TRUE((*store)->CheckIntegrity().ok());
  // Every commit is there for the store itself, checkpointed or not.
  EXPECT_EQ((*store)->ListTeams()->size(), static_cast<size_t>(2 + next_team));
}

}  // namespace
}  // namespace baton::runner
