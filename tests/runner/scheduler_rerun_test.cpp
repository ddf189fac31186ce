// Scheduler: rerunning a build uses exactly its input versions, is named "N.k" and takes no new
// build number.
#include <gtest/gtest.h>

#include <mutex>

#include "scheduler_harness.h"

namespace baton::runner {
namespace {

namespace asio = boost::asio;
using testing::ResourceScript;

class SchedulerRerunTest : public SchedulerHarness {
 protected:
  void SetUp() override {
    OpenStore(RealClock());
    ResourceScript mock;
    mock.handler = [this](const workers::ResourceRun& run, workers::OutputSink&) {
      workers::ResourceResult r;
      if (run.action == workers::ResourceRun::Action::kCheck) {
        std::lock_guard lock(mu_);
        for (const auto& v : versions_) r.versions.push_back(Json{{"v", v}});
      } else {
        r.version = run.version;
      }
      return r;
    };
    worker_.OnResource("mock", mock);
    scheduler_ = std::make_unique<Scheduler>(io_, SchedulerStores{*store_, *store_, *store_},
                                             worker_, BaseOptions());
  }

  // Adds version `v` and checks `r` until the scheduler has seen it (a check already running
  // when the version was added may not have found it).
  void NewVersion(Id pipeline_id, const std::string& v) {
    size_t count = 0;
    {
      std::lock_guard lock(mu_);
      versions_.push_back(v);
      count = versions_.size();
    }
    int found = 0;
    for (int attempt = 0; attempt < 3 && found < static_cast<int>(count); ++attempt) {
      bool checked = false;
      scheduler_->CheckResource(pipeline_id, "r", [&](Result<int> n) {
        EXPECT_TRUE(n.ok());
        checked = true;
      });
      ASSERT_TRUE(RunUntil([&] { return checked; }));
      auto resource = store_->GetResource(pipeline_id, "r");
      ASSERT_TRUE(resource.ok());
      found = static_cast<int>(store_->ListResourceVersions(resource->id, {})->size());
    }
    ASSERT_EQ(found, static_cast<int>(count));
  }

  Build WaitFinished(Id build_id) {
    Build finished;
    EXPECT_TRUE(RunUntil([&] {
      auto b = store_->GetBuild(build_id);
      if (!b.ok() || !IsFinished(b->status)) return false;
      finished = *b;
      return scheduler_->running_builds() == 0;
    }));
    return finished;
  }

  // The version the build's get of `r` fetched.
  Json FetchedVersion(const Build& build) {
    for (const auto& run : worker_.resource_runs()) {
      if (run.action == workers::ResourceRun::Action::kGet && run.env.count("BUILD_ID") &&
          run.env.at("BUILD_ID") == std::to_string(build.id)) {
        return run.version;
      }
    }
    return Json();
  }

  std::mutex mu_;
  std::vector<std::string> versions_;
};

constexpr const char* kManualJob = R"(
resources:
- {name: r, type: mock, check_every: never}
jobs:
- name: j
  plan:
  - get: r
  - task: t
    config: {platform: linux, run: {path: true}}
)";

TEST_F(SchedulerRerunTest, ARerunUsesTheBuildsInputsIsNamedAfterItAndTakesNoBuildNumber) {
  Id id = SetPipeline(kManualJob);
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  NewVersion(id, "v1");
  auto first = Trigger(*scheduler_, id, "j");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  WaitFinished(first->id);
  NewVersion(id, "v2");
  auto second = Trigger(*scheduler_, id, "j");
  ASSERT_TRUE(second.ok());
  WaitFinished(second->id);

  auto rerun = Rerun(*scheduler_, first->id);
  ASSERT_TRUE(rerun.ok()) << rerun.status().ToString();
  EXPECT_EQ(rerun->name, "1.1");
  EXPECT_EQ(rerun->rerun_of, first->id);
  EXPECT_EQ(WaitFinished(rerun->id).status, BuildStatus::kSucceeded);
  // Build 1 fetched v1; the rerun's get of it is answered from the resource caches.
  EXPECT_EQ(FetchedVersion(*first), (Json{{"v", "v1"}}));
  EXPECT_EQ(FetchedVersion(*rerun), Json()) << "v1 fetched again";
  // The rerun's input is v1, not the newer v2.
  auto inputs = store_->ListBuildInputs(rerun->id);
  ASSERT_TRUE(inputs.ok());
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ((*inputs)[0].version, (Json{{"v", "v1"}}));
  EXPECT_FALSE((*inputs)[0].first_occurrence);

  // A rerun of the rerun reruns the original: 1.2. The job's numbering is untouched.
  auto again = Rerun(*scheduler_, rerun->id);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->name, "1.2");
  WaitFinished(again->id);
  auto next = Trigger(*scheduler_, id, "j");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->name, "3");
  WaitFinished(next->id);
}

TEST_F(SchedulerRerunTest, OneOffBuildsAndUnknownBuildsCannotBeRerun) {
  Id id = SetPipeline(kManualJob);
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  auto one_off = store_->CreateOneOffBuild("main", 0, Json::object());
  ASSERT_TRUE(one_off.ok());
  EXPECT_EQ(Rerun(*scheduler_, one_off->id).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(Rerun(*scheduler_, 9999).status().code(), StatusCode::kNotFound);
}

TEST_F(SchedulerRerunTest, ABuildWhoseJobGainedAnInputCannotBeRerun) {
  Id id = SetPipeline(kManualJob);
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  NewVersion(id, "v1");
  auto first = Trigger(*scheduler_, id, "j");
  ASSERT_TRUE(first.ok());
  WaitFinished(first->id);
  SetPipeline(R"(
resources:
- {name: r, type: mock, check_every: never}
- {name: other, type: mock, check_every: never}
jobs:
- name: j
  plan:
  - get: r
  - get: other
)");
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  auto rerun = Rerun(*scheduler_, first->id);
  EXPECT_EQ(rerun.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(rerun.status().message().find("`other`"), std::string::npos)
      << rerun.status().message();
}

}  // namespace
}  // namespace baton::runner
