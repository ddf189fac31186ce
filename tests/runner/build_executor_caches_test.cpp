// BuildExecutor with resource caches: a version fetched once is not fetched again, and a step that
// uses a cached fetch gets a copy of its own (the scripted worker, real directories).
#include <filesystem>
#include <fstream>

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

BuildExecutorOptions WithCaches(ResourceCaches& caches) {
  BuildExecutorOptions options;
  options.resource_caches = &caches;
  return options;
}

TEST(BuildExecutorCaches, AGetOfAVersionFetchedBeforeRunsNothingAndReportsTheCachedVersion) {
  TempDir tmp;
  ResourceCaches caches(tmp.path() / "caches");
  ScriptedWorker worker;
  int fetches = 0;
  worker.OnResource("git", CountedFetch(&fetches));
  worker.OnResource("git", CountedFetch(&fetches));
  BuildRun first(Plan("git", ""), worker, WithCaches(caches));
  ASSERT_EQ(first.Go(), BuildStatus::kSucceeded);
  BuildRun second(Plan("git", ""), worker, WithCaches(caches));
  ASSERT_EQ(second.Go(), BuildStatus::kSucceeded);
  EXPECT_EQ(fetches, 1);
  EXPECT_EQ(worker.resource_runs().size(), 1u);
  EXPECT_THAT(second.observer.versions, ElementsAre(R"(repo {"ref":"c1"})"));
  EXPECT_THAT(second.observer.events, ElementsAre("status started", "started repo",
                                                  "finished repo succeeded", "status succeeded"));
  // Nothing used the artifact: nothing was written into either build.
  EXPECT_FALSE(fs::exists(first.build_root() / "volumes"));
  EXPECT_FALSE(fs::exists(second.build_root() / "volumes"));
}

TEST(BuildExecutorCaches, ATaskUsingACachedFetchGetsACopyOfItsOwn) {
  TempDir tmp;
  ResourceCaches caches(tmp.path() / "caches");
  ScriptedWorker worker;
  int fetches = 0;
  worker.OnResource("git", CountedFetch(&fetches));
  TaskScript edit;  // changes its input, as a task may
  std::vector<std::string> seen;
  edit.handler = [&seen](const workers::TaskRun& run, workers::OutputSink&) {
    fs::path input = run.mounts.at(0).host_path;
    seen.push_back(ReadFile(input / "app.txt"));
    WriteFile(input / "app.txt", "edited");
    WriteFile(input / "new.txt", "new");
    return baton::testing::ExitResult(0);
  };
  worker.OnTask("edit", edit);
  worker.OnTask("edit", edit);
  const std::string steps =
      "  - task: edit\n    config: {platform: linux, run: {path: edit}, inputs: [{name: repo}]}\n";
  BuildRun first(Plan("git", steps), worker, WithCaches(caches));
  ASSERT_EQ(first.Go(), BuildStatus::kSucceeded) << ::testing::PrintToString(first.observer.logs);
  BuildRun second(Plan("git", steps), worker, WithCaches(caches));
  ASSERT_EQ(second.Go(), BuildStatus::kSucceeded) << ::testing::PrintToString(second.observer.logs);
  EXPECT_EQ(fetches, 1);
  // Each build's task saw the fetch as it was, in its build's own volume.
  EXPECT_THAT(seen, ElementsAre("v1", "v1"));
  auto runs = worker.task_runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(fs::path(runs[1].mounts[0].host_path).parent_path(), second.build_root() / "volumes");
  auto entry = caches.Find(
      MakeResourceCacheKey("git", Json{{"uri", "app"}}, Json::object(), Json{{"ref", "c1"}}));
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(ReadFile(entry->files / "app.txt"), "v1");
  EXPECT_FALSE(fs::exists(entry->files / "new.txt"));
}

TEST(BuildExecutorCaches, ATaskFileAndALoadVarReadTheCachedFetchWithoutACopy) {
  TempDir tmp;
  ResourceCaches caches(tmp.path() / "caches");
  ScriptedWorker worker;
  ResourceScript fetch;
  fetch.handler = [](const workers::ResourceRun& run, workers::OutputSink&) {
    WriteFile(fs::path(run.dir) / "ci" / "task.yml",
              "platform: linux\nrun: {path: printenv, args: [((what))]}\n");
    WriteFile(fs::path(run.dir) / "what", "HOME");
    workers::ResourceResult r;
    r.version = run.version;
    return r;
  };
  worker.OnResource("mock", fetch);
  const std::string steps =
      "  - load_var: what\n    file: repo/what\n"
      "  - task: t\n    file: repo/ci/task.yml\n    vars: {what: ((.:what))}\n";
  BuildRun first(Plan("mock", steps), worker, WithCaches(caches));
  ASSERT_EQ(first.Go(), BuildStatus::kSucceeded) << ::testing::PrintToString(first.observer.logs);
  BuildRun second(Plan("mock", steps), worker, WithCaches(caches));
  ASSERT_EQ(second.Go(), BuildStatus::kSucceeded) << ::testing::PrintToString(second.observer.logs);
  EXPECT_EQ(worker.resource_runs().size(), 1u);
  auto runs = worker.task_runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_THAT(runs[1].args, ElementsAre("HOME"));
  EXPECT_FALSE(fs::exists(second.build_root() / "volumes"));
}

TEST(BuildExecutorCaches, APutSeesACachedFetchAsItsInput) {
  TempDir tmp;
  ResourceCaches caches(tmp.path() / "caches");
  ScriptedWorker worker;
  int fetches = 0;
  worker.OnResource("git", CountedFetch(&fetches));
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
  worker.OnResource("git", put);
  BuildRun first(Plan("git", ""), worker, WithCaches(caches));
  ASSERT_EQ(first.Go(), BuildStatus::kSucceeded);
  BuildRun second(Plan("git", "  - put: repo\n    params: {file: repo/app.txt}\n"), worker,
                  WithCaches(caches));
  ASSERT_EQ(second.Go(), BuildStatus::kSucceeded) << ::testing::PrintToString(second.observer.logs);
  EXPECT_EQ(fetches, 1);
  EXPECT_EQ(pushed, "v1");
}

TEST(BuildExecutorCaches, AFailedFetchIsNotKeptAndTheNextGetFetchesAgain) {
  TempDir tmp;
  ResourceCaches caches(tmp.path() / "caches");
  ScriptedWorker worker;
  ResourceScript failing;
  failing.handler = [](const workers::ResourceRun& run, workers::OutputSink&) {
    WriteFile(fs::path(run.dir) / "half", "x");
    workers::ResourceResult r;
    r.error = Unavailable("the remote hung up");
    return r;
  };
  worker.OnResource("git", failing);
  int fetches = 0;
  worker.OnResource("git", CountedFetch(&fetches));
  BuildRun first(Plan("git", ""), worker, WithCaches(caches));
  EXPECT_EQ(first.Go(), BuildStatus::kErrored);
  EXPECT_EQ(caches.size(), 0u);
  BuildRun second(Plan("git", ""), worker, WithCaches(caches));
  ASSERT_EQ(second.Go(), BuildStatus::kSucceeded);
  EXPECT_EQ(fetches, 1);
  EXPECT_EQ(caches.size(), 1u);
}

TEST(BuildExecutorCaches, ImagesAndTypesOutsideTheCachedOnesFetchEveryTime) {
  TempDir tmp;
  ResourceCaches caches(tmp.path() / "caches");
  ScriptedWorker worker;
  int fetches = 0;
  worker.OnResource("registry-image", CountedFetch(&fetches));
  worker.OnResource("registry-image", CountedFetch(&fetches));
  BuildRun first(Plan("registry-image", ""), worker, WithCaches(caches));
  ASSERT_EQ(first.Go(), BuildStatus::kSucceeded);
  BuildRun second(Plan("registry-image", ""), worker, WithCaches(caches));
  ASSERT_EQ(second.Go(), BuildStatus::kSucceeded);
  EXPECT_EQ(fetches, 2);
  EXPECT_EQ(caches.size(), 0u);
}

TEST(BuildExecutorCaches, WithoutCachesEveryGetFetchesIntoItsVolume) {
  ScriptedWorker worker;
  int fetches = 0;
  worker.OnResource("git", CountedFetch(&fetches));
  worker.OnResource("git", CountedFetch(&fetches));
  BuildRun first(Plan("git", ""), worker);
  ASSERT_EQ(first.Go(), BuildStatus::kSucceeded);
  BuildRun second(Plan("git", ""), worker);
  ASSERT_EQ(second.Go(), BuildStatus::kSucceeded);
  EXPECT_EQ(fetches, 2);
  EXPECT_TRUE(fs::exists(second.build_root() / "volumes"));
}

// A web node that restarts resumes a build from its journal: a get answered from the caches
// before the restart is still that fetch for the task after it.
TEST(BuildExecutorCaches, AResumedBuildUsesTheCachedFetchItsJournalNames) {
  TempDir tmp;
  ResourceCaches caches(tmp.path() / "caches");
  ScriptedWorker worker;
  int fetches = 0;
  worker.OnResource("git", CountedFetch(&fetches));
  const std::string steps =
      "  - task: use\n    config: {platform: linux, run: {path: use}, inputs: [{name: repo}]}\n";
  BuildRun warm(Plan("git", ""), worker, WithCaches(caches));
  ASSERT_EQ(warm.Go(), BuildStatus::kSucceeded);

  // The build before the restart: its get answered from the caches, its task never reported.
  fs::path build_root = tmp.path() / "build";
  BuildExecutorOptions before = WithCaches(caches);
  before.build_root = build_root.string();
  before.journal = true;
  {
    BuildRun interrupted(Plan("git", steps), worker, before);
    ASSERT_EQ(interrupted.Go(), BuildStatus::kSucceeded);
  }
  // Keep the journal up to the get's result only, as if the node died before the task ended.
  std::ifstream in(build_root / "journal.jsonl");
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.find("cached_at") != std::string::npos) kept += line + "\n";
  }
  ASSERT_FALSE(kept.empty()) << "the get's result names no cached fetch";
  in.close();
  { std::ofstream(build_root / "journal.jsonl", std::ios::trunc) << kept; }
  fs::remove_all(build_root / "volumes");

  std::string seen;
  TaskScript use;
  use.handler = [&seen](const workers::TaskRun& run, workers::OutputSink&) {
    seen = ReadFile(fs::path(run.mounts.at(0).host_path) / "app.txt");
    return baton::testing::ExitResult(0);
  };
  worker.OnTask("use", use);
  BuildExecutorOptions after = before;
  after.resume = true;
  BuildRun resumed(Plan("git", steps), worker, after);
  ASSERT_EQ(resumed.Go(), BuildStatus::kSucceeded)
      << ::testing::PrintToString(resumed.observer.logs);
  EXPECT_EQ(seen, "v1");
  EXPECT_EQ(fetches, 1);
  // Replayed, not run again: the get's version was shown before the restart.
  EXPECT_TRUE(resumed.observer.versions.empty())
      << ::testing::PrintToString(resumed.observer.versions);
}

TEST(BuildExecutorCaches, AResumedBuildWhoseCachedFetchIsGoneErrorsTheStepSayingSo) {
  TempDir tmp;
  ScriptedWorker worker;
  fs::path build_root = tmp.path() / "build";
  const std::string steps =
      "  - task: use\n    config: {platform: linux, run: {path: use}, inputs: [{name: repo}]}\n";
  std::string kept;
  {
    ResourceCaches caches(tmp.path() / "caches");
    int fetches = 0;
    worker.OnResource("git", CountedFetch(&fetches));
    BuildExecutorOptions before = WithCaches(caches);
    before.build_root = build_root.string();
    before.journal = true;
    BuildRun interrupted(Plan("git", steps), worker, before);
    ASSERT_EQ(interrupted.Go(), BuildStatus::kSucceeded);
    std::ifstream in(build_root / "journal.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      if (line.find("cached_at") != std::string::npos) kept += line + "\n";
    }
  }
  ASSERT_FALSE(kept.empty());
  { std::ofstream(build_root / "journal.jsonl", std::ios::trunc) << kept; }
  fs::remove_all(build_root / "volumes");
  fs::remove_all(tmp.path() / "caches");
  ResourceCaches caches(tmp.path() / "caches");
  BuildExecutorOptions after = WithCaches(caches);
  after.build_root = build_root.string();
  after.journal = true;
  after.resume = true;
  BuildRun resumed(Plan("git", steps), worker, after);
  EXPECT_EQ(resumed.Go(), BuildStatus::kErrored);
  EXPECT_THAT(resumed.observer.messages["use"], HasSubstr("is gone"));
  EXPECT_TRUE(worker.task_runs().size() == 1u);  // the first build's only
}

}  // namespace
}  // namespace baton::runner
