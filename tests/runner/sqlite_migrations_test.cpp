// The SQLite store's migrations on a database an older Baton wrote: what they rebuild keeps its
// rows.
#include <gtest/gtest.h>
#include <sqlite3.h>

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
INSERT INTO build_inputs_v4 SELECT * FROM build_inputs;
DROP TABLE build_inputs;
ALTER TABLE build_inputs_v4 RENAME TO build_inputs;
CREATE INDEX build_inputs_by_version ON build_inputs (resource_version_id);
PRAGMA user_version = 4;
)sql";

TEST(SqliteMigrations, ABuildsInputsFromSchema4AreKeptInTheirTableWithoutRowids) {
  TempDir dir;
  FakeClock clock;
  const auto db_file = dir.path() / "baton.db";
  Id build_id = 0;
  {
    auto store = SqliteStore::Open(db_file, clock);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    PipelineUpdate u;
    u.name = "app";
    u.yaml = "jobs: []\n";
    u.config = Json{{"jobs", {"build"}}};
    u.jobs.push_back(JobSpec{"build", "", Json{{"name", "build"}}});
    u.resources.push_back(ResourceSpec{"repo", "", "git", "hash-1", {}});
    auto p = (*store)->SetPipeline(u);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    const Id repo = (*store)->GetResource(p->id, "repo")->id;
    auto v = (*store)->SaveResourceVersions(repo, {VersionFound{Json{{"ref", "a"}}, {}}});
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    auto b = (*store)->CreateStartedJobBuild((*store)->GetJob(p->id, "build")->id, Json::object(),
                                             {BuildInput{"repo", v->front().id, repo, {}, true}});
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    build_id = b->id;
  }
  ASSERT_EQ(ExecOn(db_file, kBackToSchema4), "");

  auto store = SqliteStore::Open(db_file, clock);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_EQ(*(*store)->SchemaVersion(), SqliteStore::LatestSchemaVersion());
  auto inputs = (*store)->ListBuildInputs(build_id);
  ASSERT_TRUE(inputs.ok()) << inputs.status().ToString();
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ((*inputs)[0].name, "repo");
  EXPECT_TRUE((*inputs)[0].first_occurrence);
  EXPECT_TRUE((*store)->CheckIntegrity().ok());
  store->reset();
  EXPECT_EQ(ExecOn(db_file, "SELECT rowid FROM build_inputs"), "no such column: rowid");
}

}  // namespace
}  // namespace baton::runner
