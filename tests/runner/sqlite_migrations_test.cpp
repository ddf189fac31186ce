// The SQLite store's migrations on a database an older Baton wrote: what they rebuild keeps its
// rows.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <string>

#include "baton/runner/sqlite_store.h"
#include "fakes/fake_clock.h"
#include "fakes/test_env.h"

namespace baton::runner {
namespace {

using testing::FakeClock;
using testing::TempDir;

// Runs `sql` on the database file; "" when it succeeded, else SQLite's message.
std::string ExecOn(const std::filesystem::path& db_file, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_open(db_file.c_str(), &db);
  char* message = nullptr;
  std::string error;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
    error = message ? message : "failed";
  }
  sqlite3_free(message);
  sqlite3_close(db);
  return error;
}

// build_inputs as schema 4 had it: a rowid table beside its primary key's index.
constexpr const char* kBackToSchema4 = R"sql(
CREATE TABLE build_inputs_v4 (
  build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  resource_version_id INTEGER NOT NULL REFERENCES resource_versions(id) ON DELETE CASCADE,
  first_occurrence INTEGER NOT NULL,
  PRIMARY KEY (build_id, name)
);
INSERT INTO build_inputs_v4
  SELECT build_id, name, resource_version_id, first_occurrence FROM build_inputs;
DROP TABLE build_inputs;
ALTER TABLE build_inputs_v4 RENAME TO build_inputs;
CREATE INDEX build_inputs_by_version ON build_inputs (resource_version_id);
PRAGMA user_version = 4;
)sql";

// build_inputs as schema 5 had it: without the build's job.
constexpr const char* kBackToSchema5 = R"sql(
DROP INDEX build_inputs_by_job;
ALTER TABLE build_inputs DROP COLUMN job_id;
PRAGMA user_version = 5;
)sql";

// A store with pipeline `app` (jobs `build` and `test`, resource `repo` at version `a`) and one
// build of `build` that had repo@a as its input, written by this Baton; each test takes it back to
// an older schema and opens it again.
class SqliteMigrations : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::Open(db_file_, clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    PipelineUpdate u;
    u.name = "app";
    u.yaml = "jobs: []\n";
    u.config = Json{{"jobs", {"build", "test"}}};
    u.jobs.push_back(JobSpec{"build", "", Json{{"name", "build"}}});
    u.jobs.push_back(JobSpec{"test", "", Json{{"name", "test"}}});
    u.resources.push_back(ResourceSpec{"repo", "", "git", "hash-1", {}});
    auto p = (*store)->SetPipeline(u);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    build_job_ = (*store)->GetJob(p->id, "build")->id;
    test_job_ = (*store)->GetJob(p->id, "test")->id;
    repo_ = (*store)->GetResource(p->id, "repo")->id;
    auto v = (*store)->SaveResourceVersions(repo_, {VersionFound{Json{{"ref", "a"}}, {}}});
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    version_ = v->front().id;
    auto b = (*store)->CreateStartedJobBuild(build_job_, Json::object(), {RepoA()});
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    build_id_ = b->id;
  }
  BuildInput RepoA() const { return BuildInput{"repo", version_, repo_, {}, true}; }
  // Runs `back` (SQL that makes the file an older schema's), then opens the store, which
  // migrates it to the latest schema.
  std::unique_ptr<SqliteStore> OpenAfter(const std::string& back) {
    EXPECT_EQ(ExecOn(db_file_, back), "");
    auto store = SqliteStore::Open(db_file_, clock_);
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return nullptr;
    EXPECT_EQ(*(*store)->SchemaVersion(), SqliteStore::LatestSchemaVersion());
    return std::move(*store);
  }

  TempDir dir_;
  FakeClock clock_;
  const std::filesystem::path db_file_ = dir_.path() / "baton.db";
  Id build_job_ = 0, test_job_ = 0, repo_ = 0, version_ = 0, build_id_ = 0;
};

TEST_F(SqliteMigrations, ABuildsInputsFromSchema4AreKeptInTheirTableWithoutRowids) {
  auto store = OpenAfter(std::string(kBackToSchema5) + kBackToSchema4);
  ASSERT_TRUE(store);
  auto inputs = store->ListBuildInputs(build_id_);
  ASSERT_TRUE(inputs.ok()) << inputs.status().ToString();
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ((*inputs)[0].name, "repo");
  EXPECT_TRUE((*inputs)[0].first_occurrence);
  EXPECT_TRUE(store->CheckIntegrity().ok());
  store.reset();
  EXPECT_EQ(ExecOn(db_file_, "SELECT rowid FROM build_inputs"), "no such column: rowid");
}

// Schema 6 gives each input its build's job; the inputs already there get theirs, so a job's
// next build with the same version is no first occurrence, and another job's first build is.
TEST_F(SqliteMigrations, ABuildsInputsFromSchema5GetTheirBuildsJob) {
  auto store = OpenAfter(kBackToSchema5);
  ASSERT_TRUE(store);
  auto again = store->CreateStartedJobBuild(build_job_, Json::object(), {RepoA()});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto other = store->CreateStartedJobBuild(test_job_, Json::object(), {RepoA()});
  ASSERT_TRUE(other.ok()) << other.status().ToString();
  EXPECT_FALSE(store->ListBuildInputs(again->id)->at(0).first_occurrence)
      << "the job's build before the migration had repo@a";
  EXPECT_TRUE(store->ListBuildInputs(other->id)->at(0).first_occurrence)
      << "another job's build is not this job's";
  EXPECT_TRUE(store->ListBuildInputs(build_id_)->at(0).first_occurrence);
  EXPECT_TRUE(store->CheckIntegrity().ok());
  store.reset();
  EXPECT_EQ(ExecOn(db_file_, "DROP INDEX build_inputs_by_job"), "") << "made by the migration";
}

}  // namespace
}  // namespace baton::runner
