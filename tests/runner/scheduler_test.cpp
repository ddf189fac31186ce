#include "baton/runner/scheduler.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <mutex>

#include "scheduler_harness.h"

namespace baton::runner {
namespace {

namespace asio = boost::asio;
using testing::ResourceScript;
using testing::TaskScript;

class SchedulerTest : public SchedulerHarness {
 protected:
  // Runs `jobs` of pipeline `id` once (every job when empty), two at a time, and waits for
  // their outcomes.
  std::vector<JobOutcome> RunJobsOnce(Id id, std::vector<std::string> jobs) {
    std::optional<std::vector<JobOutcome>> outcomes;
    scheduler_->RunOnce(id, std::move(jobs), 2,
                        [&](std::vector<JobOutcome> o) { outcomes = std::move(o); });
    EXPECT_TRUE(RunUntil([&] { return outcomes.has_value(); }));
    return outcomes.value_or(std::vector<JobOutcome>{});
  }

  void SetUp() override {
    OpenStore(RealClock());
    // `mock` checks find the versions in versions_ (all of them, oldest first).
    ResourceScript check;
    check.handler = [this](const workers::ResourceRun& run, workers::OutputSink&) {
      workers::ResourceResult r;
      if (run.action == workers::ResourceRun::Action::kCheck) {
        std::lock_guard lock(mu_);
        for (const auto& v : versions_) r.versions.push_back(Json{{"version", v}});
      } else if (run.action == workers::ResourceRun::Action::kGet) {
        r.version = run.version;
      } else {
        r.version = Json{{"version", "put-" + run.id}};
      }
      return r;
    };
    worker_.OnResource("mock", check);
  }

  void StartScheduler(bool serving) {
    SchedulerOptions options = BaseOptions();
    options.periodic_checks = serving;
    options.cancel_grace = std::chrono::milliseconds(100);
    scheduler_ = std::make_unique<Scheduler>(io_, SchedulerStores{*store_, *store_, *store_},
                                             worker_, options);
  }

  void AddVersion(const std::string& v) {
    std::lock_guard lock(mu_);
    versions_.push_back(v);
  }

  std::vector<Build> Builds(BuildStatus status) {
    BuildQuery q;
    q.statuses = {status};
    q.limit = 100;
    auto builds = store_->ListBuilds(q);
    return builds.ok() ? *builds : std::vector<Build>{};
  }

  std::mutex mu_;
  std::vector<std::string> versions_;
};

constexpr const char* kChain = R"(
resources:
- {name: r, type: mock, check_every: never}
jobs:
- name: a
  plan:
  - {get: r, trigger: true}
  - task: t
    config: {platform: linux, run: {path: ok-a}}
- name: b
  plan:
  - {get: r, passed: [a], trigger: true}
  - task: t
    config: {platform: linux, run: {path: maybe-fail}}
- name: c
  plan:
  - {get: r, passed: [b], trigger: true}
  - task: t
    config: {platform: linux, run: {path: ok-c}}
)";

TEST_F(SchedulerTest, RunOnceRunsJobsInDagOrderAndSkipsWhatFollowsAFailure) {
  AddVersion("v1");
  TaskScript fail;
  fail.result = testing::ExitResult(1);
  worker_.OnTask("maybe-fail", fail);
  StartScheduler(/*serving=*/false);
  Id id = SetPipeline(kChain);
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  std::optional<std::vector<JobOutcome>> outcomes = RunJobsOnce(id, {});
  ASSERT_EQ(outcomes->size(), 3u);
  EXPECT_EQ((*outcomes)[0].build->status, BuildStatus::kSucceeded);
  EXPECT_EQ((*outcomes)[1].build->status, BuildStatus::kFailed);
  EXPECT_FALSE((*outcomes)[2].build.has_value());
  EXPECT_EQ((*outcomes)[2].skipped_reason, "upstream job `b` did not succeed");
  auto tasks = worker_.task_runs();
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].path, "ok-a");
  EXPECT_EQ(tasks[1].path, "maybe-fail");
}

TEST_F(SchedulerTest, ANewVersionTriggersTheJobAndThenItsDownstreamJobs) {
  AddVersion("v1");
  StartScheduler(/*serving=*/true);
  Id id = SetPipeline(kChain);
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  ASSERT_TRUE(RunUntil([&] { return Builds(BuildStatus::kSucceeded).size() == 3; }));
  AddVersion("v2");
  bool checked = false;
  scheduler_->CheckResource(id, "r", [&](Result<int> n) {
    EXPECT_TRUE(n.ok());
    EXPECT_EQ(*n, 1);
    checked = true;
  });
  ASSERT_TRUE(RunUntil([&] { return checked && Builds(BuildStatus::kSucceeded).size() == 6; }));
  // The newest build of c used v2.
  auto newest = Builds(BuildStatus::kSucceeded).front();
  EXPECT_EQ(newest.job, "c");
  auto inputs = store_->ListBuildInputs(newest.id);
  ASSERT_TRUE(inputs.ok());
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ((*inputs)[0].version, (Json{{"version", "v2"}}));
}

// A worker whose gets answer at once, on the scheduler's thread (the version asked for), and whose
// tasks are the scripted worker's; it counts the builds in the store when a task of `watched`
// starts, which it does on the scheduler's thread too.
class InlineGets final : public workers::Worker {
 public:
  InlineGets(workers::Worker& tasks, SqliteStore& store, std::string watched)
      : tasks_(tasks), store_(store), watched_(std::move(watched)) {}
  std::string name() const override { return tasks_.name(); }
  workers::IsolationLevel isolation() const override { return tasks_.isolation(); }
  std::unique_ptr<workers::StepHandle> RunTask(
      const workers::TaskRun& run, std::shared_ptr<workers::OutputSink> output,
      std::function<void(workers::TaskResult)> done) override {
    if (run.path == watched_ && builds_at_first_task < 0) {
      BuildQuery all;
      all.limit = 1000;
      auto builds = store_.ListBuilds(all);
      builds_at_first_task = builds.ok() ? static_cast<int>(builds->size()) : -1;
    }
    return tasks_.RunTask(run, std::move(output), std::move(done));
  }
  std::unique_ptr<workers::StepHandle> RunResource(
      const workers::ResourceRun& run, std::shared_ptr<workers::OutputSink> output,
      std::function<void(workers::ResourceResult)> done) override {
    if (run.action != workers::ResourceRun::Action::kGet) {
      return tasks_.RunResource(run, std::move(output), std::move(done));
    }
    workers::ResourceResult got;
    got.version = run.version;
    done(std::move(got));
    return std::make_unique<Answered>();
  }
  int builds_at_first_task = -1;

 private:
  struct Answered final : workers::StepHandle {
    void Cancel(Duration) override {}
  };
  workers::Worker& tasks_;
  SqliteStore& store_;
  const std::string watched_;
};

TEST_F(SchedulerTest, AFanOutsFirstTaskStartsBeforeTheLastOfItsBuildsIsCreated) {
  // A build's end that wakes eight jobs creates the first build at once and each next one in an
  // io handler of its own, so the first builds' steps (here their gets, answered at once) go on
  // between the creations: the first fan-out task starts with few of the builds there, not after
  // all eight were created one after another.
  std::string yaml = R"(
resources:
- {name: r, type: mock, check_every: never}
jobs:
- name: start
  plan:
  - {get: r, trigger: true}
  - task: t
    config: {platform: linux, run: {path: ok-start}}
)";
  for (int i = 1; i <= 8; ++i) {
    yaml += "- name: f" + std::to_string(i) +
            "\n  plan:\n  - {get: r, passed: [start], trigger: true}\n  - task: t\n    config: "
            "{platform: linux, run: {path: fan}}\n";
  }
  AddVersion("v1");
  InlineGets worker(worker_, *store_, "fan");
  SchedulerOptions options = BaseOptions();
  options.periodic_checks = true;
  scheduler_ =
      std::make_unique<Scheduler>(io_, SchedulerStores{*store_, *store_, *store_}, worker, options);
  Id id = SetPipeline(yaml);
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  ASSERT_TRUE(RunUntil([&] { return Builds(BuildStatus::kSucceeded).size() == 9; }));
  // `start`'s build and the first few of the fan-out's (three today: the first task starts a few
  // handlers after its get's answer), not all nine.
  EXPECT_GE(worker.builds_at_first_task, 2);
  EXPECT_LE(worker.builds_at_first_task, 5) << "the fan-out's builds were all created first";
  EXPECT_TRUE(worker_.WaitIdle());
  io_.run_for(std::chrono::milliseconds(20));
  scheduler_.reset();  // before `worker`
}

TEST_F(SchedulerTest, ASerialJobStartsItsNextBuildOnlyWhenTheRunningOneEnds) {
  AddVersion("v1");
  TaskScript held;
  held.hold = true;
  worker_.OnTask("slow", held);
  worker_.OnTask("slow", held);
  StartScheduler(/*serving=*/true);
  Id id = SetPipeline(R"(
resources:
- {name: r, type: mock, check_every: never}
jobs:
- name: s
  serial: true
  plan:
  - get: r
  - task: t
    config: {platform: linux, run: {path: slow}}
)");
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  ASSERT_TRUE(RunUntil([&] { return !store_->ListResources(id)->empty(); }));
  ASSERT_TRUE(RunUntil([&] {
    return store_->ListResourceVersions(store_->ListResources(id)->front().id, {})->size() == 1;
  }));
  ASSERT_TRUE(Trigger(*scheduler_, id, "s").ok());
  ASSERT_TRUE(Trigger(*scheduler_, id, "s").ok());
  ASSERT_TRUE(RunUntil([&] { return worker_.task_runs().size() == 1; }));
  io_.run_for(std::chrono::milliseconds(50));
  EXPECT_EQ(worker_.task_runs().size(), 1u) << "the second build must wait";
  EXPECT_EQ(Builds(BuildStatus::kPending).size(), 1u);
  ASSERT_TRUE(worker_.Release(worker_.task_runs()[0].id));
  ASSERT_TRUE(RunUntil([&] { return worker_.task_runs().size() == 2; }));
  ASSERT_TRUE(worker_.Release(worker_.task_runs()[1].id));
  ASSERT_TRUE(RunUntil([&] { return Builds(BuildStatus::kSucceeded).size() == 2; }));
}

TEST_F(SchedulerTest, AVersionCreatedByAPutTriggersTheJobsThatGetIt) {
  StartScheduler(/*serving=*/true);
  Id id = SetPipeline(R"(
resources:
- {name: out, type: mock, check_every: never}
jobs:
- name: producer
  plan:
  - put: out
- name: consumer
  plan:
  - {get: out, trigger: true}
)");
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  ASSERT_TRUE(Trigger(*scheduler_, id, "producer").ok());
  ASSERT_TRUE(RunUntil([&] { return Builds(BuildStatus::kSucceeded).size() == 2; }));
  auto builds = Builds(BuildStatus::kSucceeded);
  EXPECT_EQ(builds[0].job, "consumer");
  auto outputs = store_->ListBuildOutputs(builds[1].id);
  ASSERT_TRUE(outputs.ok());
  ASSERT_EQ(outputs->size(), 1u);
  auto inputs = store_->ListBuildInputs(builds[0].id);
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ((*inputs)[0].resource_version_id, (*outputs)[0].resource_version_id);
}

TEST_F(SchedulerTest, ManualTriggersAreRefusedWhenTheJobDisablesThem) {
  AddVersion("v1");
  StartScheduler(/*serving=*/true);
  Id id = SetPipeline(R"(
resources:
- {name: r, type: mock, check_every: never}
jobs:
- name: j
  disable_manual_trigger: true
  plan:
  - get: r
)");
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  auto build = Trigger(*scheduler_, id, "j");
  EXPECT_EQ(build.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(Trigger(*scheduler_, id, "nope").status().code(), StatusCode::kNotFound);
}

TEST_F(SchedulerTest, AFailedCheckIsRecordedOnTheResource) {
  ResourceScript broken;
  broken.handler = [](const workers::ResourceRun&, workers::OutputSink&) {
    workers::ResourceResult r;
    r.error = Unavailable("repository not found");
    return r;
  };
  worker_.OnResource("git", broken);
  StartScheduler(/*serving=*/false);
  Id id = SetPipeline(R"(
resources:
- {name: g, type: git, source: {uri: /nowhere}}
jobs:
- name: j
  plan:
  - get: g
)");
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  std::optional<Result<int>> result;
  scheduler_->CheckResource(id, "g", [&](Result<int> r) { result = r; });
  ASSERT_TRUE(RunUntil([&] { return result.has_value(); }));
  EXPECT_FALSE(result->ok());
  EXPECT_NE(result->status().message().find("repository not found"), std::string::npos);
  auto resource = store_->GetResource(id, "g");
  ASSERT_TRUE(resource.ok());
  EXPECT_EQ(resource->check_error, "repository not found");
}

TEST_F(SchedulerTest, AFinishedBuildsDirectoryIsGoneOnceTheSchedulerStops) {
  AddVersion("v1");
  StartScheduler(/*serving=*/false);
  Id id = SetPipeline(kChain);
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  std::optional<std::vector<JobOutcome>> outcomes = RunJobsOnce(id, {"a"});
  ASSERT_EQ(outcomes->size(), 1u);
  ASSERT_TRUE((*outcomes)[0].build.has_value());
  std::filesystem::path dir =
      dir_.path() / "data" / "builds" / std::to_string((*outcomes)[0].build->id);
  scheduler_.reset();  // removed off the scheduler's thread, and waited for when it stops
  EXPECT_FALSE(std::filesystem::exists(dir)) << dir;
}

TEST_F(SchedulerTest, AFinishedBuildsEmptiedDirectoriesAreKeptAsSparesForTheNextBuilds) {
  AddVersion("v1");
  StartScheduler(/*serving=*/false);
  Id id = SetPipeline(kChain);
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  ASSERT_EQ(RunJobsOnce(id, {"a"}).size(), 1u);
  scheduler_.reset();
  std::filesystem::path spares = dir_.path() / "data" / "spare-dirs";
  size_t kept = 0;
  // The build's directory kept whole, with its task's work dir in it: directories, no file.
  for (const auto& entry : std::filesystem::recursive_directory_iterator(spares)) {
    EXPECT_TRUE(entry.is_directory() && !entry.is_symlink()) << entry.path();
    ++kept;
  }
  EXPECT_GE(kept, 2u);
}

TEST_F(SchedulerTest, APipelineActivatedWithTheConfigItsCallerLoadedRunsAsOneLoadedFromTheStore) {
  AddVersion("v1");
  StartScheduler(/*serving=*/false);
  Id id = SetPipeline(kChain);
  auto record = store_->GetPipelineById(id);
  ASSERT_TRUE(record.ok()) << record.status().ToString();
  auto load = pipelines::LoadPipeline(kChain, pipelines::LoadOptions{});
  ASSERT_TRUE(load.ok());
  ASSERT_TRUE(scheduler_->ActivatePipeline(*record, std::move(*load.config)).ok());
  std::optional<std::vector<JobOutcome>> outcomes = RunJobsOnce(id, {});
  ASSERT_EQ(outcomes->size(), 3u);
  for (const auto& o : *outcomes) {
    ASSERT_TRUE(o.build.has_value()) << o.job << ": " << o.skipped_reason;
    EXPECT_EQ(o.build->status, BuildStatus::kSucceeded) << o.job;
  }
}

// The history a new scheduler reads: a job's passed: constraint is met by builds of an earlier
// run (read back per job), and a pipeline with no build reads nothing per job.
TEST_F(SchedulerTest, ASecondRunSeesTheBuildsOfTheFirstThroughItsHistory) {
  AddVersion("v1");
  StartScheduler(/*serving=*/false);
  Id id = SetPipeline(kChain);
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  std::optional<std::vector<JobOutcome>> first = RunJobsOnce(id, {"a"});
  StartScheduler(/*serving=*/false);  // a new process: what it knows comes from the store
  ASSERT_TRUE(scheduler_->ActivatePipeline(id).ok());
  std::optional<std::vector<JobOutcome>> second = RunJobsOnce(id, {"b"});
  ASSERT_EQ(second->size(), 1u);
  ASSERT_TRUE((*second)[0].build.has_value()) << (*second)[0].skipped_reason;
}

}  // namespace
}  // namespace baton::runner
