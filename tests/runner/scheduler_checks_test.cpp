// Checks asked for by users (the API's POST .../check): each has a record in the scheduler's
// CheckRegistry that goes pending -> started -> succeeded | errored; a check past its resource's
// check_timeout is cancelled and errors at once; concurrent requests share one check; a check
// cut short by a new config or a destroyed pipeline still ends.
#include <gtest/gtest.h>

#include "baton/runner/check_registry.h"
#include "baton/runner/scheduler.h"
#include "scheduler_harness.h"

namespace baton::runner {
namespace {

using testing::ResourceScript;

constexpr const char* kChecksPipeline = R"(
resources:
- {name: r, type: mock, check_every: never, check_timeout: 1s}
jobs:
- name: j
  plan:
  - get: r
)";

class SchedulerChecks : public SchedulerHarness {
 protected:
  void SetUp() override {
    OpenStore(RealClock());
    SchedulerOptions options = BaseOptions();
    options.periodic_checks = false;  // only the checks the tests ask for
    scheduler_ = std::make_unique<Scheduler>(io_, SchedulerStores{*store_, *store_, *store_},
                                             worker_, options);
  }

  // Scripts `mock` checks to find `versions`, held until Release() when `hold`.
  void ScriptChecks(std::vector<std::string> versions, bool hold) {
    ResourceScript script;
    script.hold = hold;
    script.handler = [versions](const workers::ResourceRun&, workers::OutputSink&) {
      workers::ResourceResult r;
      for (const auto& v : versions) r.versions.push_back(Json{{"v", v}});
      return r;
    };
    worker_.OnResource("mock", script);
  }

  Id Activate() {
    Id id = SetPipeline(kChecksPipeline);
    EXPECT_TRUE(scheduler_->ActivatePipeline(id).ok());
    return id;
  }

  Id Ask(Id pipeline_id) {
    Id check = scheduler_->checks().Create("main", "p", pipeline_id, "r").id;
    scheduler_->RunCheck(check);
    return check;
  }

  CheckRecord Record(Id check) { return scheduler_->checks().Get(check).value_or(CheckRecord{}); }

  bool WaitFinished(Id check) {
    return RunUntil([&] { return Record(check).finished(); });
  }
};

TEST_F(SchedulerChecks, ACheckPastItsCheckTimeoutIsCancelledAndErrorsSayingSo) {
  ScriptChecks({"1"}, /*hold=*/true);  // a check that would never end by itself
  Id pipeline = Activate();
  Id check = Ask(pipeline);
  EXPECT_EQ(Record(check).status, CheckStatus::kStarted);
  ASSERT_TRUE(WaitFinished(check));
  CheckRecord done = Record(check);
  EXPECT_EQ(done.status, CheckStatus::kErrored);
  EXPECT_NE(done.error.find("check of `r` failed: timed out after 1s (check_timeout"),
            std::string::npos)
      << done.error;
  EXPECT_EQ(worker_.cancelled().size(), 1u) << "the worker's step must be cancelled";
  ASSERT_TRUE(worker_.WaitIdle());
  io_.run_for(std::chrono::milliseconds(20));  // the late, cancelled result arrives and is dropped
  EXPECT_EQ(Record(check).status, CheckStatus::kErrored);
  auto resource = store_->GetResource(pipeline, "r");
  ASSERT_TRUE(resource.ok());
  EXPECT_NE(resource->check_error.find("timed out after 1s"), std::string::npos);
}

TEST_F(SchedulerChecks, TwoRequestsShareOneRunningCheckAndBothSeeItsResult) {
  ScriptChecks({"1", "2"}, /*hold=*/true);
  Id pipeline = Activate();
  Id first = Ask(pipeline);
  Id second = Ask(pipeline);
  ASSERT_TRUE(worker_.WaitForResources(1));
  ASSERT_EQ(worker_.resource_runs().size(), 1u);
  EXPECT_EQ(Record(second).status, CheckStatus::kStarted);
  ASSERT_TRUE(worker_.Release(worker_.resource_runs()[0].id));
  ASSERT_TRUE(WaitFinished(first));
  ASSERT_TRUE(WaitFinished(second));
  for (Id check : {first, second}) {
    EXPECT_EQ(Record(check).status, CheckStatus::kSucceeded) << Record(check).error;
    EXPECT_EQ(Record(check).new_versions, 2);
  }
}

// A check begun before a push may not see the pushed commit: the push's check is one more check
// after it, not a share of its result (for git, it is also what leaves a spare checkout for the
// next push's get).
TEST_F(SchedulerChecks, APushWhileACheckRunsIsCheckedAgainAfterIt) {
  ScriptChecks({"1"}, /*hold=*/true);
  Id pipeline = Activate();
  Id running = Ask(pipeline);
  ASSERT_TRUE(worker_.WaitForResources(1));
  Id pushed = scheduler_->checks().Create("main", "p", pipeline, "r").id;
  scheduler_->RecordPushedVersion(pushed, Json{{"ref", "abc"}});
  Id another = scheduler_->checks().Create("main", "p", pipeline, "r").id;
  scheduler_->RecordPushedVersion(another, Json{{"ref", "def"}});
  EXPECT_EQ(worker_.resource_runs().size(), 1u);
  ASSERT_TRUE(worker_.Release(worker_.resource_runs()[0].id));
  ASSERT_TRUE(WaitFinished(running));
  ASSERT_TRUE(worker_.WaitForResources(2)) << "the pushes' check runs after the running one";
  EXPECT_FALSE(Record(pushed).finished());
  ASSERT_TRUE(worker_.Release(worker_.resource_runs()[1].id));
  ASSERT_TRUE(WaitFinished(pushed));
  ASSERT_TRUE(WaitFinished(another));
  EXPECT_EQ(Record(pushed).status, CheckStatus::kSucceeded) << Record(pushed).error;
  EXPECT_EQ(Record(another).status, CheckStatus::kSucceeded) << Record(another).error;
  EXPECT_EQ(worker_.resource_runs().size(), 2u) << "two pushes, one check after the running one";
}

TEST_F(SchedulerChecks, APushWaitingForARunningCheckEndsWhenThePipelineIsDestroyed) {
  ScriptChecks({"1"}, /*hold=*/true);
  Id pipeline = Activate();
  Ask(pipeline);
  ASSERT_TRUE(worker_.WaitForResources(1));
  Id pushed = scheduler_->checks().Create("main", "p", pipeline, "r").id;
  scheduler_->RecordPushedVersion(pushed, Json{{"ref", "abc"}});
  scheduler_->DeactivatePipeline(pipeline);
  EXPECT_EQ(Record(pushed).status, CheckStatus::kErrored);
  EXPECT_NE(Record(pushed).error.find("was destroyed"), std::string::npos) << Record(pushed).error;
}

TEST_F(SchedulerChecks, ANewConfigTakesOverTheCheckAndItStillEnds) {
  ScriptChecks({"1"}, /*hold=*/true);
  Id pipeline = Activate();
  Id check = Ask(pipeline);
  ASSERT_TRUE(worker_.WaitForResources(1));
  ASSERT_TRUE(scheduler_->ActivatePipeline(pipeline).ok());  // e.g. set-pipeline again
  ASSERT_TRUE(worker_.WaitForResources(2));
  EXPECT_EQ(worker_.cancelled().size(), 1u) << "the old config's check is cancelled";
  ASSERT_TRUE(worker_.Release(worker_.resource_runs()[1].id));
  ASSERT_TRUE(WaitFinished(check));
  EXPECT_EQ(Record(check).status, CheckStatus::kSucceeded) << Record(check).error;
}

TEST_F(SchedulerChecks, DestroyingThePipelineEndsItsChecks) {
  ScriptChecks({"1"}, /*hold=*/true);
  Id pipeline = Activate();
  Id check = Ask(pipeline);
  ASSERT_TRUE(worker_.WaitForResources(1));
  scheduler_->DeactivatePipeline(pipeline);
  CheckRecord done = Record(check);
  EXPECT_EQ(done.status, CheckStatus::kErrored);
  EXPECT_NE(done.error.find("was destroyed"), std::string::npos) << done.error;
}

TEST_F(SchedulerChecks, ACheckOfAnUnknownResourceErrorsAtOnce) {
  ScriptChecks({}, /*hold=*/false);
  Id pipeline = Activate();
  Id check = scheduler_->checks().Create("main", "p", pipeline, "nope").id;
  scheduler_->RunCheck(check);
  EXPECT_EQ(Record(check).status, CheckStatus::kErrored);
  EXPECT_NE(Record(check).error.find("no resource `nope`"), std::string::npos);
}

TEST(CheckRegistry, KeepsTheNewestFinishedChecksAndForgetsOlderOnes) {
  CheckRegistry registry(RealClock());
  Id first = registry.Create("main", "p", 1, "r").id;
  registry.Finish(first, 0);
  for (size_t i = 0; i < CheckRegistry::kKeptFinished; ++i) {
    registry.Finish(registry.Create("main", "p", 1, "r").id, 1);
  }
  EXPECT_FALSE(registry.Get(first).has_value());
  Id running = registry.Create("main", "p", 1, "r").id;
  registry.Start(running);
  EXPECT_EQ(registry.Get(running)->status, CheckStatus::kStarted);
}

}  // namespace
}  // namespace baton::runner
