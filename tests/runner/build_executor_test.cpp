// BuildExecutor against the scripted worker: real io_context, real directories, real loaders.
#include "baton/runner/build_executor.h"

#include <filesystem>
#include <future>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "fakes/scripted_worker.h"
#include "fakes/test_env.h"
#include "runner/engine_harness.h"
#include "runner/executor_harness.h"

namespace baton::runner {
namespace {

namespace fs = std::filesystem;
using baton::testing::ResourceScript;
using baton::testing::ScriptedWorker;
using baton::testing::TaskScript;
using baton::testing::TempDir;
using testing::BuildRun;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::PlanFromYaml;

const char* kMockResource = R"Y(
resources:
- name: repo
  type: mock
  source: {}
)Y";

// A get of `repo` that writes `files` (relative path -> content) into its directory.
ResourceScript Writes(std::map<std::string, std::string> files) {
  ResourceScript script;
  script.handler = [files](const workers::ResourceRun& run, workers::OutputSink&) {
    if (run.action == workers::ResourceRun::Action::kCheck) {
      workers::ResourceResult check;
      check.versions = {Json{{"ref", "latest"}}};
      return check;
    }
    for (const auto& [path, content] : files)
      baton::testing::WriteFile(fs::path(run.dir) / path, content);
    workers::ResourceResult r;
    r.version = run.version.is_null() ? Json{{"ref", "latest"}} : run.version;
    return r;
  };
  return script;
}

TEST(BuildExecutor, RunsATaskAndReportsItsOutputAndStatus) {
  ScriptedWorker worker;
  TaskScript script;
  script.lines = {{workers::OutputStream::kStdout, "hello"},
                  {workers::OutputStream::kStderr, "oops"}};
  worker.OnTask("echo", script);
  BuildRun run(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: say
    config: {platform: linux, run: {path: echo, args: [hello]}}
)Y"),
               worker);
  EXPECT_EQ(run.Go(), BuildStatus::kSucceeded);
  EXPECT_THAT(run.observer.events, ElementsAre("status started", "started say",
                                               "finished say succeeded", "status succeeded"));
  EXPECT_THAT(run.observer.logs,
              ElementsAre("say system: initializing", "say stdout: hello", "say stderr: oops"));
  ASSERT_EQ(worker.task_runs().size(), 1u);
  EXPECT_THAT(worker.task_runs()[0].args, ElementsAre("hello"));
  EXPECT_EQ(worker.task_runs()[0].rootfs.kind, workers::RootfsSpec::Kind::kHost);
}

TEST(BuildExecutor, ANonZeroExitFailsTheBuild) {
  ScriptedWorker worker;
  TaskScript fail;
  fail.result = baton::testing::ExitResult(1);
  worker.OnTask("false", fail);
  BuildRun run(
      PlanFromYaml("jobs:\n- name: job\n  plan:\n  - task: f\n    config: {platform: linux, "
                   "run: {path: 'false'}}\n"),
      worker);
  EXPECT_EQ(run.Go(), BuildStatus::kFailed);
}

TEST(BuildExecutor, GivesTasksBuildMetadataAndTheirParamsAsEnvironment) {
  ScriptedWorker worker;
  BuildRun run(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: env
    params: {FROM_STEP: step, OVERRIDDEN: step}
    config:
      platform: linux
      run: {path: env}
      params: {OVERRIDDEN: config, NUMBER: 3, MAP: {a: b}}
)Y"),
               worker);
  ASSERT_EQ(run.Go(), BuildStatus::kSucceeded);
  auto runs = worker.task_runs();
  const auto& env = runs.at(0).env;
  EXPECT_EQ(env.at("BUILD_ID"), "42");
  EXPECT_EQ(env.at("BUILD_NAME"), "7");
  EXPECT_EQ(env.at("BUILD_JOB_NAME"), "unit");
  EXPECT_EQ(env.at("BUILD_PIPELINE_NAME"), "ci");
  EXPECT_EQ(env.at("BUILD_TEAM_NAME"), "main");
  EXPECT_EQ(env.at("ATC_EXTERNAL_URL"), "http://baton.local");
  EXPECT_EQ(env.at("OVERRIDDEN"), "step");
  EXPECT_EQ(env.at("FROM_STEP"), "step");
  EXPECT_EQ(env.at("NUMBER"), "3");
  EXPECT_EQ(env.at("MAP"), R"Y({"a":"b"})Y");
  // The pipeline's tasks may use one network one after another (docs/security.md#network).
  EXPECT_EQ(runs.at(0).network_scope, "main/ci");
}

TEST(BuildExecutor, MountsOutputVolumesAsInputsOfLaterTasks) {
  ScriptedWorker worker;
  TaskScript make;
  make.handler = [](const workers::TaskRun& run, workers::OutputSink&) {
    for (const auto& m : run.mounts) baton::testing::WriteFile(fs::path(m.host_path) / "made", "x");
    return baton::testing::ExitResult(0);
  };
  worker.OnTask("make", make);
  BuildRun run(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: make
    config: {platform: linux, run: {path: make}, outputs: [{name: bin}]}
  - task: use
    config: {platform: linux, run: {path: use}, inputs: [{name: bin, path: in/bin}]}
)Y"),
               worker);
  ASSERT_EQ(run.Go(), BuildStatus::kSucceeded);
  auto runs = worker.task_runs();
  ASSERT_EQ(runs.size(), 2u);
  ASSERT_EQ(runs[1].mounts.size(), 1u);
  EXPECT_EQ(runs[1].mounts[0].sandbox_path, "in/bin");
  EXPECT_EQ(runs[1].mounts[0].host_path, runs[0].mounts[0].host_path);
  EXPECT_EQ(fs::path(runs[0].mounts[0].host_path).parent_path(), run.build_root() / "volumes");
  EXPECT_TRUE(fs::exists(fs::path(runs[1].mounts[0].host_path) / "made"));
  EXPECT_EQ(run.executor().ArtifactPath("bin"), runs[0].mounts[0].host_path);
}

TEST(BuildExecutor, LoadsAFileTaskConfigFromAFetchedArtifact) {
  ScriptedWorker worker;
  worker.OnResource("mock", Writes({{"ci/task.yml",
                                     "platform: linux\nparams: {SOURCE_PARAM: file_source}\n"
                                     "run: {path: printenv, args: [((what))]}\n"}}));
  BuildRun run(PlanFromYaml(std::string(kMockResource) + R"Y(
jobs:
- name: job
  plan:
  - get: repo
  - task: t
    file: repo/ci/task.yml
    vars: {what: SOURCE_PARAM}
)Y"),
               worker);
  ASSERT_EQ(run.Go(), BuildStatus::kSucceeded) << ::testing::PrintToString(run.observer.logs);
  ASSERT_EQ(worker.task_runs().size(), 1u);
  EXPECT_EQ(worker.task_runs()[0].path, "printenv");
  EXPECT_THAT(worker.task_runs()[0].args, ElementsAre("SOURCE_PARAM"));
  EXPECT_EQ(worker.task_runs()[0].env.at("SOURCE_PARAM"), "file_source");
  EXPECT_THAT(run.observer.versions, ElementsAre(R"Y(repo {"ref":"latest"})Y"));
}

TEST(BuildExecutor, AGetWithoutAVersionChecksForTheLatestFirst) {
  ScriptedWorker worker;
  ResourceScript check;
  workers::ResourceResult versions;
  versions.versions = {Json{{"ref", "v1"}}, Json{{"ref", "v2"}}};
  check.result = versions;
  worker.OnResource("mock", check);
  worker.OnResource("mock", ResourceScript{});
  BuildRun run(
      PlanFromYaml(std::string(kMockResource) + "jobs:\n- name: job\n  plan:\n  - get: repo\n"),
      worker);
  ASSERT_EQ(run.Go(), BuildStatus::kSucceeded);
  auto runs = worker.resource_runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].action, workers::ResourceRun::Action::kCheck);
  EXPECT_EQ(runs[1].action, workers::ResourceRun::Action::kGet);
  EXPECT_EQ(runs[1].version, Json({{"ref", "v2"}}));
}

TEST(BuildExecutor, PutSeesItsInputsAsDirectoriesByName) {
  ScriptedWorker worker;
  bool saw_input = false;
  ResourceScript put;
  put.handler = [&saw_input](const workers::ResourceRun& run, workers::OutputSink&) {
    saw_input = fs::exists(fs::path(run.dir) / "repo" / "file");
    workers::ResourceResult r;
    r.version = Json{{"ref", "pushed"}};
    return r;
  };
  worker.OnResource("mock", Writes({{"file", "x"}}));  // check
  worker.OnResource("mock", Writes({{"file", "x"}}));  // get
  worker.OnResource("mock", put);
  worker.OnResource("mock", ResourceScript{});
  BuildRun run(PlanFromYaml(std::string(kMockResource) +
                            "jobs:\n- name: job\n  plan:\n  - get: repo\n  - put: repo\n"
                            "    params: {file: repo/file}\n"),
               worker);
  ASSERT_EQ(run.Go(), BuildStatus::kSucceeded);
  EXPECT_TRUE(saw_input);
  EXPECT_THAT(run.observer.versions, Contains(R"Y(repo {"ref":"pushed"})Y"));
}

// The task names the image itself (kImage: source and digest), not the get's rootfs/ link: the
// worker that runs the task may not be the one that ran the get.
TEST(BuildExecutor, ARegistryImageIsFetchedForTheTaskThatRunsOnItAsItsUserWithItsEnv) {
  ScriptedWorker worker;
  TempDir cache;  // stands for the worker's image cache: the get links rootfs/ to it
  fs::create_directories(cache / "rootfs");
  workers::ResourceResult checked;
  checked.versions = {Json{{"digest", "sha256:abc"}}};
  ResourceScript get;
  get.handler = [&](const workers::ResourceRun& r, workers::OutputSink&) {
    workers::ResourceResult out;
    if (r.action == workers::ResourceRun::Action::kCheck) return checked;
    EXPECT_TRUE(r.for_image);
    fs::create_directory_symlink(cache / "rootfs", fs::path(r.dir) / "rootfs");
    baton::testing::WriteFile(fs::path(r.dir) / "digest", "sha256:abc");
    baton::testing::WriteFile(fs::path(r.dir) / "metadata.json",
                              R"({"env": ["FROM_IMAGE=yes", "BOTH=image"], "user": "1000:1000"})");
    out.version = r.version;
    return out;
  };
  worker.OnResource("registry-image", get);
  BuildRun run(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: t
    config:
      platform: linux
      image_resource: {type: registry-image, source: {repository: alpine}}
      params: {BOTH: task}
      run: {path: echo}
)Y"),
               worker);
  ASSERT_EQ(run.Go(), BuildStatus::kSucceeded);
  std::vector<workers::TaskRun> tasks = worker.task_runs();  // a copy: keep it alive
  ASSERT_EQ(tasks.size(), 1u);
  const workers::TaskRun& task = tasks[0];
  EXPECT_EQ(task.rootfs.kind, workers::RootfsSpec::Kind::kImage);
  EXPECT_EQ(task.rootfs.image_digest, "sha256:abc");
  EXPECT_EQ(task.rootfs.image_source, Json::parse(R"({"repository": "alpine"})"));
  EXPECT_EQ(task.user, "1000");
  EXPECT_EQ(task.env.at("FROM_IMAGE"), "yes");
  EXPECT_EQ(task.env.at("BOTH"), "task");  // the task's params win over the image's env
}

TEST(BuildExecutor, ARootfsImageUsesItsDirectory) {
  ScriptedWorker worker;
  TempDir rootfs;
  BuildRun run(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: t
    config:
      platform: linux
      image_resource: {type: rootfs, source: {path: )Y" +
                            rootfs.path().string() + R"Y(}}
      run: {path: echo}
)Y"),
               worker);
  ASSERT_EQ(run.Go(), BuildStatus::kSucceeded);
  EXPECT_EQ(worker.task_runs().at(0).rootfs.kind, workers::RootfsSpec::Kind::kDirectory);
  EXPECT_EQ(worker.task_runs().at(0).rootfs.path, rootfs.path().string());
}

TEST(BuildExecutor, RedactsLoadVarSecretsFromLogs) {
  ScriptedWorker worker;
  worker.OnResource("mock", Writes({{"secret", "hunter2\n"}}));
  TaskScript print;
  print.lines = {{workers::OutputStream::kStdout, "password is hunter2!"}};
  worker.OnTask("echo", print);
  BuildRun run(PlanFromYaml(std::string(kMockResource) + R"Y(
jobs:
- name: job
  plan:
  - get: repo
  - load_var: password
    file: repo/secret
  - task: t
    config: {platform: linux, run: {path: echo, args: ["((.:password))"]}}
)Y"),
               worker);
  ASSERT_EQ(run.Go(), BuildStatus::kSucceeded);
  EXPECT_THAT(worker.task_runs().at(0).args, ElementsAre("hunter2"));
  EXPECT_THAT(run.observer.logs, Contains("t stdout: password is ((redacted))!"));
}

// Killed by the timeout the task exits 143, yet the step ends errored (not failed): on_error
// runs, on_failure does not.
TEST(BuildExecutor, ATimeoutCancelsTheTaskAndEndsTheStepErroredNotFailed) {
  ScriptedWorker worker;
  TaskScript slow;
  slow.hold = true;
  slow.cancelled_result = baton::testing::ExitResult(143);
  worker.OnTask("sleep", slow);
  BuildRun run(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: slow
    timeout: 50ms
    config: {platform: linux, run: {path: sleep}}
    on_failure: {task: on-failure, config: {platform: linux, run: {path: x}}}
    on_error: {task: on-error, config: {platform: linux, run: {path: x}}}
)Y"),
               worker);
  EXPECT_EQ(run.Go(), BuildStatus::kErrored);
  EXPECT_EQ(worker.cancelled().size(), 1u);
  EXPECT_THAT(run.observer.logs, Contains("slow system: timeout exceeded"));
  EXPECT_THAT(run.observer.events, Contains("finished slow errored"));
  EXPECT_THAT(run.observer.events, Contains("started on-error"));
  EXPECT_THAT(run.observer.events, Not(Contains("started on-failure")));
}

TEST(BuildExecutor, AbortCancelsTheRunningTaskThenRunsEnsure) {
  ScriptedWorker worker;
  TaskScript held;
  held.hold = true;
  worker.OnTask("wait", held);
  BuildRun run(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: wait
    config: {platform: linux, run: {path: wait}}
    ensure: {task: cleanup, config: {platform: linux, run: {path: cleanup}}}
)Y"),
               worker);
  BuildStatus status = run.Go([&worker](BuildExecutor& executor) {
    ASSERT_TRUE(worker.WaitForTasks(1));
    executor.Abort();
  });
  EXPECT_EQ(status, BuildStatus::kAborted);
  EXPECT_EQ(worker.cancelled().size(), 1u);
  EXPECT_EQ(worker.task_runs().size(), 2u);
  EXPECT_EQ(worker.task_runs().back().path, "cleanup");
}

TEST(BuildExecutor, SetPipelineIsNotSupportedInALocalRunByDefault) {
  ScriptedWorker worker;
  worker.OnResource("mock", Writes({{"p.yml", "jobs: []\n"}}));
  BuildRun run(PlanFromYaml(std::string(kMockResource) +
                            "jobs:\n- name: job\n  plan:\n  - get: repo\n  - set_pipeline: child\n"
                            "    file: repo/p.yml\n"),
               worker);
  EXPECT_EQ(run.Go(), BuildStatus::kErrored);
  EXPECT_EQ(run.observer.messages.at("child"), "set_pipeline is not supported in a local run");
}

TEST(BuildExecutor, AMissingTaskFileErrorsWithThePath) {
  ScriptedWorker worker;
  worker.OnResource("mock", Writes({}));
  BuildRun run(PlanFromYaml(std::string(kMockResource) +
                            "jobs:\n- name: job\n  plan:\n  - get: repo\n  - task: t\n"
                            "    file: repo/ci/none.yml\n"),
               worker);
  EXPECT_EQ(run.Go(), BuildStatus::kErrored);
  EXPECT_THAT(run.observer.messages.at("t"), HasSubstr("ci/none.yml"));
}

}  // namespace
}  // namespace baton::runner
