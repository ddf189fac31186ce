// Several web nodes on one store: only the leader (SchedulerOptions::leader) checks and starts
// builds. Two schedulers on one real SQLite store stand for two nodes; each has its own worker,
// so the test sees which node ran what. Changes travel as PipelineChange JSON, as they do through
// the database's notifications.
#include <gtest/gtest.h>

#include "fakes/fake_clock.h"
#include "scheduler_harness.h"

namespace baton::runner {
namespace {

using testing::ScriptedWorker;
using testing::TaskScript;

constexpr const char* kTaskOnly = R"(
jobs:
- name: a
  serial: true
  plan:
  - task: t
    config: {platform: linux, run: {path: ok}}
)";

constexpr const char* kGetAndTask = R"(
resources:
- {name: r, type: mock, check_every: never}
jobs:
- name: a
  plan:
  - {get: r, trigger: true}
  - task: t
    config: {platform: linux, run: {path: ok}}
)";

constexpr const char* kPassedChain = R"(
resources:
- {name: r, type: mock, check_every: never}
jobs:
- name: up
  plan:
  - {get: r, trigger: true}
  - task: t
    config: {platform: linux, run: {path: ok}}
- name: down
  plan:
  - {get: r, passed: [up]}
  - task: t
    config: {platform: linux, run: {path: ok}}
)";

class SchedulerLeaderTest : public SchedulerHarness {
 protected:
  void SetUp() override { OpenStore(RealClock()); }
  void TearDown() override {
    EXPECT_TRUE(worker_b_.WaitIdle());
    io_.run_for(std::chrono::milliseconds(20));
    node_b_.reset();
    SchedulerHarness::TearDown();
  }

  // `serving`: checks and triggers on new versions, as a server does.
  std::unique_ptr<Scheduler> MakeNode(ScriptedWorker& worker, bool leader,
                                      std::vector<PipelineChange>* heard, bool serving = false,
                                      const Clock* clock = nullptr) {
    SchedulerOptions options = BaseOptions();
    options.periodic_checks = serving;
    options.clock = clock;
    options.leader = leader;
    options.on_pipeline_change = [heard](const PipelineChange& c) {
      heard->push_back(PipelineChangeFromJson(ToJson(c)).value());
    };
    return std::make_unique<Scheduler>(io_, SchedulerStores{*store_, *store_, *store_}, worker,
                                       options);
  }

  std::vector<Build> Builds(std::vector<BuildStatus> statuses = {}) {
    BuildQuery q;
    q.statuses = std::move(statuses);
    q.limit = 100;
    auto builds = store_->ListBuilds(q);
    return builds.ok() ? *builds : std::vector<Build>{};
  }

  ScriptedWorker worker_b_{"node-b"};
  std::unique_ptr<Scheduler> node_b_;
  std::vector<PipelineChange> from_a_, from_b_;
};

TEST_F(SchedulerLeaderTest, ATriggerThroughAFollowerIsSavedPendingAndStartedByTheLeaderOnly) {
  Id id = SetPipeline(kTaskOnly);
  scheduler_ = MakeNode(worker_, /*leader=*/true, &from_a_);
  node_b_ = MakeNode(worker_b_, /*leader=*/false, &from_b_);
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  ASSERT_TRUE(node_b_->ActivatePipeline(id).ok());
  EXPECT_FALSE(node_b_->leader());

  auto build = Trigger(*node_b_, id, "a");
  ASSERT_TRUE(build.ok()) << build.status().ToString();
  io_.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(store_->GetBuild(build->id)->status, BuildStatus::kPending) << "the follower waits";
  ASSERT_EQ(from_b_.size(), 1u);
  EXPECT_EQ(from_b_[0].kind, PipelineChange::Kind::kBuildQueued);
  EXPECT_EQ(from_b_[0].build_id, build->id);

  ASSERT_TRUE(ApplyNow(*scheduler_, commands::Refresh{from_b_[0]}).ok());
  ASSERT_TRUE(RunUntil([&] { return Builds({BuildStatus::kSucceeded}).size() == 1; }));
  EXPECT_EQ(worker_.task_runs().size(), 1u) << "the leader ran it";
  EXPECT_TRUE(worker_b_.task_runs().empty()) << "the follower started nothing";
  // Hearing it twice (a notification and the polling fallback) runs it once.
  ASSERT_TRUE(ApplyNow(*scheduler_, commands::Refresh{from_b_[0]}).ok());
  scheduler_->Resync();
  io_.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(Builds().size(), 1u);
  EXPECT_EQ(worker_.task_runs().size(), 1u);
}

// A follower loaded the pipeline before any version or build existed; the leader has since
// built `up` with v2 and a v3 came after it. A trigger of `down` (passed: [up]) through the
// follower reads what that job's inputs resolve from (r's versions, up's builds) and takes v2.
TEST_F(SchedulerLeaderTest, ATriggerThroughAFollowerResolvesInputsFromWhatTheLeaderRanSince) {
  Id id = SetPipeline(kPassedChain);
  node_b_ = MakeNode(worker_b_, /*leader=*/false, &from_b_);
  ASSERT_TRUE(node_b_->ActivatePipeline(id).ok());
  auto resource = store_->GetResource(id, "r");
  ASSERT_TRUE(resource.ok()) << resource.status().ToString();
  ASSERT_TRUE(store_
                  ->SaveResourceVersions(resource->id, {{Json{{"v", "1"}}, Json::array()},
                                                        {Json{{"v", "2"}}, Json::array()}})
                  .ok());
  scheduler_ = MakeNode(worker_, /*leader=*/true, &from_a_, /*serving=*/true);
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  ASSERT_TRUE(RunUntil([&] { return Builds({BuildStatus::kSucceeded}).size() == 1; }));
  ASSERT_TRUE(store_->SaveResourceVersions(resource->id, {{Json{{"v", "3"}}, Json::array()}}).ok());

  auto build = Trigger(*node_b_, id, "down");
  ASSERT_TRUE(build.ok()) << build.status().ToString();
  auto inputs = store_->ListBuildInputs(build->id);
  ASSERT_TRUE(inputs.ok()) << inputs.status().ToString();
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ((*inputs)[0].version, (Json{{"v", "2"}})) << "the version that passed up";
  ASSERT_EQ(from_b_.size(), 1u);
  ASSERT_TRUE(ApplyNow(*scheduler_, commands::Refresh{from_b_[0]}).ok());
  ASSERT_TRUE(RunUntil([&] { return Builds({BuildStatus::kSucceeded}).size() == 2; }));
  EXPECT_EQ(Builds({BuildStatus::kSucceeded})[0].id, build->id);
  EXPECT_TRUE(worker_b_.task_runs().empty()) << "the follower started nothing";
}

// A pipeline set through another node moments ago: its notification has not reached this node
// yet, and a trigger here loads it from the store instead of answering "not active".
TEST_F(SchedulerLeaderTest, ATriggerOnANodeThatHasNotHeardOfThePipelineYetLoadsItFromTheStore) {
  scheduler_ = MakeNode(worker_, /*leader=*/true, &from_a_);
  node_b_ = MakeNode(worker_b_, /*leader=*/false, &from_b_);
  Id id = SetPipeline(kTaskOnly);
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());

  auto build = Trigger(*node_b_, id, "a");
  ASSERT_TRUE(build.ok()) << build.status().ToString();
  ASSERT_EQ(from_b_.size(), 1u);
  EXPECT_EQ(from_b_[0].kind, PipelineChange::Kind::kBuildQueued);
  ASSERT_TRUE(ApplyNow(*scheduler_, commands::Refresh{from_b_[0]}).ok());
  ASSERT_TRUE(RunUntil([&] { return Builds({BuildStatus::kSucceeded}).size() == 1; }));
  EXPECT_TRUE(worker_b_.task_runs().empty()) << "the follower started nothing";
  auto gone = Trigger(*node_b_, id + 100, "a");
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound) << gone.status().ToString();
}

TEST_F(SchedulerLeaderTest, AnAbortThroughAFollowerReachesTheBuildOnTheLeader) {
  Id id = SetPipeline(kTaskOnly);
  TaskScript held;
  held.hold = true;
  worker_.OnTask("ok", held);
  scheduler_ = MakeNode(worker_, /*leader=*/true, &from_a_);
  node_b_ = MakeNode(worker_b_, /*leader=*/false, &from_b_);
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  ASSERT_TRUE(node_b_->ActivatePipeline(id).ok());
  auto build = Trigger(*scheduler_, id, "a");
  ASSERT_TRUE(build.ok()) << build.status().ToString();
  ASSERT_TRUE(RunUntil([&] { return worker_.task_runs().size() == 1; }));

  ASSERT_TRUE(ApplyNow(*node_b_, commands::AbortBuild{build->id}).ok());
  ASSERT_EQ(from_b_.size(), 1u);
  EXPECT_EQ(from_b_[0].kind, PipelineChange::Kind::kAbort);
  ASSERT_TRUE(ApplyNow(*scheduler_, commands::Refresh{from_b_[0]}).ok());
  ASSERT_TRUE(RunUntil([&] { return Builds({BuildStatus::kAborted}).size() == 1; }));
  auto again = ApplyNow(*node_b_, commands::AbortBuild{build->id});
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition) << again.status().ToString();
}

// A notification can be lost (the listener's connection dropped). The leader's periodic Resync
// then reads what it would have carried (job pauses and pins at most once a minute): here a job
// paused and unpaused through the follower, whose announcements (from_b_) nobody delivers.
TEST_F(SchedulerLeaderTest, AJobPauseWhoseNotificationTheLeaderMissedIsCaughtByTheResync) {
  Id id = SetPipeline(kTaskOnly);
  const Id job = store_->GetJob(id, "a")->id;
  baton::testing::FakeClock clock;
  scheduler_ = MakeNode(worker_, /*leader=*/true, &from_a_, /*serving=*/false, &clock);
  node_b_ = MakeNode(worker_b_, /*leader=*/false, &from_b_);
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  ASSERT_TRUE(node_b_->ActivatePipeline(id).ok());

  ASSERT_TRUE(ApplyNow(*node_b_, commands::PauseJob{id, job, true}).ok());
  auto build = Trigger(*node_b_, id, "a");
  ASSERT_TRUE(build.ok()) << build.status().ToString();
  ASSERT_EQ(from_b_.size(), 2u) << "paused, then the build queued: both lost";
  scheduler_->Resync();
  io_.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(store_->GetBuild(build->id)->status, BuildStatus::kPending) << "the job is paused";
  EXPECT_TRUE(worker_.task_runs().empty());

  ASSERT_TRUE(ApplyNow(*node_b_, commands::PauseJob{id, job, false}).ok());
  scheduler_->Resync();  // within the minute: pipelines and pending builds only
  io_.run_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(worker_.task_runs().empty());
  clock.Advance(std::chrono::seconds(61));
  scheduler_->Resync();
  ASSERT_TRUE(RunUntil([&] { return Builds({BuildStatus::kSucceeded}).size() == 1; }));
  EXPECT_EQ(worker_.task_runs().size(), 1u);
}

// The same for a pin: the leader builds with the pinned version after the Resync.
TEST_F(SchedulerLeaderTest, APinWhoseNotificationTheLeaderMissedIsCaughtByTheResync) {
  Id id = SetPipeline(kGetAndTask);
  auto resource = store_->GetResource(id, "r");
  ASSERT_TRUE(resource.ok()) << resource.status().ToString();
  auto saved = store_->SaveResourceVersions(
      resource->id, {{Json{{"v", "1"}}, Json::array()}, {Json{{"v", "2"}}, Json::array()}});
  ASSERT_TRUE(saved.ok()) << saved.status().ToString();
  auto v1 = store_->FindResourceVersion(resource->id, Json{{"v", "1"}});
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  scheduler_ = MakeNode(worker_, /*leader=*/true, &from_a_, /*serving=*/true);
  node_b_ = MakeNode(worker_b_, /*leader=*/false, &from_b_, /*serving=*/true);
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  ASSERT_TRUE(node_b_->ActivatePipeline(id).ok());
  ASSERT_TRUE(RunUntil([&] { return Builds({BuildStatus::kSucceeded}).size() == 1; }));
  auto first = store_->ListBuildInputs(Builds()[0].id);
  ASSERT_TRUE(first.ok() && first->size() == 1);
  EXPECT_EQ((*first)[0].version, (Json{{"v", "2"}})) << "the newest, before the pin";

  ASSERT_TRUE(ApplyNow(*node_b_, commands::PinVersion{id, resource->id, v1->id, "v2 broke"}).ok());
  ASSERT_EQ(from_b_.size(), 1u);
  EXPECT_EQ(from_b_[0].kind, PipelineChange::Kind::kPin) << "lost";
  scheduler_->Resync();
  ASSERT_TRUE(RunUntil([&] { return Builds({BuildStatus::kSucceeded}).size() == 2; }));
  auto inputs = store_->ListBuildInputs(Builds({BuildStatus::kSucceeded}).front().id);
  ASSERT_TRUE(inputs.ok());
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ((*inputs)[0].version, (Json{{"v", "1"}}));
  EXPECT_TRUE(worker_b_.task_runs().empty()) << "the follower started nothing";
}

// A leader that died (kill -9) left build 1 started and build 2 pending. The node that takes
// the lease errors the first (it cannot know how far it got) and runs the second: none is lost,
// none runs twice.
TEST_F(SchedulerLeaderTest, ANewLeaderErrorsWhatTheDeadOneStartedAndRunsWhatItLeftPending) {
  Id id = SetPipeline(kTaskOnly);
  const Id job = store_->GetJob(id, "a")->id;
  auto started = store_->CreateJobBuildWithInputs(job, Json::object(), {});
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  ASSERT_TRUE(store_->StartBuild(started->id).ok());
  auto pending = store_->CreateJobBuildWithInputs(job, Json::object(), {});
  ASSERT_TRUE(pending.ok());

  node_b_ = MakeNode(worker_b_, /*leader=*/false, &from_b_);
  ASSERT_TRUE(node_b_->ActivatePipeline(id).ok());
  io_.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(store_->GetBuild(pending->id)->status, BuildStatus::kPending);
  node_b_->SetLeader(true, "node a stopped (no heartbeat for 15s)");
  ASSERT_TRUE(RunUntil([&] { return Builds({BuildStatus::kSucceeded}).size() == 1; }));
  auto orphan = store_->GetBuild(started->id);
  EXPECT_EQ(orphan->status, BuildStatus::kErrored);
  EXPECT_EQ(orphan->error, "node a stopped (no heartbeat for 15s)");
  auto events = store_->ReadEvents(started->id, 0, 10);
  ASSERT_TRUE(events.ok());
  ASSERT_FALSE(events->empty());
  EXPECT_NE(events->back().payload.find("node a stopped"), std::string::npos);
  EXPECT_EQ(Builds({BuildStatus::kSucceeded})[0].id, pending->id);
  EXPECT_EQ(worker_b_.task_runs().size(), 1u);
}

TEST_F(SchedulerLeaderTest, ALeaderThatLostTheLeaseStopsAndLeavesItsQueueToTheNext) {
  Id id = SetPipeline(kTaskOnly);
  TaskScript held;
  held.hold = true;
  worker_.OnTask("ok", held);
  scheduler_ = MakeNode(worker_, /*leader=*/true, &from_a_);
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  ASSERT_TRUE(Trigger(*scheduler_, id, "a").ok());
  auto queued = Trigger(*scheduler_, id, "a");  // serial: waits behind the first
  ASSERT_TRUE(queued.ok());
  ASSERT_TRUE(RunUntil([&] { return worker_.task_runs().size() == 1; }));

  scheduler_->SetLeader(false);
  ASSERT_TRUE(RunUntil([&] { return Builds({BuildStatus::kAborted}).size() == 1; }));
  io_.run_for(std::chrono::milliseconds(20));
  EXPECT_EQ(store_->GetBuild(queued->id)->status, BuildStatus::kPending);
  EXPECT_EQ(worker_.task_runs().size(), 1u);

  node_b_ = MakeNode(worker_b_, /*leader=*/false, &from_b_);
  ASSERT_TRUE(node_b_->ActivatePipeline(id).ok());
  node_b_->SetLeader(true);
  ASSERT_TRUE(RunUntil([&] { return Builds({BuildStatus::kSucceeded}).size() == 1; }));
  EXPECT_EQ(Builds({BuildStatus::kSucceeded})[0].id, queued->id);
}

}  // namespace
}  // namespace baton::runner
