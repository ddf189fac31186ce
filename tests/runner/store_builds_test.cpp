// SqliteStore builds: numbering, lifecycle transitions, inputs/outputs, orphans, retention.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "baton/runner/sqlite_store.h"
#include "fakes/fake_clock.h"
#include "fakes/test_env.h"

namespace baton::runner {
namespace {

using testing::FakeClock;
using testing::TempDir;

class StoreBuildsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::Open(dir_ / "baton.db", clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    PipelineUpdate u;
    u.name = "app";
    u.jobs = {JobSpec{"build", "", {}}, JobSpec{"test", "", {}}};
    u.resources = {ResourceSpec{"repo", "", "git", "h", {}}};
    auto p = store_->SetPipeline(u);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    job_ = store_->GetJob(p->id, "build")->id;
    other_job_ = store_->GetJob(p->id, "test")->id;
    repo_ = store_->GetResource(p->id, "repo")->id;
  }

  // A build of `job` that ran to `status`.
  Build Finished(Id job, BuildStatus status) {
    auto b = store_->CreateJobBuild(job, Json::object());
    EXPECT_TRUE(store_->StartBuild(b->id).ok());
    auto done = store_->FinishBuild(b->id, status);
    EXPECT_TRUE(done.ok()) << done.status().ToString();
    return *done;
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<SqliteStore> store_;
  Id job_ = 0, other_job_ = 0, repo_ = 0;
};

TEST_F(StoreBuildsTest, BuildsAreNumberedPerJobEvenWhenCreatedConcurrently) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 25; ++i) EXPECT_TRUE(store_->CreateJobBuild(job_, {}).ok());
    });
  }
  for (auto& t : threads) t.join();
  auto other = store_->CreateJobBuild(other_job_, {});
  EXPECT_EQ(other->name, "1");
  BuildQuery q;
  q.job_id = job_;
  q.limit = 200;
  auto builds = store_->ListBuilds(q);
  ASSERT_EQ(builds->size(), 100u);
  std::set<std::string> names;
  for (const Build& b : *builds) names.insert(b.name);
  EXPECT_EQ(names.size(), 100u);
  EXPECT_TRUE(names.count("1") && names.count("100"));
  EXPECT_EQ(store_->GetJobById(job_)->next_build_number, 101);
  EXPECT_EQ(store_->GetJobBuild(job_, "42")->job, "build");
}

TEST_F(StoreBuildsTest, ABuildGoesPendingStartedFinishedAndNoOtherWay) {
  auto b = store_->CreateJobBuild(job_, Json{{"do", Json::array()}});
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->status, BuildStatus::kPending);
  EXPECT_EQ(b->pipeline, "app");
  EXPECT_EQ(b->team, "main");
  EXPECT_EQ(store_->FinishBuild(b->id, BuildStatus::kSucceeded).status().code(),
            StatusCode::kFailedPrecondition);
  clock_.Advance(std::chrono::seconds(5));
  auto started = store_->StartBuild(b->id);
  ASSERT_TRUE(started.ok());
  EXPECT_EQ(started->status, BuildStatus::kStarted);
  EXPECT_TRUE(started->started_at.has_value());
  EXPECT_EQ(store_->StartBuild(b->id).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->FinishBuild(b->id, BuildStatus::kStarted).status().code(),
            StatusCode::kInvalidArgument);
  auto done = store_->FinishBuild(b->id, BuildStatus::kFailed);
  ASSERT_TRUE(done.ok());
  EXPECT_EQ(done->status, BuildStatus::kFailed);
  EXPECT_TRUE(done->finished_at.has_value());
  EXPECT_EQ(store_->FinishBuild(b->id, BuildStatus::kSucceeded).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->GetBuild(b->id)->status, BuildStatus::kFailed);
}

TEST_F(StoreBuildsTest, APendingBuildCanBeAbortedWithoutStarting) {
  auto b = store_->CreateJobBuild(job_, {});
  auto aborted = store_->FinishBuild(b->id, BuildStatus::kAborted);
  ASSERT_TRUE(aborted.ok());
  EXPECT_FALSE(aborted->started_at.has_value());
}

TEST_F(StoreBuildsTest, OneOffBuildsAreNamedByTheirId) {
  auto b = store_->CreateOneOffBuild("main", 0, Json::object());
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_TRUE(b->one_off());
  EXPECT_EQ(b->name, std::to_string(b->id));
  EXPECT_EQ(store_->CreateOneOffBuild("ghosts", 0, {}).status().code(), StatusCode::kNotFound);
}

TEST_F(StoreBuildsTest, ListBuildsPagesNewestFirstAndFiltersByStatus) {
  std::vector<Id> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(store_->CreateJobBuild(job_, {})->id);
  BuildQuery q;
  q.job_id = job_;
  q.limit = 2;
  auto first = store_->ListBuilds(q);
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].id, ids[4]);
  q.until_id = (*first)[1].id;
  auto next = store_->ListBuilds(q);
  ASSERT_EQ(next->size(), 2u);
  EXPECT_EQ((*next)[0].id, ids[2]);
  q = BuildQuery{};
  q.since_id = ids[3];
  EXPECT_EQ(store_->ListBuilds(q)->size(), 1u);
  ASSERT_TRUE(store_->StartBuild(ids[0]).ok());
  q = BuildQuery{};
  q.statuses = {BuildStatus::kStarted};
  auto running = store_->ListBuilds(q);
  ASSERT_EQ(running->size(), 1u);
  EXPECT_EQ((*running)[0].id, ids[0]);
}

TEST_F(StoreBuildsTest, InputsRecordWhetherTheVersionIsNewToTheJob) {
  auto versions =
      store_->SaveResourceVersions(repo_, {{Json{{"ref", "a"}}, {}}, {Json{{"ref", "b"}}, {}}});
  Id a = (*versions)[0].id, b = (*versions)[1].id;
  auto first = store_->CreateJobBuild(job_, {});
  ASSERT_TRUE(store_->SaveBuildInputs(first->id, {BuildInput{"repo", a}}).ok());
  auto second = store_->CreateJobBuild(job_, {});
  ASSERT_TRUE(
      store_->SaveBuildInputs(second->id, {BuildInput{"repo", a}, BuildInput{"src", b}}).ok());
  auto one = store_->ListBuildInputs(first->id);
  ASSERT_EQ(one->size(), 1u);
  EXPECT_TRUE((*one)[0].first_occurrence);
  EXPECT_EQ((*one)[0].version["ref"], "a");
  auto two = store_->ListBuildInputs(second->id);
  ASSERT_EQ(two->size(), 2u);
  EXPECT_FALSE((*two)[0].first_occurrence);  // repo@a seen by build 1
  EXPECT_TRUE((*two)[1].first_occurrence);   // src@b is new
  ASSERT_TRUE(store_->SaveBuildOutputs(second->id, {BuildOutput{"repo", b}}).ok());
  auto outputs = store_->ListBuildOutputs(second->id);
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_EQ((*outputs)[0].resource_id, repo_);
  EXPECT_EQ(store_->SaveBuildInputs(first->id, {BuildInput{"x", 9999}}).code(),
            StatusCode::kNotFound);
  EXPECT_EQ(store_->ListBuildInputs(first->id)->size(), 1u);  // the failed save changed nothing
}

TEST_F(StoreBuildsTest, BuildsLeftRunningAreMarkedErroredWithTheReason) {
  Build done = Finished(job_, BuildStatus::kSucceeded);
  auto pending = store_->CreateJobBuild(job_, {});
  auto running = store_->CreateJobBuild(job_, {});
  ASSERT_TRUE(store_->StartBuild(running->id).ok());
  auto orphans = store_->MarkOrphanedBuildsErrored("baton restarted while it ran");
  ASSERT_TRUE(orphans.ok()) << orphans.status().ToString();
  ASSERT_EQ(orphans->size(), 2u);
  EXPECT_EQ((*orphans)[0].id, pending->id);
  EXPECT_EQ((*orphans)[1].status, BuildStatus::kErrored);
  EXPECT_EQ((*orphans)[1].error, "baton restarted while it ran");
  EXPECT_EQ(store_->GetBuild(done.id)->status, BuildStatus::kSucceeded);
  auto events = store_->ReadEvents(running->id, 0, 10);
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].type, "error");
  EXPECT_TRUE(store_->MarkOrphanedBuildsErrored("again")->empty());
}

TEST_F(StoreBuildsTest, RetentionByCountKeepsTheNewestAndTheMinimumSucceeded) {
  Build old_success = Finished(job_, BuildStatus::kSucceeded);
  std::vector<Build> failures;
  for (int i = 0; i < 4; ++i) failures.push_back(Finished(job_, BuildStatus::kFailed));
  auto running = store_->CreateJobBuild(job_, {});
  ASSERT_TRUE(store_->StartBuild(running->id).ok());
  ASSERT_TRUE(store_->RecordArtifact(failures[0].id, "bin", "sha256:aa", 10).ok());
  ASSERT_TRUE(store_->RecordArtifact(failures[1].id, "bin", "sha256:bb", 10).ok());
  ASSERT_TRUE(store_->RecordArtifact(failures[3].id, "bin", "sha256:bb", 10).ok());
  pipelines::BuildLogRetention retention;
  retention.builds = 2;
  retention.minimum_succeeded_builds = 1;
  auto reaped = store_->ReapBuilds(job_, retention, clock_.Now());
  ASSERT_TRUE(reaped.ok()) << reaped.status().ToString();
  std::set<Id> gone;
  for (const Build& b : reaped->builds) gone.insert(b.id);
  EXPECT_EQ(gone, (std::set<Id>{failures[0].id, failures[1].id}));
  EXPECT_EQ(reaped->unreferenced_digests, std::vector<std::string>{"sha256:aa"});
  EXPECT_TRUE(store_->GetBuild(old_success.id).ok());
  EXPECT_TRUE(store_->GetBuild(running->id).ok());
  auto reaped_build = store_->GetBuild(failures[0].id);
  ASSERT_TRUE(reaped_build.ok()) << "the build stays; only its log and artifacts go";
  EXPECT_TRUE(reaped_build->logs_reaped_at.has_value());
  EXPECT_FALSE(store_->GetBuild(failures[2].id)->logs_reaped_at.has_value());
  EXPECT_TRUE(store_->ListArtifacts(failures[0].id)->empty());
  EXPECT_TRUE(*store_->IsDigestReferenced("sha256:bb"));
}

TEST_F(StoreBuildsTest, RetentionByDaysReapsOnlyOldBuildsOfThatJob) {
  Build old_build = Finished(job_, BuildStatus::kFailed);
  Build other = Finished(other_job_, BuildStatus::kFailed);
  clock_.Advance(std::chrono::hours(24 * 3));
  Build recent = Finished(job_, BuildStatus::kFailed);
  pipelines::BuildLogRetention retention;
  retention.days = 2;
  auto reaped = store_->ReapBuilds(job_, retention, clock_.Now());
  ASSERT_EQ(reaped->builds.size(), 1u);
  EXPECT_EQ(reaped->builds[0].id, old_build.id);
  EXPECT_TRUE(store_->GetBuild(recent.id).ok());
  EXPECT_TRUE(store_->GetBuild(other.id).ok());
  EXPECT_TRUE(store_->ReapBuilds(job_, {}, clock_.Now())->builds.empty());
  EXPECT_TRUE(store_->ReapBuilds(job_, retention, clock_.Now())->builds.empty())
      << "a build whose log is gone is not reaped twice";
}

}  // namespace
}  // namespace baton::runner
