// Scheduler + SqliteStore: build_log_retention is applied after each build of a job and when a
// pipeline is activated; reaped builds lose their events, and artifact versions no remaining
// build uses are pruned from the artifact store.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "baton/workers/artifact_store.h"
#include "fakes/fake_clock.h"
#include "scheduler_harness.h"

namespace baton::runner {
namespace {

namespace asio = boost::asio;
using testing::ResourceScript;
using testing::TaskScript;

class SchedulerRetentionTest : public SchedulerHarness {
 protected:
  void SetUp() override {
    OpenStore(clock_);
    ResourceScript mock;
    mock.handler = [](const workers::ResourceRun& run, workers::OutputSink&) {
      workers::ResourceResult r;
      if (run.action == workers::ResourceRun::Action::kCheck) r.versions = {Json{{"v", "1"}}};
      if (run.action == workers::ResourceRun::Action::kGet) r.version = run.version;
      return r;
    };
    worker_.OnResource("mock", mock);
    TaskScript logs;
    logs.lines = {{workers::OutputStream::kStdout, "hello from the task"}};
    worker_.OnTaskMatching([](const workers::TaskRun&) { return true; }, logs);
  }

  void StartScheduler() {
    SchedulerOptions options = BaseOptions();
    options.clock = &clock_;
    options.artifacts = artifacts_.get();
    scheduler_ = std::make_unique<Scheduler>(io_, SchedulerStores{*store_, *store_, *store_},
                                             worker_, options);
  }

  std::vector<Build> JobBuilds(Id pipeline_id) {
    BuildQuery q;
    q.pipeline_id = pipeline_id;
    q.limit = 100;
    auto builds = store_->ListBuilds(q);
    return builds.ok() ? *builds : std::vector<Build>{};
  }

  // The builds whose logs retention has not reaped, newest first.
  std::vector<Build> BuildsWithLogs(Id pipeline_id) {
    std::vector<Build> kept;
    for (Build& b : JobBuilds(pipeline_id)) {
      if (!b.logs_reaped_at) kept.push_back(std::move(b));
    }
    return kept;
  }

  // Activates the pipeline and waits for the check of `resource` that activation starts.
  void Activate(Id pipeline_id, const std::string& resource = "r") {
    ASSERT_TRUE(scheduler_->ActivatePipeline(pipeline_id).ok());
    ASSERT_TRUE(RunUntil([&] {
      auto r = store_->GetResource(pipeline_id, resource);
      return r.ok() && r->last_checked_at.has_value();
    }));
  }

  // Triggers `job` and runs the loop until that build has finished.
  Build RunBuild(Id pipeline_id, const std::string& job) {
    auto build = Trigger(*scheduler_, pipeline_id, job);
    EXPECT_TRUE(build.ok()) << build.status().ToString();
    if (!build.ok()) return {};
    Build finished;
    EXPECT_TRUE(RunUntil([&] {
      auto b = store_->GetBuild(build->id);
      if (!b.ok() || !IsFinished(b->status)) return false;
      finished = *b;
      return scheduler_->running_builds() == 0;
    }));
    return finished;
  }

  // The text of every log event of the build.
  std::vector<std::string> Logs(Id build_id) {
    std::vector<std::string> lines;
    auto events = store_->ReadEvents(build_id, 0, 1000);
    if (!events.ok()) return lines;
    for (const auto& e : *events) {
      if (e.type == "log") lines.push_back(e.payload);
    }
    return lines;
  }

  baton::testing::FakeClock clock_;
  std::unique_ptr<workers::ArtifactStore> artifacts_;
};

constexpr const char* kTwoBuilds = R"(
resources:
- {name: r, type: mock, check_every: never}
jobs:
- name: j
  build_log_retention: {builds: 2}
  plan:
  - get: r
  - task: t
    config: {platform: linux, run: {path: echo}}
)";

TEST_F(SchedulerRetentionTest, AJobKeepingTwoBuildsRunFourTimesKeepsTheNewestTwoWithTheirLogs) {
  StartScheduler();
  Id id = SetPipeline(kTwoBuilds);
  Activate(id);
  std::vector<Build> ran;
  for (int i = 0; i < 4; ++i) ran.push_back(RunBuild(id, "j"));
  EXPECT_EQ(JobBuilds(id).size(), 4u) << "reaping deletes logs, never the history";
  auto kept = BuildsWithLogs(id);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].name, "4");
  EXPECT_EQ(kept[1].name, "3");
  for (const Build& b : kept) {
    EXPECT_EQ(b.status, BuildStatus::kSucceeded);
    auto lines = Logs(b.id);
    EXPECT_NE(std::find(lines.begin(), lines.end(), "hello from the task"), lines.end())
        << "the log of a kept build is intact";
  }
  for (int i = 0; i < 2; ++i) {
    auto reaped = store_->GetBuild(ran[i].id);
    ASSERT_TRUE(reaped.ok());
    EXPECT_TRUE(reaped->logs_reaped_at.has_value());
    EXPECT_EQ(reaped->status, BuildStatus::kSucceeded);
    auto events = store_->ReadEvents(ran[i].id, 0, 100);
    ASSERT_TRUE(events.ok());
    EXPECT_TRUE(events->empty()) << "the events of a reaped build are deleted";
  }
  // The next build is still numbered after the reaped ones.
  EXPECT_EQ(RunBuild(id, "j").name, "5");
}

TEST_F(SchedulerRetentionTest, TheMinimumSucceededBuildsAreKeptEvenWhenOlder) {
  TaskScript ok, fail;
  fail.result = testing::ExitResult(1);
  worker_.OnTask("maybe", ok);
  worker_.OnTask("maybe", fail);  // the last script repeats: every later build fails
  StartScheduler();
  Id id = SetPipeline(R"(
resources:
- {name: r, type: mock, check_every: never}
jobs:
- name: j
  build_log_retention: {builds: 1, minimum_succeeded_builds: 1}
  plan:
  - get: r
  - task: t
    config: {platform: linux, run: {path: maybe}}
)");
  Activate(id);
  EXPECT_EQ(RunBuild(id, "j").status, BuildStatus::kSucceeded);
  EXPECT_EQ(RunBuild(id, "j").status, BuildStatus::kFailed);
  EXPECT_EQ(RunBuild(id, "j").status, BuildStatus::kFailed);
  auto kept = BuildsWithLogs(id);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].name, "3");  // the newest
  EXPECT_EQ(kept[1].name, "1");  // the only success, though older than build 2
  EXPECT_EQ(kept[1].status, BuildStatus::kSucceeded);
}

TEST_F(SchedulerRetentionTest, BuildsOlderThanTheRetainedDaysAreReapedAtStartupAndAfterBuilds) {
  StartScheduler();
  Id id = SetPipeline(R"(
resources:
- {name: r, type: mock, check_every: never}
jobs:
- name: j
  build_log_retention: {days: 2}
  plan:
  - get: r
)");
  Activate(id);
  RunBuild(id, "j");
  clock_.Advance(std::chrono::hours(24));
  RunBuild(id, "j");
  clock_.Advance(std::chrono::hours(36));  // build 1 is 2.5 days old, build 2 1.5 days
  ASSERT_EQ(BuildsWithLogs(id).size(), 2u);
  // A restart: activating the pipeline applies retention before anything runs.
  io_.run_for(std::chrono::milliseconds(5));
  scheduler_.reset();
  StartScheduler();
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  auto kept = BuildsWithLogs(id);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].name, "2");
  clock_.Advance(std::chrono::hours(24));  // build 2 is now 2.5 days old
  RunBuild(id, "j");
  kept = BuildsWithLogs(id);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].name, "3");
}

TEST_F(SchedulerRetentionTest, ArtifactVersionsOnlyReapedBuildsUsedAreRemovedFromTheStore) {
  auto artifacts = workers::OpenLocalArtifactStore((dir_.path() / "artifacts").string());
  ASSERT_TRUE(artifacts.ok()) << artifacts.status().ToString();
  artifacts_ = std::move(*artifacts);
  int counter = 0;
  ResourceScript put;
  put.handler = [&](const workers::ResourceRun& run, workers::OutputSink&) {
    workers::ResourceResult r;
    if (run.action != workers::ResourceRun::Action::kPut) return r;
    auto content = dir_.path() / ("content-" + std::to_string(++counter));
    std::filesystem::create_directories(content);
    std::ofstream(content / "file") << "build output " << counter << "\n";
    auto v = artifacts_->Put("name:" + run.source.value("name", std::string()), content.string());
    if (!v.ok()) r.error = v.status();
    if (v.ok()) r.version = Json{{"digest", v->digest}};
    return r;
  };
  worker_.OnResource("artifact", put);
  StartScheduler();
  Id id = SetPipeline(R"(
resources:
- {name: bin, type: artifact, source: {name: app-bin}}
jobs:
- name: produce
  build_log_retention: {builds: 1}
  plan:
  - put: bin
    no_get: true
)");
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(RunBuild(id, "produce").status, BuildStatus::kSucceeded);
  auto versions = artifacts_->List("name:app-bin");
  ASSERT_TRUE(versions.ok());
  ASSERT_EQ(versions->size(), 1u) << "only the version the kept build produced remains";
  auto kept = BuildsWithLogs(id);
  ASSERT_EQ(kept.size(), 1u);
  auto outputs = store_->ListBuildOutputs(kept[0].id);
  ASSERT_TRUE(outputs.ok());
  ASSERT_EQ(outputs->size(), 1u);
  EXPECT_EQ((*outputs)[0].version.value("digest", ""), (*versions)[0].digest);
  int files = 0;
  for (const auto& e :
       std::filesystem::recursive_directory_iterator(dir_.path() / "artifacts" / "objects")) {
    if (e.is_regular_file()) ++files;
  }
  EXPECT_EQ(files, 1) << "only the kept version's file content remains";
}

}  // namespace
}  // namespace baton::runner
