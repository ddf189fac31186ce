// JobPlanJson: the step tree `GET /api/v1/builds/:id/plan` shows, without secret-bearing values.
#include "baton/runner/plan_json.h"

#include <gtest/gtest.h>

#include "baton/pipelines/loader.h"

namespace baton::runner {
namespace {

constexpr const char* kPipeline = R"(
resources:
- {name: repo, type: mock}
- {name: app, type: mock}
jobs:
- name: build
  plan:
  - get: repo
    trigger: true
  - task: compile
    file: repo/ci/compile.yml
    params: {TOKEN: hunter2-secret}
    attempts: 2
    timeout: 5m
    on_failure:
      put: app
      params: {password: hunter2-secret}
- name: deploy
  plan:
  - in_parallel:
      limit: 2
      steps:
      - get: repo
        passed: [build]
        trigger: true
      - get: app
  - across:
    - var: region
      values: [eu, us]
      max_in_flight: all
    do:
    - try:
        task: smoke
        config: {platform: linux, run: {path: echo, args: [hunter2-secret]}}
  ensure:
    load_var: done
    file: repo/done.txt
)";

pipelines::PipelineConfig Load() {
  auto load = pipelines::LoadPipeline(kPipeline, pipelines::LoadOptions{});
  EXPECT_TRUE(load.ok()) << pipelines::RenderAll(load.diagnostics, kPipeline);
  return *load.config;
}

TEST(JobPlanJson, ShowsEachStepWithItsModifiersHooksAndPath) {
  auto config = Load();
  Json plan = JobPlanJson(*config.FindJob("build"));
  EXPECT_EQ(plan["schema"], "baton.plan.v1");
  EXPECT_EQ(plan["job"], "build");
  ASSERT_EQ(plan["plan"].size(), 2u);
  EXPECT_EQ(plan["plan"][0]["get"]["resource"], "repo");
  EXPECT_EQ(plan["plan"][0]["get"]["trigger"], true);
  const Json& task = plan["plan"][1];
  EXPECT_EQ(task["task"]["name"], "compile");
  EXPECT_EQ(task["task"]["file"], "repo/ci/compile.yml");
  EXPECT_EQ(task["attempts"], 2);
  EXPECT_EQ(task["timeout"], "5m");
  EXPECT_EQ(task["on_failure"]["put"]["resource"], "app");
  EXPECT_EQ(task["path"], "jobs.build.plan[1]");
}

TEST(JobPlanJson, NestsParallelAcrossDoTryAndJobHooks) {
  auto config = Load();
  Json plan = JobPlanJson(*config.FindJob("deploy"));
  const Json& parallel = plan["plan"][0]["in_parallel"];
  EXPECT_EQ(parallel["limit"], 2);
  ASSERT_EQ(parallel["steps"].size(), 2u);
  EXPECT_EQ(parallel["steps"][0]["get"]["passed"], Json::array({"build"}));
  const Json& across = plan["plan"][1];
  EXPECT_EQ(across["across"][0]["var"], "region");
  EXPECT_EQ(across["across"][0]["max_in_flight"], "all");
  EXPECT_EQ(across["do"][0]["try"]["task"]["name"], "smoke");
  EXPECT_EQ(plan["ensure"]["load_var"]["name"], "done");
}

TEST(JobPlanJson, LeavesOutParamsAndTaskConfigValues) {
  auto config = Load();
  for (const auto& job : config.jobs) {
    EXPECT_EQ(JobPlanJson(job).dump().find("hunter2-secret"), std::string::npos) << job.name;
  }
}

}  // namespace
}  // namespace baton::runner
