// SqliteStore against a real SQLite file: opening, migrations, teams, pipelines, jobs,
// resources and versions.
#include "baton/runner/sqlite_store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

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

TEST_F(SqliteStoreTest, CreatingATeamTwiceIsAlreadyExists) {
  ASSERT_TRUE(store_->CreateTeam("ops").ok());
  EXPECT_EQ(store_->CreateTeam("ops").status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->GetTeam("nope").status().code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, SetPipelineKeepsEveryConfigVersion) {
  auto v1 = store_->SetPipeline(Update("app", {"build"}, {"repo"}));
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(v1->config_version, 1);
  EXPECT_TRUE(v1->paused);  // Concourse creates pipelines paused
  PipelineUpdate second = Update("app", {"build", "test"}, {"repo"});
  second.yaml = "second";
  auto v2 = store_->SetPipeline(second);
  ASSERT_TRUE(v2.ok());
  EXPECT_EQ(v2->config_version, 2);
  EXPECT_EQ(v2->id, v1->id);

  auto current = store_->GetPipelineConfig(v1->id, 0);
  ASSERT_TRUE(current.ok()) << current.status().ToString();
  EXPECT_EQ(current->version, 2);
  EXPECT_EQ(current->yaml, "second");
  EXPECT_EQ(current->vars["branch"], "main");
  auto first = store_->GetPipelineConfig(v1->id, 1);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->yaml, "jobs: []\n");
  EXPECT_EQ(store_->GetPipelineConfig(v1->id, 3).status().code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, AStaleExpectedVersionIsRejectedAndNothingIsWritten) {
  ASSERT_TRUE(store_->SetPipeline(Update("app", {"build"}, {})).ok());
  PipelineUpdate stale = Update("app", {"other"}, {});
  stale.expected_version = 0;
  auto result = store_->SetPipeline(stale);
  EXPECT_EQ(result.status().code(), StatusCode::kFailedPrecondition);
  auto pipeline = store_->GetPipeline("main", "app");
  EXPECT_EQ(pipeline->config_version, 1);
  auto jobs = store_->ListJobs(pipeline->id);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].name, "build");

  stale.expected_version = 1;
  EXPECT_TRUE(store_->SetPipeline(stale).ok());
}

TEST_F(SqliteStoreTest, SetPipelineInAnUnknownTeamIsNotFound) {
  PipelineUpdate u = Update("app", {}, {});
  u.team = "ghosts";
  EXPECT_EQ(store_->SetPipeline(u).status().code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, JobsMissingFromANewConfigBecomeInactiveAndRenamesKeepHistory) {
  auto p = store_->SetPipeline(Update("app", {"build", "test"}, {}));
  auto build_job = store_->GetJob(p->id, "build");
  ASSERT_TRUE(build_job.ok());
  ASSERT_TRUE(store_->CreateJobBuild(build_job->id, Json::object()).ok());

  PipelineUpdate renamed = Update("app", {"compile"}, {});
  renamed.jobs[0].old_name = "build";
  ASSERT_TRUE(store_->SetPipeline(renamed).ok());
  auto jobs = store_->ListJobs(p->id);
  ASSERT_EQ(jobs->size(), 1u);
  EXPECT_EQ((*jobs)[0].name, "compile");
  EXPECT_EQ((*jobs)[0].id, build_job->id);
  EXPECT_EQ((*jobs)[0].next_build_number, 2);
  auto test_job = store_->GetJob(p->id, "test");
  ASSERT_TRUE(test_job.ok());
  EXPECT_FALSE(test_job->active);
}

TEST_F(SqliteStoreTest, PausingAndExposingAPipelineAndPausingAJob) {
  auto p = store_->SetPipeline(Update("app", {"build"}, {}));
  ASSERT_TRUE(store_->SetPipelinePaused(p->id, false).ok());
  ASSERT_TRUE(store_->SetPipelinePublic(p->id, true).ok());
  auto after = store_->GetPipelineById(p->id);
  EXPECT_FALSE(after->paused);
  EXPECT_TRUE(after->public_);
  auto job = store_->GetJob(p->id, "build");
  ASSERT_TRUE(store_->SetJobPaused(job->id, true).ok());
  EXPECT_TRUE(store_->GetJobById(job->id)->paused);
  EXPECT_EQ(store_->SetPipelinePaused(999, true).code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, ListPipelinesFiltersByTeam) {
  ASSERT_TRUE(store_->CreateTeam("ops").ok());
  ASSERT_TRUE(store_->SetPipeline(Update("b", {}, {})).ok());
  PipelineUpdate other = Update("a", {}, {});
  other.team = "ops";
  ASSERT_TRUE(store_->SetPipeline(other).ok());
  EXPECT_EQ(store_->ListPipelines("")->size(), 2u);
  auto mains = store_->ListPipelines("main");
  ASSERT_EQ(mains->size(), 1u);
  EXPECT_EQ((*mains)[0].name, "b");
}

TEST_F(SqliteStoreTest, ResourceVersionsAreSavedIdempotentlyInCheckOrder) {
  auto p = store_->SetPipeline(Update("app", {}, {"repo"}));
  auto repo = store_->GetResource(p->id, "repo");
  ASSERT_TRUE(repo.ok());
  std::vector<VersionFound> found = {{Json{{"ref", "a"}}, Json::array()},
                                     {Json{{"ref", "b"}}, Json::array()}};
  auto first = store_->SaveResourceVersions(repo->id, found);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  // A re-check returns b again plus a new c: b keeps its place, c is newest.
  auto second = store_->SaveResourceVersions(
      repo->id, {{Json{{"ref", "b"}}, Json::array({{{"name", "author"}, {"value", "x"}}})},
                 {Json{{"ref", "c"}}, Json::array()}});
  ASSERT_TRUE(second.ok());
  EXPECT_EQ((*second)[0].id, (*first)[1].id);
  auto versions = store_->ListResourceVersions(repo->id, VersionPage{});
  ASSERT_EQ(versions->size(), 3u);
  EXPECT_EQ((*versions)[0].version["ref"], "c");
  EXPECT_EQ((*versions)[1].version["ref"], "b");
  EXPECT_EQ((*versions)[1].metadata[0]["value"], "x");
  EXPECT_EQ((*versions)[2].version["ref"], "a");
  auto page = store_->ListResourceVersions(repo->id, VersionPage{(*versions)[1].check_order, 10});
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].version["ref"], "a");
  EXPECT_TRUE(store_->GetResourceById(repo->id)->last_checked_at.has_value());
}

TEST_F(SqliteStoreTest, ChangingTheSourceStartsAFreshVersionHistory) {
  auto p = store_->SetPipeline(Update("app", {}, {"repo"}));
  auto repo = store_->GetResource(p->id, "repo");
  ASSERT_TRUE(store_->SaveResourceVersions(repo->id, {{Json{{"ref", "a"}}, {}}}).ok());
  ASSERT_TRUE(store_->RecordCheckError(repo->id, "boom").ok());
  EXPECT_EQ(store_->GetResourceById(repo->id)->check_error, "boom");
  PipelineUpdate changed = Update("app", {}, {"repo"});
  changed.resources[0].source_hash = "hash-2";
  ASSERT_TRUE(store_->SetPipeline(changed).ok());
  EXPECT_TRUE(store_->ListResourceVersions(repo->id, {})->empty());
  EXPECT_EQ(store_->GetResourceById(repo->id)->check_error, "");
}

TEST_F(SqliteStoreTest, PinningAndFindingVersions) {
  auto p = store_->SetPipeline(Update("app", {}, {"repo"}));
  auto repo = store_->GetResource(p->id, "repo");
  auto saved = store_->SaveResourceVersions(
      repo->id, {{Json{{"ref", "a"}, {"branch", "x"}}, {}}, {Json{{"ref", "b"}}, {}}});
  auto found = store_->FindResourceVersion(repo->id, Json{{"ref", "a"}});
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  EXPECT_EQ(found->id, (*saved)[0].id);
  EXPECT_EQ(store_->FindResourceVersion(repo->id, Json{{"ref", "z"}}).status().code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(store_->PinResourceVersion(repo->id, found->id, "hotfix").ok());
  EXPECT_EQ(store_->GetResourceById(repo->id)->pinned_version_id, found->id);
  EXPECT_EQ(store_->GetResourceById(repo->id)->pin_comment, "hotfix");
  ASSERT_TRUE(store_->PinResourceVersion(repo->id, 0, "").ok());
  EXPECT_EQ(store_->GetResourceById(repo->id)->pinned_version_id, 0);
  EXPECT_EQ(store_->PinResourceVersion(repo->id, 12345, "").code(), StatusCode::kNotFound);
}

TEST_F(SqliteStoreTest, DestroyingAPipelineDeletesItsJobsBuildsAndEvents) {
  auto p = store_->SetPipeline(Update("app", {"build"}, {"repo"}));
  auto job = store_->GetJob(p->id, "build");
  auto build = store_->CreateJobBuild(job->id, Json::object());
  ASSERT_TRUE(
      store_->AppendEvents(build->id, {BuildEvent{0, {}, "s", "log", "stdout", "hi"}}).ok());
  ASSERT_TRUE(store_->Flush().ok());
  ASSERT_TRUE(store_->DestroyPipeline("main", "app").ok());
  EXPECT_EQ(store_->GetPipeline("main", "app").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->GetBuild(build->id).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->ReadEvents(build->id, 0, 10)->empty());
  EXPECT_EQ(store_->DestroyPipeline("main", "app").code(), StatusCode::kNotFound);
  EXPECT_TRUE(store_->CheckIntegrity().ok());
}

}  // namespace
}  // namespace baton::runner
