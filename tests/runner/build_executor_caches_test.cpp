// BuildExecutor with resource caches: a version fetched once is not fetched again, and a step that
// uses a cached fetch gets a copy of its own (the scripted worker, real directories).
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "baton/runner/resource_caches.h"
#include "fakes/scripted_worker.h"
#include "fakes/test_env.h"
#include "runner/engine_harness.h"
#include "runner/executor_harness.h"

namespace baton::runner {
namespace {

namespace fs = std::filesystem;
using baton::testing::ReadFile;
using baton::testing::ResourceScript;
using baton::testing::ScriptedWorker;
using baton::testing::TaskScript;
using baton::testing::TempDir;
using baton::testing::WriteFile;
using testing::BuildRun;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::PlanFromYaml;

// A get that writes `app.txt` ("v1") and reports metadata; counts the fetches.
ResourceScript CountedFetch(int* fetches) {
  ResourceScript script;
  script.handler = [fetches](const workers::ResourceRun& run, workers::OutputSink&) {
    workers::ResourceResult r;
    if (run.action != workers::ResourceRun::Action::kGet) return r;
    ++*fetches;
    WriteFile(fs::path(run.dir) / "app.txt", "v1");
    r.version = run.version;
    r.metadata = {{"author", "ada"}};
    return r;
  };
  return script;
}

// `repo` at version {ref: "c1"}, then `steps`.
BuildPlan Plan(const std::string& type, const std::string& steps) {
  return PlanFromYaml("resources:\n- name: repo\n  type: " + type +
                      "\n  source: {uri: app}\njobs:\n- name: job\n  plan:\n"
                      "  - get: repo\n    version: {ref: c1}\n" +
                      steps);
}

// Builds of one job, each on the scripted worker with the same resource caches.
class BuildExecutorCaches : public ::testing::Test {
 protected:
  struct Ran {
    Ran(BuildPlan plan, ScriptedWorker& worker, BuildExecutorOptions options)
        : run(std::move(plan), worker, std::move(options)), status(run.Go()) {}
    BuildRun run;
    BuildStatus status;
  };

  // The next `times` gets of `type` are CountedFetch's, counted in fetches_.
  void CountFetches(const std::string& type, int times = 1) {
    for (int i = 0; i < times; ++i) worker_.OnResource(type, CountedFetch(&fetches_));
  }
  // The next task `path` reads its first input's app.txt into *seen.
  void ReadAppTxtIn(const std::string& path, std::string* seen) {
    TaskScript read;
    read.handler = [seen](const workers::TaskRun& run, workers::OutputSink&) {
      *seen = ReadFile(fs::path(run.mounts.at(0).host_path) / "app.txt");
      return baton::testing::ExitResult(0);
    };
    worker_.OnTask(path, read);
  }
  BuildExecutorOptions WithCaches() {
    BuildExecutorOptions options;
    options.resource_caches = caches_.get();
    return options;
  }
  // A build of Plan(type, steps) to its end.
  Ran& Run(const std::string& type, const std::string& steps) {
    return Run(type, steps, WithCaches());
  }
  Ran& Run(const std::string& type, const std::string& steps, BuildExecutorOptions options) {
    ran_.push_back(std::make_unique<Ran>(Plan(type, steps), worker_, std::move(options)));
    return *ran_.back();
  }
  // Journals a build in build_root_ whose get of `repo` the caches answer, then keeps only that
  // result, as if the web node died while the task ran; the build's volumes go with it.
  void InterruptAfterTheGet(const std::string& steps) {
    BuildExecutorOptions options = WithCaches();
    options.build_root = build_root_.string();
    options.journal = true;
    ASSERT_EQ(Run("git", steps, options).status, BuildStatus::kSucceeded);
    std::ifstream in(build_root_ / "journal.jsonl");
    std::string line, kept;
    while (std::getline(in, line)) {
      if (line.find("cached_at") != std::string::npos) kept += line + "\n";
    }
    ASSERT_FALSE(kept.empty()) << "the get's result names no cached fetch";
    std::ofstream(build_root_ / "journal.jsonl", std::ios::trunc) << kept;
    fs::remove_all(build_root_ / "volumes");
  }
  BuildExecutorOptions Resuming() {
    BuildExecutorOptions options = WithCaches();
    options.build_root = build_root_.string();
    options.journal = true;
    options.resume = true;
    return options;
  }

  TempDir tmp_;
  std::unique_ptr<ResourceCaches> caches_ =
      std::make_unique<ResourceCaches>(tmp_.path() / "caches");
  ScriptedWorker worker_;
  int fetches_ = 0;
  const fs::path build_root_ = tmp_.path() / "build";
  std::vector<std::unique_ptr<Ran>> ran_;
};

const char* kUseRepo =
    "  - task: use\n    config: {platform: linux, run: {path: use}, inputs: [{name: repo}]}\n";

TEST_F(BuildExecutorCaches, AGetOfAVersionFetchedBeforeRunsNothingAndReportsTheCachedVersion) {
  CountFetches("git", 2);
  Ran& first = Run("git", "");
  Ran& second = Run("git", "");
  ASSERT_EQ(first.status, BuildStatus::kSucceeded);
  ASSERT_EQ(second.status, BuildStatus::kSucceeded);
  EXPECT_EQ(fetches_, 1);
  EXPECT_EQ(worker_.resource_runs().size(), 1u);
  EXPECT_THAT(second.run.observer.versions, ElementsAre(R"(repo {"ref":"c1"})"));
  EXPECT_THAT(
      second.run.observer.events,
      ElementsAre("status started", "started repo", "finished repo succeeded", "status succeeded"));
  // Nothing used the artifact: nothing was written into either build.
  EXPECT_FALSE(fs::exists(first.run.build_root() / "volumes"));
  EXPECT_FALSE(fs::exists(second.run.build_root() / "volumes"));
}

TEST_F(BuildExecutorCaches, ATaskUsingACachedFetchGetsACopyOfItsOwn) {
  CountFetches("git");
  TaskScript edit;  // changes its input, as a task may
  std::vector<std::string> seen;
  edit.handler = [&seen](const workers::TaskRun& run, workers::OutputSink&) {
    fs::path input = run.mounts.at(0).host_path;
    seen.push_back(ReadFile(input / "app.txt"));
    WriteFile(input / "app.txt", "edited");
    WriteFile(input / "new.txt", "new");
    return baton::testing::ExitResult(0);
  };
  worker_.OnTask("use", edit);
  worker_.OnTask("use", edit);
  Ran& first = Run("git", kUseRepo);
  ASSERT_EQ(first.status, BuildStatus::kSucceeded)
      << ::testing::PrintToString(first.run.observer.logs);
  Ran& second = Run("git", kUseRepo);
  ASSERT_EQ(second.status, BuildStatus::kSucceeded)
      << ::testing::PrintToString(second.run.observer.logs);
  EXPECT_EQ(fetches_, 1);
  // Each build's task saw the fetch as it was, in its build's own volume.
  EXPECT_THAT(seen, ElementsAre("v1", "v1"));
  auto runs = worker_.task_runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(fs::path(runs[1].mounts[0].host_path).parent_path(),
            second.run.build_root() / "volumes");
  auto entry = caches_->Find(
      MakeResourceCacheKey("git", Json{{"uri", "app"}}, Json::object(), Json{{"ref", "c1"}}));
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(ReadFile(entry->files / "app.txt"), "v1");
  EXPECT_FALSE(fs::exists(entry->files / "new.txt"));
}

TEST_F(BuildExecutorCaches, ATaskFileAndALoadVarReadTheCachedFetchWithoutACopy) {
  ResourceScript fetch;
  fetch.handler = [](const workers::ResourceRun& run, workers::OutputSink&) {
    WriteFile(fs::path(run.dir) / "ci" / "task.yml",
              "platform: linux\nrun: {path: printenv, args: [((what))]}\n");
    WriteFile(fs::path(run.dir) / "what", "HOME");
    workers::ResourceResult r;
    r.version = run.version;
    return r;
  };
  worker_.OnResource("mock", fetch);
  const std::string steps =
      "  - load_var: what\n    file: repo/what\n"
      "  - task: t\n    file: repo/ci/task.yml\n    vars: {what: ((.:what))}\n";
  Ran& first = Run("mock", steps);
  ASSERT_EQ(first.status, BuildStatus::kSucceeded)
      << ::testing::PrintToString(first.run.observer.logs);
  Ran& second = Run("mock", steps);
  ASSERT_EQ(second.status, BuildStatus::kSucceeded)
      << ::testing::PrintToString(second.run.observer.logs);
  EXPECT_EQ(worker_.resource_runs().size(), 1u);
  auto runs = worker_.task_runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_THAT(runs[1].args, ElementsAre("HOME"));
  EXPECT_FALSE(fs::exists(second.run.build_root() / "volumes"));
}

TEST_F(BuildExecutorCaches, APutSeesACachedFetchAsItsInput) {
  CountFetches("git");
  std::string pushed;
  ResourceScript put;
  put.handler = [&pushed](const workers::ResourceRun& run, workers::OutputSink&) {
    workers::ResourceResult r;
    r.version = run.version;  // the put's implicit get
    if (run.action != workers::ResourceRun::Action::kPut) return r;
    pushed = ReadFile(fs::path(run.dir) / "repo" / "app.txt");
    r.version = Json{{"ref", "c2"}};
    return r;
  };
  worker_.OnResource("git", put);
  ASSERT_EQ(Run("git", "").status, BuildStatus::kSucceeded);
  Ran& second = Run("git", "  - put: repo\n    params: {file: repo/app.txt}\n");
  ASSERT_EQ(second.status, BuildStatus::kSucceeded)
      << ::testing::PrintToString(second.run.observer.logs);
  EXPECT_EQ(fetches_, 1);
  EXPECT_EQ(pushed, "v1");
}

TEST_F(BuildExecutorCaches, AFailedFetchIsNotKeptAndTheNextGetFetchesAgain) {
  ResourceScript failing;
  failing.handler = [](const workers::ResourceRun& run, workers::OutputSink&) {
    WriteFile(fs::path(run.dir) / "half", "x");
    workers::ResourceResult r;
    r.error = Unavailable("the remote hung up");
    return r;
  };
  worker_.OnResource("git", failing);
  CountFetches("git");
  EXPECT_EQ(Run("git", "").status, BuildStatus::kErrored);
  EXPECT_EQ(caches_->size(), 0u);
  ASSERT_EQ(Run("git", "").status, BuildStatus::kSucceeded);
  EXPECT_EQ(fetches_, 1);
  EXPECT_EQ(caches_->size(), 1u);
}

TEST_F(BuildExecutorCaches, ImagesAndTypesOutsideTheCachedOnesFetchEveryTime) {
  CountFetches("registry-image", 2);
  ASSERT_EQ(Run("registry-image", "").status, BuildStatus::kSucceeded);
  ASSERT_EQ(Run("registry-image", "").status, BuildStatus::kSucceeded);
  EXPECT_EQ(fetches_, 2);
  EXPECT_EQ(caches_->size(), 0u);
}

TEST_F(BuildExecutorCaches, WithoutCachesEveryGetFetchesIntoItsVolume) {
  CountFetches("git", 2);
  ASSERT_EQ(Run("git", "", BuildExecutorOptions()).status, BuildStatus::kSucceeded);
  Ran& second = Run("git", "", BuildExecutorOptions());
  ASSERT_EQ(second.status, BuildStatus::kSucceeded);
  EXPECT_EQ(fetches_, 2);
  EXPECT_TRUE(fs::exists(second.run.build_root() / "volumes"));
}

TEST_F(BuildExecutorCaches, ATaskCancelledWhileItsInputIsCopiedNeverStarts) {
  ResourceScript fetch;  // thousands of files: a copy that takes far longer than the timeout
  fetch.handler = [](const workers::ResourceRun& run, workers::OutputSink&) {
    for (int i = 0; i < 3000; ++i) {
      WriteFile(fs::path(run.dir) / ("d" + std::to_string(i % 30)) / std::to_string(i), "x");
    }
    workers::ResourceResult r;
    r.version = run.version;
    return r;
  };
  worker_.OnResource("git", fetch);
  ASSERT_EQ(Run("git", "").status, BuildStatus::kSucceeded);
  Ran& timed_out = Run("git",
                       "  - task: use\n    timeout: 1ms\n"
                       "    config: {platform: linux, run: {path: use}, inputs: [{name: repo}]}\n");
  EXPECT_EQ(timed_out.status, BuildStatus::kErrored)
      << ::testing::PrintToString(timed_out.run.observer.events);
  EXPECT_TRUE(worker_.task_runs().empty()) << "the task started after its timeout";
}

// A web node that restarts resumes a build from its journal: a get answered from the caches
// before the restart is still that fetch for the task after it.
TEST_F(BuildExecutorCaches, AResumedBuildUsesTheCachedFetchItsJournalNames) {
  CountFetches("git");
  ASSERT_EQ(Run("git", "").status, BuildStatus::kSucceeded);
  InterruptAfterTheGet(kUseRepo);
  std::string seen;
  ReadAppTxtIn("use", &seen);
  Ran& resumed = Run("git", kUseRepo, Resuming());
  ASSERT_EQ(resumed.status, BuildStatus::kSucceeded)
      << ::testing::PrintToString(resumed.run.observer.logs);
  EXPECT_EQ(seen, "v1");
  EXPECT_EQ(fetches_, 1);
  // Replayed, not run again: the get's version was shown before the restart.
  EXPECT_TRUE(resumed.run.observer.versions.empty())
      << ::testing::PrintToString(resumed.run.observer.versions);
}

TEST_F(BuildExecutorCaches, AResumedBuildWhoseCachedFetchIsGoneErrorsTheStepSayingSo) {
  CountFetches("git");
  InterruptAfterTheGet(kUseRepo);
  // The web node starts again without the caches it had (a new disk, a removed directory).
  caches_.reset();
  fs::remove_all(tmp_.path() / "caches");
  caches_ = std::make_unique<ResourceCaches>(tmp_.path() / "caches");
  Ran& resumed = Run("git", kUseRepo, Resuming());
  EXPECT_EQ(resumed.status, BuildStatus::kErrored);
  EXPECT_THAT(resumed.run.observer.messages["use"], HasSubstr("is gone"));
  EXPECT_EQ(worker_.task_runs().size(), 1u);  // the interrupted build's only
}

TEST_F(BuildExecutorCaches, ABuildResumedWithoutCachesStillCopiesTheFetchItsJournalNames) {
  CountFetches("git");
  InterruptAfterTheGet(kUseRepo);
  std::string seen;
  ReadAppTxtIn("use", &seen);
  BuildExecutorOptions options = Resuming();
  options.resource_caches = nullptr;
  Ran& resumed = Run("git", kUseRepo, options);
  ASSERT_EQ(resumed.status, BuildStatus::kSucceeded)
      << ::testing::PrintToString(resumed.run.observer.logs);
  EXPECT_EQ(seen, "v1");
  for (const auto& f : fs::directory_iterator(build_root_ / "volumes")) {
    EXPECT_EQ(f.path().extension(), "") << "left: " << f.path();
  }
}

}  // namespace
}  // namespace baton::runner
