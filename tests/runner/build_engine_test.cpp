// The build engine walks a job's plan: steps, tasks, resources and local vars.
#include "baton/runner/build_engine.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runner/engine_harness.h"

namespace baton::runner {
namespace {

using ::testing::ElementsAre;
using testing::EngineHarness;
using testing::PlanFromYaml;

BuildPlan TwoTasks() {
  return PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: first
    config: {platform: linux, run: {path: one}}
  - task: second
    config: {platform: linux, run: {path: two}}
)Y");
}

TEST(BuildStatus, RoundTripsThroughItsName) {
  for (auto s : {BuildStatus::kPending, BuildStatus::kStarted, BuildStatus::kSucceeded,
                 BuildStatus::kFailed, BuildStatus::kErrored, BuildStatus::kAborted}) {
    EXPECT_EQ(ParseBuildStatus(ToString(s)), s);
  }
  EXPECT_EQ(ParseBuildStatus("done"), std::nullopt);
  EXPECT_TRUE(IsFinished(BuildStatus::kAborted));
  EXPECT_FALSE(IsFinished(BuildStatus::kStarted));
}

TEST(BuildEngine, AnEmptyPlanSucceedsAtOnce) {
  EngineHarness h(BuildPlan{});
  h.Start();
  EXPECT_EQ(h.status(), BuildStatus::kSucceeded);
  EXPECT_THAT(h.actions(), ElementsAre("build-finished succeeded"));
}

TEST(BuildEngine, RunsStepsOneAfterAnother) {
  EngineHarness h(TwoTasks());
  h.Start();
  EXPECT_EQ(h.status(), BuildStatus::kStarted);
  EXPECT_THAT(h.Running(), ElementsAre("first"));
  h.Succeed("first");
  EXPECT_THAT(h.Running(), ElementsAre("second"));
  h.Succeed("second");
  EXPECT_EQ(h.status(), BuildStatus::kSucceeded);
  EXPECT_THAT(h.actions(),
              ElementsAre("step-started first", "run-task first", "step-finished first succeeded",
                          "step-started second", "run-task second",
                          "step-finished second succeeded", "build-finished succeeded"));
}

TEST(BuildEngine, AFailingTaskFailsTheBuildAndSkipsTheRest) {
  EngineHarness h(TwoTasks());
  h.Start();
  h.Fail("first", 3);
  EXPECT_EQ(h.status(), BuildStatus::kFailed);
  EXPECT_EQ(h.LastFinished("first").exit_code, 3);
  EXPECT_THAT(h.TasksRun(), ElementsAre("first"));
  EXPECT_EQ(h.build_finished_count(), 1);
}

TEST(BuildEngine, AnErroredTaskErrorsTheBuildAndLogsWhy) {
  EngineHarness h(TwoTasks());
  h.Start();
  h.Error("first", "executable not found: one");
  EXPECT_EQ(h.status(), BuildStatus::kErrored);
  EXPECT_THAT(h.logs(), ElementsAre("first: executable not found: one"));
  EXPECT_EQ(h.LastFinished("first").message, "executable not found: one");
}

TEST(BuildEngine, MountsATaskOutputAsTheInputOfALaterTask) {
  EngineHarness h(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: make
    config: {platform: linux, run: {path: make}, outputs: [{name: bin}]}
  - task: use
    config: {platform: linux, run: {path: use}, inputs: [{name: bin, path: in/bin}]}
)Y"));
  h.Start();
  ASSERT_EQ(h.tasks()[0].outputs.size(), 1u);
  Volume made = h.tasks()[0].outputs[0].volume;
  EXPECT_EQ(h.tasks()[0].outputs[0].path, "bin");
  h.Succeed("make");
  ASSERT_EQ(h.tasks().size(), 2u);
  ASSERT_EQ(h.tasks()[1].inputs.size(), 1u);
  EXPECT_EQ(h.tasks()[1].inputs[0].volume.id, made.id);
  EXPECT_EQ(h.tasks()[1].inputs[0].path, "in/bin");
  EXPECT_EQ(h.engine().artifacts().at("bin").id, made.id);
}

TEST(BuildEngine, InputAndOutputMappingRenameArtifacts) {
  EngineHarness h(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: make
    output_mapping: {out: built}
    config: {platform: linux, run: {path: make}, outputs: [{name: out}]}
  - task: use
    input_mapping: {src: built}
    config: {platform: linux, run: {path: use}, inputs: [{name: src}]}
)Y"));
  h.Start();
  h.Succeed("make");
  ASSERT_EQ(h.tasks().size(), 2u);
  EXPECT_EQ(h.tasks()[1].inputs.at(0).volume.id, h.tasks()[0].outputs.at(0).volume.id);
  EXPECT_EQ(h.tasks()[1].inputs.at(0).path, "src");
}

TEST(BuildEngine, AMissingRequiredInputErrorsTheStepNamingTheInput) {
  EngineHarness h(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: input-deprived
    config: {platform: linux, run: {path: /bin/true}, inputs: [{name: missing-outputs, path: .}]}
)Y"));
  h.Start();
  EXPECT_EQ(h.status(), BuildStatus::kErrored);
  EXPECT_TRUE(h.tasks().empty());
  EXPECT_EQ(h.LastFinished("input-deprived").message, "missing inputs: missing-outputs");
}

TEST(BuildEngine, AMissingOptionalInputIsLeftOutAndAMappedOneIsMounted) {
  EngineHarness h(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: gen
    config: {platform: linux, run: {path: gen}, outputs: [{name: some-data}]}
  - task: without
    input_mapping: {required-input: some-data}
    config:
      platform: linux
      run: {path: check}
      inputs: [{name: required-input}, {name: optional-input, optional: true}]
  - task: with
    input_mapping: {required-input: some-data, optional-input: some-data}
    config:
      platform: linux
      run: {path: check}
      inputs: [{name: required-input}, {name: optional-input, optional: true}]
)Y"));
  h.Start();
  h.Succeed("gen");
  ASSERT_EQ(h.tasks().size(), 2u);
  ASSERT_EQ(h.tasks()[1].inputs.size(), 1u);
  EXPECT_EQ(h.tasks()[1].inputs[0].name, "required-input");
  h.Succeed("without");
  ASSERT_EQ(h.tasks().size(), 3u);
  EXPECT_EQ(h.tasks()[2].inputs.size(), 2u);
  h.Succeed("with");
  EXPECT_EQ(h.status(), BuildStatus::kSucceeded);
}

TEST(BuildEngine, StepParamsOverrideConfigParams) {
  EngineHarness h(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: t
    params: {SOURCE_PARAM: job_params_source, EXTRA: {a: 1}}
    privileged: true
    config: {platform: linux, run: {path: env}, params: {SOURCE_PARAM: file_source, KEEP: k}}
)Y"));
  h.Start();
  const RunTask& run = h.tasks().at(0);
  EXPECT_EQ(run.params.at("SOURCE_PARAM"), "job_params_source");
  EXPECT_EQ(run.params.at("KEEP"), "k");
  EXPECT_EQ(run.params.at("EXTRA"), Json({{"a", 1}}));
  EXPECT_TRUE(run.privileged);
}

BuildPlan TaskFromFile(const std::string& extra = "") {
  return PlanFromYaml(R"Y(
resources:
- name: some-resource
  type: mock
  source: {}
jobs:
- name: job
  plan:
  - get: some-resource
  - task: some-task
    file: some-resource/ci/task.yml
)Y" + extra);
}

TEST(BuildEngine, LoadsATaskFileFromItsArtifactBeforeRunningIt) {
  EngineHarness h(TaskFromFile("    params: {SOURCE_PARAM: job_params_source}\n"));
  h.Start();
  h.Succeed("some-resource");
  ASSERT_EQ(h.loads().size(), 1u);
  EXPECT_EQ(h.loads()[0].path, "ci/task.yml");
  EXPECT_EQ(h.loads()[0].volume.id, h.gets()[0].volume.id);
  h.Content("some-task",
            "platform: linux\nparams: {SOURCE_PARAM: file_source}\nrun: {path: printenv}\n");
  ASSERT_EQ(h.tasks().size(), 1u);
  EXPECT_EQ(h.tasks()[0].config.run.path, "printenv");
  EXPECT_EQ(h.tasks()[0].params.at("SOURCE_PARAM"), "job_params_source");
}

TEST(BuildEngine, AnInvalidTaskFileErrorsTheStep) {
  EngineHarness h(TaskFromFile());
  h.Start();
  h.Succeed("some-resource");
  h.Content("some-task", "platform: linux\nrun: [not, a, map]\n");
  EXPECT_EQ(h.status(), BuildStatus::kErrored);
  EXPECT_NE(h.LastFinished("some-task")
                .message.find("invalid task config 'some-resource/ci/"
                              "task.yml'"),
            std::string::npos);
}

TEST(BuildEngine, ATaskFileFromAnUnknownArtifactErrors) {
  EngineHarness h(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: t
    file: nowhere/task.yml
)Y"));
  h.Start();
  EXPECT_EQ(h.status(), BuildStatus::kErrored);
  EXPECT_NE(h.LastFinished("t").message.find("unknown artifact source: 'nowhere'"),
            std::string::npos);
}

TEST(BuildEngine, TaskFileVarsAreInterpolatedIntoTheConfig) {
  EngineHarness h(TaskFromFile("    vars: {greeting: hello}\n"));
  h.Start();
  h.Succeed("some-resource");
  h.Content("some-task", "platform: linux\nrun: {path: echo, args: [((greeting))]}\n");
  ASSERT_EQ(h.tasks().size(), 1u);
  EXPECT_THAT(h.tasks()[0].config.run.args, ElementsAre("hello"));
}

TEST(BuildEngine, OutputsOfAFailedTaskAreStillAvailableToItsHooks) {
  EngineHarness h(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: make
    config: {platform: linux, run: {path: make}, outputs: [{name: logs}]}
    on_failure:
      task: upload
      config: {platform: linux, run: {path: up}, inputs: [{name: logs}]}
)Y"));
  h.Start();
  h.Fail("make");
  ASSERT_EQ(h.tasks().size(), 2u);
  EXPECT_EQ(h.tasks()[1].inputs.at(0).volume.id, h.tasks()[0].outputs.at(0).volume.id);
  h.Succeed("upload");
  EXPECT_EQ(h.status(), BuildStatus::kFailed);
}

const char* kResources = R"Y(
resources:
- name: repo
  type: git
  source: {uri: /src}
- name: pinned
  type: mock
  source: {}
- name: image
  type: mock
  source: {mirror_self: true}
)Y";

TEST(BuildEngine, GetUsesTheSchedulerVersionElseThePinnedOneElseLatest) {
  BuildPlan plan = PlanFromYaml(std::string(kResources) + R"Y(
jobs:
- name: job
  plan:
  - in_parallel:
    - get: repo
    - get: pinned
      version: {ref: v1}
    - get: image
)Y");
  plan.input_versions["repo"] = Json{{"ref", "abc"}};
  EngineHarness h(std::move(plan));
  h.Start();
  ASSERT_EQ(h.gets().size(), 3u);
  EXPECT_EQ(h.gets()[0].version, Json({{"ref", "abc"}}));
  EXPECT_EQ(h.gets()[0].type, "git");
  EXPECT_EQ(h.gets()[0].source, Json({{"uri", "/src"}}));
  EXPECT_EQ(h.gets()[1].version, Json({{"ref", "v1"}}));
  EXPECT_TRUE(h.gets()[2].version.is_null());
}

TEST(BuildEngine, ATaskImageArtifactCarriesTheResourceThatMadeIt) {
  EngineHarness h(PlanFromYaml(std::string(kResources) + R"Y(
jobs:
- name: job
  plan:
  - get: image
  - task: t
    image: image
    config: {platform: linux, run: {path: echo}}
)Y"));
  h.Start();
  h.Succeed("image");
  const RunTask& run = h.tasks().at(0);
  ASSERT_TRUE(run.image.has_value());
  EXPECT_EQ(run.image->id, h.gets()[0].volume.id);
  EXPECT_EQ(run.image_origin.type, "mock");
  EXPECT_EQ(run.image_origin.source, Json({{"mirror_self", true}}));
}

TEST(BuildEngine, AFailedGetErrorsTheBuild) {
  EngineHarness h(PlanFromYaml(std::string(kResources) + R"Y(
jobs:
- name: job
  plan:
  - get: repo
)Y"));
  h.Start();
  h.Error("repo", "git clone failed");
  EXPECT_EQ(h.status(), BuildStatus::kErrored);
}

TEST(BuildEngine, PutRunsAnImplicitGetOfTheVersionItCreated) {
  EngineHarness h(PlanFromYaml(std::string(kResources) + R"Y(
jobs:
- name: job
  plan:
  - put: repo
    params: {tag: v1}
    get_params: {depth: 1}
  - task: use
    config: {platform: linux, run: {path: ls}, inputs: [{name: repo}]}
)Y"));
  h.Start();
  ASSERT_EQ(h.puts().size(), 1u);
  EXPECT_EQ(h.puts()[0].params, Json({{"tag", "v1"}}));
  h.Version("repo", Json{{"ref", "new"}});
  ASSERT_EQ(h.gets().size(), 1u);
  EXPECT_EQ(h.gets()[0].version, Json({{"ref", "new"}}));
  EXPECT_EQ(h.gets()[0].params, Json({{"depth", 1}}));
  h.Succeed("repo");
  ASSERT_EQ(h.tasks().size(), 1u);
  EXPECT_EQ(h.tasks()[0].inputs.at(0).volume.id, h.gets()[0].volume.id);
}

TEST(BuildEngine, PutWithNoGetSkipsTheImplicitGet) {
  EngineHarness h(PlanFromYaml(std::string(kResources) + R"Y(
jobs:
- name: job
  plan:
  - put: repo
    no_get: true
)Y"));
  h.Start();
  h.Version("repo", Json{{"ref", "new"}});
  EXPECT_TRUE(h.gets().empty());
  EXPECT_EQ(h.status(), BuildStatus::kSucceeded);
}

std::vector<std::string> PutInputNames(const std::string& put_yaml) {
  EngineHarness h(PlanFromYaml(std::string(kResources) + R"Y(
jobs:
- name: job
  plan:
  - in_parallel: [{get: pinned}, {get: image}]
)Y" + put_yaml));
  h.Start();
  h.Succeed("pinned");
  h.Succeed("image");
  std::vector<std::string> names;
  if (h.puts().empty()) return {"<no put: " + h.LastFinished("repo").message + ">"};
  for (const auto& [name, volume] : h.puts()[0].inputs) names.push_back(name);
  return names;
}

TEST(BuildEngine, PutDetectsTheArtifactsNamedInItsParams) {
  EXPECT_THAT(PutInputNames(R"Y(
  - put: repo
    inputs: detect
    params: {specified: [[pinned/something, 123], [does-not-exist]], other: nothing/here}
)Y"),
              ElementsAre("pinned"));
}

TEST(BuildEngine, PutWithInputsAllSeesEveryArtifact) {
  EXPECT_THAT(PutInputNames("  - put: repo\n    inputs: all\n"), ElementsAre("image", "pinned"));
}

TEST(BuildEngine, PutWithListedInputsSeesOnlyThose) {
  EXPECT_THAT(PutInputNames("  - put: repo\n    inputs: [image]\n"), ElementsAre("image"));
}

TEST(BuildEngine, PutWithAListedInputThatDoesNotExistErrors) {
  EXPECT_THAT(PutInputNames("  - put: repo\n    inputs: [ghost]\n"),
              ElementsAre("<no put: missing inputs: ghost>"));
}

BuildPlan LoadVarThenTask(const std::string& load_var, const std::string& arg) {
  return PlanFromYaml(std::string(kResources) + R"Y(
jobs:
- name: job
  plan:
  - get: pinned
  - load_var: v
    file: )Y" + load_var +
                      R"Y(
  - task: use
    config: {platform: linux, run: {path: echo, args: [")Y" +
                      arg + R"Y("]}}
)Y");
}

TEST(BuildEngine, LoadVarStoresAJsonValueForLaterSteps) {
  EngineHarness h(LoadVarThenTask("pinned/data.json", "((.:v.name)) ((.:v.n))"));
  h.Start();
  h.Succeed("pinned");
  ASSERT_EQ(h.loads().size(), 1u);
  EXPECT_EQ(h.loads()[0].path, "data.json");
  h.Content("v", R"Y({"name": "world", "n": 4})Y");
  ASSERT_EQ(h.tasks().size(), 1u);
  EXPECT_THAT(h.tasks()[0].config.run.args, ElementsAre("world 4"));
}

TEST(BuildEngine, LoadVarParsesYamlByExtension) {
  EngineHarness h(LoadVarThenTask("pinned/data.yml", "((.:v.greeting.name))"));
  h.Start();
  h.Succeed("pinned");
  h.Content("v", "greeting: {name: b}\n");
  ASSERT_EQ(h.tasks().size(), 1u);
  EXPECT_THAT(h.tasks()[0].config.run.args, ElementsAre("b"));
}

TEST(BuildEngine, LoadVarTrimsOtherFilesByDefault) {
  EngineHarness h(LoadVarThenTask("pinned/data", "[((.:v))]"));
  h.Start();
  h.Succeed("pinned");
  h.Content("v", "  hello-world\n");
  ASSERT_EQ(h.tasks().size(), 1u);
  EXPECT_THAT(h.tasks()[0].config.run.args, ElementsAre("[hello-world]"));
}

TEST(BuildEngine, LoadVarWithoutRevealRedactsTheStringsOfItsValueOnceUsed) {
  // Concourse's credVarsTracker: strings and the string leaves of maps; not numbers.
  EngineHarness h(LoadVarThenTask("pinned/data.json", "((.:v))"));
  h.Start();
  h.Succeed("pinned");
  h.Content("v", R"Y({"password": "hunter2", "port": 5432})Y");
  EXPECT_THAT(h.redacted(), ElementsAre("hunter2"));
  ASSERT_EQ(h.tasks().size(), 1u);
  EXPECT_EQ(h.Filter({"redact", "run-task"}),
            (std::vector<std::string>{"redact 1", "run-task use"}));
}

TEST(BuildEngine, ALoadedVarThatNoStepUsesIsNotRedacted) {
  EngineHarness h(LoadVarThenTask("pinned/data", "x"));
  h.Start();
  h.Succeed("pinned");
  h.Content("v", "hunter2");
  EXPECT_TRUE(h.redacted().empty());
}

TEST(BuildEngine, LoadVarWithRevealIsNotRedacted) {
  EngineHarness h(PlanFromYaml(std::string(kResources) + R"Y(
jobs:
- name: job
  plan:
  - get: pinned
  - load_var: v
    file: pinned/data
    reveal: true
)Y"));
  h.Start();
  h.Succeed("pinned");
  h.Content("v", "public");
  EXPECT_TRUE(h.redacted().empty());
  EXPECT_EQ(h.status(), BuildStatus::kSucceeded);
}

TEST(BuildEngine, LoadVarOfMalformedJsonErrors) {
  EngineHarness h(LoadVarThenTask("pinned/data.json", "x"));
  h.Start();
  h.Succeed("pinned");
  h.Content("v", "{not json");
  EXPECT_EQ(h.status(), BuildStatus::kErrored);
  EXPECT_NE(h.LastFinished("v").message.find("could not parse 'pinned/data.json' as json"),
            std::string::npos);
}

TEST(BuildEngine, AnUndefinedLocalVarErrorsTheStepThatUsesIt) {
  EngineHarness h(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: use
    config: {platform: linux, run: {path: echo, args: ["((.:nope))"]}}
)Y"));
  h.Start();
  EXPECT_EQ(h.status(), BuildStatus::kErrored);
  EXPECT_EQ(h.LastFinished("use").message, "undefined vars: .:nope");
}

TEST(BuildEngine, SetPipelineAsksTheExecutorAndTakesItsAnswer) {
  EngineHarness h(PlanFromYaml(std::string(kResources) + R"Y(
jobs:
- name: job
  plan:
  - get: pinned
  - set_pipeline: child
    file: pinned/pipeline.yml
    vars: {a: b}
)Y"));
  h.Start();
  h.Succeed("pinned");
  ASSERT_EQ(h.set_pipelines().size(), 1u);
  EXPECT_EQ(h.set_pipelines()[0].path, "pipeline.yml");
  EXPECT_EQ(h.set_pipelines()[0].config.vars, Json({{"a", "b"}}));
  h.Error("child", "set_pipeline is not supported in a local run");
  EXPECT_EQ(h.status(), BuildStatus::kErrored);
}

TEST(BuildEngine, ForTaskRunsOneTaskWithInitialArtifacts) {
  pipelines::TaskConfig config;
  config.run.path = "ls";
  config.inputs.push_back({"src", "", false, {}});
  EngineHarness h(BuildPlan::ForTask("one-off", config, {{"src", "/tmp/src"}}));
  h.Start();
  ASSERT_EQ(h.tasks().size(), 1u);
  EXPECT_EQ(h.tasks()[0].inputs.at(0).volume.host_path, "/tmp/src");
  h.Succeed("one-off");
  EXPECT_EQ(h.status(), BuildStatus::kSucceeded);
}

TEST(BuildEngine, StaleAndUnknownResultsAreIgnored) {
  EngineHarness h(TwoTasks());
  h.Start();
  EXPECT_TRUE(h.engine().OnActionFinished(999, ActionResult::Succeeded()).empty());
  EXPECT_TRUE(h.engine().OnTimerFired(999).empty());
  EXPECT_EQ(h.engine().running_actions(), 1u);
}

}  // namespace
}  // namespace baton::runner
