// Scheduler: rerunning a build uses exactly its input versions, is named "N.k" and takes no new
// build number.
#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "baton/pipelines/loader.h"
#include "baton/runner/pipeline_update.h"
#include "baton/runner/scheduler.h"
#include "baton/runner/sqlite_store.h"
#include "fakes/scripted_worker.h"
#include "fakes/test_env.h"

namespace baton::runner {
namespace {

namespace asio = boost::asio;
using testing::ResourceScript;

class SchedulerRerunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::OpenDataDir(dir_.path() / "data", RealClock());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
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
    SchedulerOptions options;
    options.data_dir = (dir_.path() / "data").string();
    scheduler_ = std::make_unique<Scheduler>(io_, *store_, worker_, options);
  }

  void TearDown() override {
    EXPECT_TRUE(worker_.WaitIdle());
    io_.run_for(std::chrono::milliseconds(20));
    scheduler_.reset();
  }

  Id SetPipeline(const std::string& yaml) {
    auto load = pipelines::LoadPipeline(yaml, pipelines::LoadOptions{});
    EXPECT_TRUE(load.ok()) << pipelines::RenderAll(load.diagnostics, yaml);
    pipelines::Vars vars;
    auto update = MakePipelineUpdate("main", "p", yaml, vars, *load.config);
    update.paused_when_created = false;
    auto saved = store_->SetPipeline(update);
    EXPECT_TRUE(saved.ok()) << saved.status().ToString();
    return saved->id;
  }

  bool RunUntil(const std::function<bool()>& done) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.run_for(std::chrono::milliseconds(2));
    }
    return true;
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
  baton::testing::TempDir dir_;
  std::unique_ptr<SqliteStore> store_;
  baton::testing::ScriptedWorker worker_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
  std::unique_ptr<Scheduler> scheduler_;
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
  auto first = scheduler_->TriggerJob(id, "j");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  WaitFinished(first->id);
  NewVersion(id, "v2");
  auto second = scheduler_->TriggerJob(id, "j");
  ASSERT_TRUE(second.ok());
  WaitFinished(second->id);

  auto rerun = scheduler_->RerunBuild(first->id);
  ASSERT_TRUE(rerun.ok()) << rerun.status().ToString();
  EXPECT_EQ(rerun->name, "1.1");
  EXPECT_EQ(rerun->rerun_of, first->id);
  EXPECT_EQ(WaitFinished(rerun->id).status, BuildStatus::kSucceeded);
  EXPECT_EQ(FetchedVersion(*rerun), (Json{{"v", "v1"}})) << "not the newer v2";
  auto inputs = store_->ListBuildInputs(rerun->id);
  ASSERT_TRUE(inputs.ok());
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ((*inputs)[0].version, (Json{{"v", "v1"}}));
  EXPECT_FALSE((*inputs)[0].first_occurrence);

  // A rerun of the rerun reruns the original: 1.2. The job's numbering is untouched.
  auto again = scheduler_->RerunBuild(rerun->id);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->name, "1.2");
  WaitFinished(again->id);
  auto next = scheduler_->TriggerJob(id, "j");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->name, "3");
  WaitFinished(next->id);
}

TEST_F(SchedulerRerunTest, OneOffBuildsAndUnknownBuildsCannotBeRerun) {
  Id id = SetPipeline(kManualJob);
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  auto one_off = store_->CreateOneOffBuild("main", 0, Json::object());
  ASSERT_TRUE(one_off.ok());
  EXPECT_EQ(scheduler_->RerunBuild(one_off->id).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(scheduler_->RerunBuild(9999).status().code(), StatusCode::kNotFound);
}

TEST_F(SchedulerRerunTest, ABuildWhoseJobGainedAnInputCannotBeRerun) {
  Id id = SetPipeline(kManualJob);
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  NewVersion(id, "v1");
  auto first = scheduler_->TriggerJob(id, "j");
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
  auto rerun = scheduler_->RerunBuild(first->id);
  EXPECT_EQ(rerun.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(rerun.status().message().find("`other`"), std::string::npos)
      << rerun.status().message();
}

}  // namespace
}  // namespace baton::runner
