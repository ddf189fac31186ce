// The build engine at run time: local vars, var_sources, what it asks to redact, and the
// fetching of task images.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "baton/runner/build_engine.h"
#include "runner/engine_harness.h"

namespace baton::runner {
namespace {

using ::testing::ElementsAre;
using testing::EngineHarness;
using ::testing::HasSubstr;
using testing::PlanFromYaml;

const char* kData = R"Y(
resources:
- name: data
  type: mock
  source: {}
)Y";

TEST(EngineVars, ALoadVarWithADotInItsNameIsReadBackWithAQuotedReference) {
  EngineHarness h(PlanFromYaml(std::string(kData) + R"Y(
jobs:
- name: job
  plan:
  - get: data
  - load_var: local.var
    file: data/value
    format: raw
  - task: use
    config: {platform: linux, run: {path: echo, args: ['((.:"local.var"))']}}
)Y"));
  h.Start();
  h.Succeed("data");
  h.Content("local.var", "hello-world");
  ASSERT_EQ(h.tasks().size(), 1u) << h.Log();
  EXPECT_THAT(h.tasks()[0].config.run.args, ElementsAre("hello-world"));
}

TEST(EngineVars, AcrossValuesAndLoadedListsStayInClearAsInConcourse) {
  EngineHarness h(PlanFromYaml(std::string(kData) + R"Y(
jobs:
- name: job
  plan:
  - get: data
  - load_var: items
    file: data/items.json
  - across:
    - var: items
      values: ((.:items))
    task: use
    config: {platform: linux, run: {path: echo, args: ["((.:items))"]}}
)Y"));
  h.Start();
  h.Succeed("data");
  h.Content("items", R"(["one", "two"])");
  h.Succeed("use");
  h.Succeed("use");
  EXPECT_EQ(h.status(), BuildStatus::kSucceeded) << h.Log();
  ASSERT_EQ(h.tasks().size(), 2u);
  EXPECT_THAT(h.tasks()[1].config.run.args, ElementsAre("two"));
  EXPECT_TRUE(h.redacted().empty());
}

TEST(EngineVars, AMapFieldLoadedWithoutRevealIsRedactedWhenUsed) {
  EngineHarness h(PlanFromYaml(std::string(kData) + R"Y(
jobs:
- name: job
  plan:
  - get: data
  - load_var: creds
    file: data/creds.yml
  - put: data
    params: {version: "((.:creds.user))"}
)Y"));
  h.Start();
  h.Succeed("data");
  h.Content("creds", "user: admin\npassword: hunter2\n");
  ASSERT_EQ(h.puts().size(), 1u);
  EXPECT_EQ(h.puts()[0].params, Json({{"version", "admin"}}));
  EXPECT_THAT(h.redacted(), ElementsAre("admin"));
}

const char* kVarSources = R"Y(
var_sources:
- name: vs
  type: dummy
  config:
    vars:
      greeting: hello-im-a-var
      number: 42
      "var:with.and_colon": {some_key: some-value}
      list: [a, b]
resources:
- name: res
  type: mock
  source: {initial_version: ((vs:greeting))}
)Y";

TEST(EngineVars, VarSourceVarsResolveInResourceSourcesAndTaskConfigsAndAreRedacted) {
  EngineHarness h(PlanFromYaml(std::string(kVarSources) + R"Y(
jobs:
- name: job
  plan:
  - get: res
  - task: use
    config:
      platform: linux
      params: {N: ((vs:number))}
      run: {path: echo, args: ['((vs:"var:with.and_colon".some_key))', "((vs:list))"]}
)Y"));
  h.Start();
  ASSERT_EQ(h.gets().size(), 1u);
  EXPECT_EQ(h.gets()[0].source, Json({{"initial_version", "hello-im-a-var"}}));
  h.Succeed("res");
  ASSERT_EQ(h.tasks().size(), 1u) << h.Log();
  EXPECT_THAT(h.tasks()[0].config.run.args, ElementsAre("some-value", R"(["a","b"])"));
  EXPECT_EQ(h.tasks()[0].params.at("N"), Json(42));
  // Strings are tracked; a number and a list are not (Concourse's tracker).
  EXPECT_THAT(h.redacted(), ElementsAre("hello-im-a-var", "some-value"));
}

TEST(EngineVars, AnUndefinedVarOfAVarSourceErrorsTheStep) {
  EngineHarness h(PlanFromYaml(std::string(kVarSources) + R"Y(
jobs:
- name: job
  plan:
  - task: use
    config: {platform: linux, run: {path: echo, args: ["((vs:missing))", "((vs:greeting.x))"]}}
)Y"));
  h.Start();
  EXPECT_EQ(h.status(), BuildStatus::kErrored);
  EXPECT_EQ(h.LastFinished("use").message, "undefined vars: vs:missing, vs:greeting.x");
}

TEST(EngineVars, AVarOfASourceBatonCannotReadErrorsTheStepNamingWhereItIsDeclared) {
  BuildPlan plan = PlanFromYaml(R"Y(
var_sources:
- name: secrets
  type: vault
  config: {url: "http://vault"}
jobs:
- name: job
  plan:
  - task: use
    config: {platform: linux, run: {path: echo, args: ["((secrets:token))"]}}
)Y");
  plan.pipeline_file = "ci.yml";
  EngineHarness h(std::move(plan));
  h.Start();
  EXPECT_EQ(h.status(), BuildStatus::kErrored);
  EXPECT_THAT(h.LastFinished("use").message,
              HasSubstr("ci.yml:3:9: var source `secrets` of type `vault` cannot be read"));
}

TEST(EngineVars, ResourceTypesGetTheirVarSourceVarsWhenTheBuildStarts) {
  EngineHarness h(PlanFromYaml(R"Y(
var_sources:
- name: vs
  type: dummy
  config: {vars: {v: type-version}}
resource_types:
- name: custom
  type: mock
  source: {mirror_self: true, initial_version: ((vs:v))}
resources:
- name: r
  type: custom
jobs:
- name: job
  plan:
  - get: r
)Y"));
  h.Start();
  ASSERT_EQ(h.engine().resource_types().size(), 1u);
  EXPECT_EQ(h.engine().resource_types()[0].source.at("initial_version"), "type-version");
  EXPECT_THAT(h.redacted(), ElementsAre("type-version"));
}

TEST(EngineImages, AnImageResourceIsFetchedThenTheTaskRunsOnIt) {
  EngineHarness h(PlanFromYaml(R"Y(
resource_types:
- name: custom
  type: mock
  source: {mirror_self: true}
jobs:
- name: job
  plan:
  - task: use
    config:
      platform: linux
      image_resource: {type: custom, source: {mirror_self: true, initial_version: iv}}
      run: {path: env}
)Y"));
  h.Start();
  ASSERT_EQ(h.gets().size(), 1u) << h.Log();
  const RunGet& get = h.gets()[0];
  EXPECT_TRUE(get.for_image);
  EXPECT_EQ(get.type, "custom");
  EXPECT_TRUE(get.version.is_null()) << "no version given: the executor checks first";
  EXPECT_EQ(get.source, Json({{"mirror_self", true}, {"initial_version", "iv"}}));
  EXPECT_TRUE(h.tasks().empty()) << "the task waits for its image";
  h.Succeed("use");
  ASSERT_EQ(h.tasks().size(), 1u);
  ASSERT_TRUE(h.tasks()[0].image.has_value());
  EXPECT_EQ(h.tasks()[0].image->id, get.volume.id);
  EXPECT_EQ(h.tasks()[0].image_origin.type, "custom");
  EXPECT_EQ(h.Filter({"run-"}), (std::vector<std::string>{"run-image-get use", "run-task use"}));
}

TEST(EngineImages, AFailedImageFetchErrorsTheTaskWithoutRunningIt) {
  EngineHarness h(PlanFromYaml(R"Y(
jobs:
- name: job
  plan:
  - task: use
    config:
      platform: linux
      image_resource: {type: mock, source: {mirror_self: true}, version: {version: v1}}
      run: {path: env}
)Y"));
  h.Start();
  ASSERT_EQ(h.gets().size(), 1u);
  EXPECT_EQ(h.gets()[0].version, Json({{"version", "v1"}}));
  h.Error("use", "no such version");
  EXPECT_EQ(h.status(), BuildStatus::kErrored);
  EXPECT_TRUE(h.tasks().empty());
  EXPECT_EQ(h.LastFinished("use").message, "fetching the image (mock): no such version");
}

TEST(EngineImages, RootfsImagesAreLeftToTheExecutor) {
  for (const char* type : {"rootfs"}) {
    EngineHarness h(PlanFromYaml(std::string(R"Y(
jobs:
- name: job
  plan:
  - task: use
    config:
      platform: linux
      image_resource: {type: )Y") +
                                 type + R"Y(, source: {path: /x}}
      run: {path: env}
)Y"));
    h.Start();
    EXPECT_TRUE(h.gets().empty()) << type;
    EXPECT_EQ(h.tasks().size(), 1u) << type;
  }
}

TEST(EngineImages, RegistryImagesAreFetchedLikeAGetBeforeTheTask) {
  for (const char* type : {"registry-image", "docker-image"}) {
    EngineHarness h(PlanFromYaml(std::string(R"Y(
jobs:
- name: job
  plan:
  - task: use
    config:
      platform: linux
      image_resource: {type: )Y") +
                                 type + R"Y(, source: {repository: busybox}}
      run: {path: env}
)Y"));
    h.Start();
    ASSERT_EQ(h.gets().size(), 1u) << type;
    EXPECT_EQ(h.gets()[0].type, type);
    EXPECT_TRUE(h.gets()[0].for_image);
    EXPECT_TRUE(h.tasks().empty()) << type;
  }
}

}  // namespace
}  // namespace baton::runner
