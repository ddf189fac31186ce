// BuildExecutor: redaction on every output path, custom resource type chains and task images
// fetched through resource types (against the scripted worker, real directories).
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "baton/runner/build_executor.h"
#include "baton/runner/redactor.h"
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
using testing::BuildRun;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::PlanFromYaml;

// A mock-like resource: check finds {version: v}; get writes `files` (and echoes a line).
ResourceScript Mock(std::string v, std::map<std::string, std::string> files = {}) {
  ResourceScript script;
  script.handler = [v, files](const workers::ResourceRun& run, workers::OutputSink& out) {
    workers::ResourceResult r;
    if (run.action == workers::ResourceRun::Action::kCheck) {
      r.versions = {Json{{"version", v}}};
      return r;
    }
    out.OnLine({}, workers::OutputStream::kStderr, "fetching version: " + v);
    for (const auto& [path, content] : files)
      baton::testing::WriteFile(fs::path(run.dir) / path, content);
    r.version = run.action == workers::ResourceRun::Action::kPut
                    ? Json{{"version", run.params.at("version")}}
                    : run.version;
    return r;
  };
  return script;
}

TEST(Redactor, ReplacesEachSecretLongestFirst) {
  Redactor r;
  r.Add({"hunter2", "hunter2-admin", ""});
  EXPECT_EQ(r.Redact("a hunter2-admin b hunter2"), "a ((redacted)) b ((redacted))");
  EXPECT_EQ(r.Redact("nothing here"), "nothing here");
}

TEST(Redactor, RedactsAMultiLineSecretLineByLine) {
  Redactor r;
  r.Add({"hello\n  goodbye\n"});
  EXPECT_EQ(r.Redact("+ echo hello goodbye"), "+ echo ((redacted)) ((redacted))");
  EXPECT_EQ(r.Redact(R"J({"v":"hello\ngoodbye"})J"), R"J({"v":"((redacted))\n((redacted))"})J");
}

TEST(Redactor, RedactsEveryStringOfAJsonValueAndAStepsAcrossValues) {
  Redactor r;
  r.Add({"s3cret"});
  EXPECT_EQ(r.RedactJson(Json{{"version", "v-s3cret"}, {"s3cret", 1}, {"n", {"s3cret"}}}),
            (Json{{"version", "v-((redacted))"}, {"((redacted))", 1}, {"n", {"((redacted))"}}}));
  StepInfo step;
  step.name = "deploy-s3cret";
  step.across = {{"x", "s3cret"}, {"n", 4}};
  StepInfo shown = r.RedactStep(step);
  EXPECT_EQ(shown.name, "deploy-((redacted))");
  EXPECT_EQ(shown.across.at("x"), "((redacted))");
  EXPECT_EQ(shown.across.at("n"), 4);
}

const char* kSecretPipeline = R"Y(
resources:
- name: data
  type: mock
  source: {}
jobs:
- name: job
  plan:
  - get: data
  - load_var: secret
    file: data/secret
  - across:
    - var: x
      values: ["((.:secret))"]
    put: data
    params: {version: "v-((.:x))"}
  - load_var: missing
    file: data/((.:secret))/nope
)Y";

TEST(BuildExecutor, RedactsSecretsFromStepInfosMessagesAndLogsButKeepsVersionsAsData) {
  ScriptedWorker worker;
  worker.OnResource("mock", Mock("v1", {{"secret", "hunter2\n"}}));
  BuildRun run(PlanFromYaml(kSecretPipeline), worker);
  EXPECT_EQ(run.Go(), BuildStatus::kErrored);
  // The observer learns the secret before anything that shows it.
  EXPECT_THAT(run.observer.secrets, Contains("hunter2"));
  // Step infos (stored as build events by the recorder): the across value is masked.
  bool saw_across = false;
  for (const auto& step : run.observer.steps) {
    for (const auto& [var, value] : step.across) {
      EXPECT_EQ(value, "((redacted))") << step.name;
      saw_across = true;
    }
  }
  EXPECT_TRUE(saw_across);
  // A message that names the secret.
  EXPECT_THAT(run.observer.messages.at("missing"), HasSubstr("'((redacted))/nope'"));
  for (const auto& line : run.observer.logs) EXPECT_THAT(line, Not(HasSubstr("hunter2")));
  // The put's version is the real data (recorded as such); displays redact it themselves.
  EXPECT_THAT(run.observer.versions, Contains(R"(data {"version":"v-hunter2"})"));
}

TEST(BuildExecutor, PassesEveryResourceTypeSoThatAChainOfCustomTypesResolves) {
  ScriptedWorker worker;
  worker.OnResource("mock", Mock("v1"));
  BuildRun run(PlanFromYaml(R"Y(
resource_types:
- name: outer
  type: inner
  source: {mirror_self: true}
  defaults: {initial_version: from-outer}
- name: inner
  type: mock
  source: {mirror_self: true}
resources:
- name: r
  type: outer
jobs:
- name: job
  plan:
  - get: r
)Y"),
               worker);
  ASSERT_EQ(run.Go(), BuildStatus::kSucceeded) << run.observer.messages["r"];
  auto runs = worker.resource_runs();
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].type, "mock");
  EXPECT_EQ(runs[0].source.value("initial_version", ""), "from-outer");
}

const char* kImageTypes = R"Y(
resource_types:
- name: custom
  type: mock
  source: {mirror_self: true}
resources:
- name: image
  type: custom
  source: {mirror_self: true}
)Y";

TEST(BuildExecutor, ATaskOnACustomTypeImageResourceRunsOnTheMirroredRootWithItsEnv) {
  ScriptedWorker worker;
  worker.OnResource(
      "mock",
      Mock("image-version", {{"metadata.json", R"({"env":["MIRRORED_VERSION=image-version"]})"}}));
  BuildRun run(PlanFromYaml(std::string(kImageTypes) + R"Y(
jobs:
- name: job
  plan:
  - task: t
    config:
      platform: linux
      image_resource: {type: custom, source: {mirror_self: true, initial_version: image-version}}
      params: {OWN: param}
      run: {path: env}
)Y"),
               worker);
  ASSERT_EQ(run.Go(), BuildStatus::kSucceeded) << run.observer.messages["t"];
  ASSERT_EQ(worker.task_runs().size(), 1u);
  const workers::TaskRun task = worker.task_runs()[0];
  EXPECT_EQ(task.rootfs.kind, workers::RootfsSpec::Kind::kHost);
  EXPECT_EQ(task.env.at("MIRRORED_VERSION"), "image-version");
  EXPECT_EQ(task.env.at("OWN"), "param");
  // The image fetch is quiet: no log lines, no version event.
  EXPECT_THAT(run.observer.logs, Not(Contains(HasSubstr("fetching version"))));
  EXPECT_TRUE(run.observer.versions.empty());
}

TEST(BuildExecutor, AnImageArtifactFromAMirrorSelfCustomTypeRunsOnTheMirroredRoot) {
  ScriptedWorker worker;
  worker.OnResource("mock",
                    Mock("mock", {{"metadata.json", R"({"env":["MIRRORED_VERSION=mock"]})"}}));
  BuildRun run(PlanFromYaml(std::string(kImageTypes) + R"Y(
jobs:
- name: job
  plan:
  - get: image
  - task: t
    image: image
    config: {platform: linux, run: {path: env}}
)Y"),
               worker);
  ASSERT_EQ(run.Go(), BuildStatus::kSucceeded) << run.observer.messages["t"];
  const workers::TaskRun task = worker.task_runs().at(0);
  EXPECT_EQ(task.rootfs.kind, workers::RootfsSpec::Kind::kHost);
  EXPECT_EQ(task.env.at("MIRRORED_VERSION"), "mock");
}

TEST(BuildExecutor, AnImageArtifactWithoutRootfsThatIsNoMirrorErrors) {
  ScriptedWorker worker;
  worker.OnResource("mock", Mock("v1"));
  BuildRun run(PlanFromYaml(R"Y(
resources:
- name: image
  type: mock
  source: {}
jobs:
- name: job
  plan:
  - get: image
  - task: t
    image: image
    config: {platform: linux, run: {path: env}}
)Y"),
               worker);
  EXPECT_EQ(run.Go(), BuildStatus::kErrored);
  EXPECT_THAT(run.observer.messages.at("t"), HasSubstr("image artifact has no rootfs/"));
  EXPECT_TRUE(worker.task_runs().empty());
}

TEST(BuildExecutor, AttemptsRetryAnErroredTaskAndALaterAttemptCanSucceed) {
  ScriptedWorker worker;
  TaskScript errored;
  errored.result.error = Unavailable("worker went away");
  worker.OnTask("flaky", errored);
  worker.OnTask("flaky", TaskScript{});
  BuildRun run(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: t
    attempts: 2
    config: {platform: linux, run: {path: flaky}}
)Y"),
               worker);
  EXPECT_EQ(run.Go(), BuildStatus::kSucceeded);
  EXPECT_EQ(worker.task_runs().size(), 2u);
  EXPECT_THAT(run.observer.logs, Contains("t system: worker went away"));
}

}  // namespace
}  // namespace baton::runner
