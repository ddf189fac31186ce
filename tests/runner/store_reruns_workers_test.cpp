// SqliteStore: reruns ("3.1") and the workers list with stalled workers.
#include <gtest/gtest.h>

#include "baton/runner/sqlite_store.h"
#include "fakes/fake_clock.h"
#include "fakes/test_env.h"

namespace baton::runner {
namespace {

using testing::FakeClock;
using testing::TempDir;

class StoreRerunsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SqliteStoreOptions options;
    options.worker_stall_after = std::chrono::seconds(30);
    auto store = SqliteStore::Open(dir_ / "baton.db", clock_, options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    PipelineUpdate u;
    u.name = "app";
    u.jobs = {JobSpec{"build", "", {}}};
    u.resources = {ResourceSpec{"repo", "", "git", "h", {}}};
    auto p = store_->SetPipeline(u);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    job_ = store_->GetJob(p->id, "build")->id;
    auto v = store_->SaveResourceVersions(store_->GetResource(p->id, "repo")->id,
                                          {VersionFound{Json{{"ref", "a"}}, Json::array()}});
    ASSERT_TRUE(v.ok());
    version_ = v->front().id;
  }

  Build Finished(BuildStatus status) {
    auto b = store_->CreateJobBuild(job_, Json::object());
    EXPECT_TRUE(store_->SaveBuildInputs(b->id, {BuildInput{"repo", version_}}).ok());
    EXPECT_TRUE(store_->StartBuild(b->id).ok());
    return *store_->FinishBuild(b->id, status);
  }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<SqliteStore> store_;
  Id job_ = 0, version_ = 0;
};

TEST_F(StoreRerunsTest, ARerunIsNamedAfterItsOriginalAndCopiesItsInputs) {
  Build first = Finished(BuildStatus::kFailed);
  Finished(BuildStatus::kSucceeded);
  auto rerun = store_->CreateRerunBuild(first.id, Json::object());
  ASSERT_TRUE(rerun.ok()) << rerun.status().ToString();
  EXPECT_EQ(rerun->name, "1.1");
  EXPECT_EQ(rerun->status, BuildStatus::kPending);
  EXPECT_EQ(rerun->rerun_of, first.id);
  EXPECT_EQ(rerun->rerun_number, 1);
  EXPECT_EQ(rerun->job_id, job_);
  auto inputs = store_->ListBuildInputs(rerun->id);
  ASSERT_TRUE(inputs.ok());
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ((*inputs)[0].resource_version_id, version_);
  EXPECT_FALSE((*inputs)[0].first_occurrence);
  // A rerun of the rerun is the original's second rerun; build numbers are untouched.
  auto second = store_->CreateRerunBuild(rerun->id, Json::object());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->name, "1.2");
  EXPECT_EQ(second->rerun_of, first.id);
  EXPECT_EQ(store_->GetJobById(job_)->next_build_number, 3);
  EXPECT_EQ(store_->GetJobBuild(job_, "1.2")->id, second->id);
}

TEST_F(StoreRerunsTest, OneOffBuildsCannotBeRerun) {
  auto one_off = store_->CreateOneOffBuild("main", 0, Json::object());
  ASSERT_TRUE(one_off.ok());
  EXPECT_EQ(store_->CreateRerunBuild(one_off->id, {}).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->CreateRerunBuild(4242, {}).status().code(), StatusCode::kNotFound);
}

TEST_F(StoreRerunsTest, VersionsUsedByBuildsAreListedNewestFirst) {
  Finished(BuildStatus::kSucceeded);
  auto used = store_->ListVersionsUsedByBuilds(store_->GetResourceVersion(version_)->resource_id);
  ASSERT_TRUE(used.ok());
  ASSERT_EQ(used->size(), 1u);
  EXPECT_EQ((*used)[0].id, version_);
}

TEST_F(StoreRerunsTest, ARunningWorkerWithoutARecentHeartbeatIsListedAsStalled) {
  WorkerRecord w;
  w.name = "local";
  w.platform = "linux";
  w.state = "running";
  w.last_heartbeat = clock_.Now();
  w.info = {{"version", "1.0"}, {"active_tasks", 2}};
  ASSERT_TRUE(store_->SaveWorker(w).ok());
  clock_.Advance(std::chrono::seconds(29));
  auto workers = store_->ListWorkers();
  ASSERT_TRUE(workers.ok());
  ASSERT_EQ(workers->size(), 1u);
  EXPECT_EQ((*workers)[0].state, "running");
  EXPECT_EQ((*workers)[0].info.value("active_tasks", 0), 2);
  clock_.Advance(std::chrono::seconds(2));
  EXPECT_EQ(store_->ListWorkers()->front().state, "stalled");
  w.last_heartbeat = clock_.Now();  // it beats again
  ASSERT_TRUE(store_->SaveWorker(w).ok());
  EXPECT_EQ(store_->ListWorkers()->front().state, "running");
}

}  // namespace
}  // namespace baton::runner
