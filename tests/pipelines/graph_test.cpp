// JobGraph over model objects built in code (independent of the loader).
#include "baton/pipelines/graph.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <memory>

#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::pipelines {
namespace {

using ::testing::ElementsAre;

Step GetStepOf(const std::string& resource, std::vector<std::string> passed, bool trigger = false) {
  GetStep get;
  get.name = resource;
  get.resource = resource;
  get.passed = std::move(passed);
  for (size_t i = 0; i < get.passed.size(); ++i) get.passed_marks.push_back({10, int(i) + 3});
  get.trigger = trigger;
  Step step;
  step.body = std::move(get);
  return step;
}

Step TaskStepOf(const std::string& name) {
  Step step;
  TaskStep task;
  task.name = name;
  step.body = std::move(task);
  return step;
}

Step PutStepOf(const std::string& resource) {
  Step step;
  PutStep put;
  put.name = resource;
  put.resource = resource;
  step.body = std::move(put);
  return step;
}

Job JobOf(const std::string& name, std::vector<Step> plan) {
  Job job;
  job.name = name;
  job.plan = std::move(plan);
  return job;
}

// Adds a job whose only step gets `resource` passed the given jobs.
void AddJob(PipelineConfig& config, const std::string& name, std::vector<std::string> passed,
            bool trigger = true) {
  config.jobs.push_back(JobOf(name, {GetStepOf("repo", std::move(passed), trigger)}));
}

TEST(JobGraph, HasAnEdgeForEveryPassedConstraint) {
  PipelineConfig config;
  AddJob(config, "build", {});
  AddJob(config, "test", {"build"}, /*trigger=*/false);
  const JobGraph graph = JobGraph::Build(config);

  EXPECT_THAT(graph.jobs(), ElementsAre("build", "test"));
  ASSERT_EQ(graph.edges().size(), 1u);
  const JobEdge& edge = graph.edges()[0];
  EXPECT_EQ(edge.from, "build");
  EXPECT_EQ(edge.to, "test");
  EXPECT_EQ(edge.resource, "repo");
  EXPECT_FALSE(edge.trigger);
  EXPECT_EQ(edge.mark.line, 10);
  EXPECT_EQ(edge.mark.column, 3);
}

TEST(JobGraph, FindsGetStepsNestedInsideDoTryInParallelAndHooks) {
  PipelineConfig config;
  AddJob(config, "a", {});
  AddJob(config, "b", {});
  AddJob(config, "c", {});
  AddJob(config, "d", {});

  Step in_parallel;
  in_parallel.body = InParallelStep{{GetStepOf("x", {"a"})}, 0, false};
  Step try_step;
  TryStep t;
  t.step = std::make_unique<Step>(GetStepOf("y", {"b"}));
  try_step.body = std::move(t);
  Step outer;
  outer.body = DoStep{{in_parallel, try_step}};
  outer.on_failure = std::make_shared<Step>(GetStepOf("z", {"c"}));
  Job job = JobOf("e", {outer});
  job.ensure = std::make_shared<Step>(GetStepOf("w", {"d"}));
  config.jobs.push_back(std::move(job));

  const JobGraph graph = JobGraph::Build(config);
  EXPECT_THAT(graph.Upstream("e"), ElementsAre("a", "b", "c", "d"));
}

TEST(JobGraph, SkipsPassedEntriesThatNameUnknownJobs) {
  PipelineConfig config;
  AddJob(config, "build", {});
  AddJob(config, "test", {"build", "no-such-job"});
  const JobGraph graph = JobGraph::Build(config);
  ASSERT_EQ(graph.edges().size(), 1u);
  EXPECT_EQ(graph.edges()[0].from, "build");
}

TEST(JobGraph, UpstreamAndDownstreamAreDistinctAndInFileOrder) {
  PipelineConfig config;
  AddJob(config, "lint", {});
  AddJob(config, "unit", {});
  config.jobs.push_back(JobOf("ship", {GetStepOf("repo", {"unit", "lint"}),
                                       GetStepOf("image", {"unit"}), TaskStepOf("go")}));
  AddJob(config, "announce", {"lint"});
  const JobGraph graph = JobGraph::Build(config);

  EXPECT_THAT(graph.Upstream("ship"), ElementsAre("lint", "unit"));
  EXPECT_THAT(graph.Downstream("lint"), ElementsAre("ship", "announce"));
  EXPECT_THAT(graph.Downstream("unit"), ElementsAre("ship"));
  EXPECT_TRUE(graph.Upstream("lint").empty());
  EXPECT_TRUE(graph.Downstream("no-such-job").empty());
}

TEST(JobGraph, TopologicalOrderPutsUpstreamFirstAndKeepsFileOrderForTies) {
  PipelineConfig config;
  AddJob(config, "deploy", {"test", "package"});
  AddJob(config, "test", {"build"});
  AddJob(config, "docs", {});
  AddJob(config, "build", {});
  AddJob(config, "package", {"build"});
  const auto order = JobGraph::Build(config).TopologicalOrder();
  ASSERT_TRUE(order.has_value());
  EXPECT_THAT(*order, ElementsAre("docs", "build", "test", "package", "deploy"));
}

TEST(JobGraph, TopologicalOrderOfIndependentJobsIsFileOrder) {
  PipelineConfig config;
  for (const char* name : {"c", "a", "b"}) AddJob(config, name, {});
  EXPECT_THAT(*JobGraph::Build(config).TopologicalOrder(), ElementsAre("c", "a", "b"));
}

TEST(JobGraph, ReportsNoOrderAndAClosedCycleWhenJobsDependOnEachOther) {
  PipelineConfig config;
  AddJob(config, "start", {});
  AddJob(config, "a", {"start", "c"});
  AddJob(config, "b", {"a"});
  AddJob(config, "c", {"b"});
  const JobGraph graph = JobGraph::Build(config);
  EXPECT_FALSE(graph.TopologicalOrder().has_value());
  EXPECT_THAT(graph.FindCycle(), ElementsAre("a", "b", "c", "a"));
}

TEST(JobGraph, FindsASelfLoop) {
  PipelineConfig config;
  AddJob(config, "loop", {"loop"});
  EXPECT_THAT(JobGraph::Build(config).FindCycle(), ElementsAre("loop", "loop"));
}

TEST(JobGraph, FindsNoCycleInADiamond) {
  PipelineConfig config;
  AddJob(config, "top", {});
  AddJob(config, "left", {"top"});
  AddJob(config, "right", {"top"});
  AddJob(config, "bottom", {"left", "right"});
  EXPECT_TRUE(JobGraph::Build(config).FindCycle().empty());
}

TEST(JobGraph, HandlesAChainTensOfThousandsOfJobsDeep) {
  PipelineConfig config;
  AddJob(config, "j0", {});
  const int kJobs = 50000;
  for (int i = 1; i < kJobs; ++i)
    AddJob(config, "j" + std::to_string(i), {"j" + std::to_string(i - 1)});
  AddJob(config, "j0-again", {"j" + std::to_string(kJobs - 1)});
  config.jobs[0].plan.push_back(GetStepOf("back", {"j0-again"}));
  const JobGraph graph = JobGraph::Build(config);
  EXPECT_EQ(graph.FindCycle().size(), size_t(kJobs) + 2);
}

TEST(JobGraph, RendersDotWithJobBoxesResourceEllipsesAndTriggerStyles) {
  PipelineConfig config;
  config.jobs.push_back(JobOf("build", {GetStepOf("repo", {}, /*trigger=*/true),
                                        TaskStepOf("compile"), PutStepOf("image")}));
  AddJob(config, "test \"quoted\"", {"build"}, /*trigger=*/false);
  const JobGraph graph = JobGraph::Build(config);
  const std::string dot = graph.RenderDot(config);

  EXPECT_EQ(dot.rfind("digraph pipeline {\n", 0), 0u);
  EXPECT_EQ(dot.substr(dot.size() - 2), "}\n");
  EXPECT_NE(dot.find("\"job:build\" [label=\"build\", shape=box];"), std::string::npos);
  EXPECT_NE(dot.find("\"resource:repo\" [label=\"repo\", shape=ellipse];"), std::string::npos);
  EXPECT_NE(dot.find("\"resource:repo\" -> \"job:build\" [style=solid];"), std::string::npos);
  EXPECT_NE(
      dot.find("\"job:build\" -> \"job:test \\\"quoted\\\"\" [label=\"repo\", style=dashed];"),
      std::string::npos)
      << dot;
  EXPECT_NE(dot.find("\"job:build\" -> \"resource:image\";"), std::string::npos);
}

TEST(JobGraph, RendersTextInStagesByLongestPathWithUpstreamJobs) {
  PipelineConfig config;
  AddJob(config, "build", {});
  AddJob(config, "lint", {});
  AddJob(config, "test", {"build"});
  AddJob(config, "ship", {"test", "lint"});
  const std::string text = JobGraph::Build(config).RenderText();
  EXPECT_EQ(text,
            "stage 1\n"
            "  build\n"
            "  lint\n"
            "stage 2\n"
            "  test   <- build\n"
            "stage 3\n"
            "  ship   <- lint, test\n");
}

TEST(JobGraph, RendersTextForAnEmptyPipelineAndForACycle) {
  PipelineConfig empty;
  EXPECT_EQ(JobGraph::Build(empty).RenderText(), "(no jobs)\n");
  PipelineConfig cyclic;
  AddJob(cyclic, "a", {"b"});
  AddJob(cyclic, "b", {"a"});
  EXPECT_EQ(JobGraph::Build(cyclic).RenderText(),
            "cycle (no order possible)\n"
            "  a  <- b\n"
            "  b  <- a\n");
}

struct CommandResult {
  int exit_code = -1;
  std::string out;  // stdout
};

// Runs `baton ARGS`; `out` is stdout, followed by stderr when `merge_stderr`.
CommandResult RunBaton(const std::string& args, bool merge_stderr = false) {
  auto r = testing::RunBatonShell(args);
  return {r.exit_code, merge_stderr ? r.All() : r.out};
}

constexpr const char* kChainPipeline = R"(
resources:
- {name: repo, type: mock}
jobs:
- name: deploy
  plan: [{get: repo, passed: [build, lint], trigger: true}]
- name: build
  plan: [{get: repo, trigger: true}, {put: repo, params: {version: v1}}]
- name: lint
  plan: [{get: repo, passed: [build]}]
)";

TEST(BatonGraph, PrintsStagesOfAPipelineFile) {
  testing::TempDir dir;
  testing::WriteFile(dir / "pipeline.yml", kChainPipeline);
  CommandResult result = RunBaton("graph -c " + (dir / "pipeline.yml").string());
  ASSERT_EQ(result.exit_code, 0) << result.out;
  EXPECT_EQ(result.out,
            "stage 1\n"
            "  build\n"
            "stage 2\n"
            "  lint    <- build\n"
            "stage 3\n"
            "  deploy  <- build, lint\n");
}

TEST(BatonGraph, PrintsGraphvizDotWithVarsResolved) {
  testing::TempDir dir;
  testing::WriteFile(dir / "pipeline.yml", R"(
resources:
- {name: repo, type: mock}
jobs:
- {name: ((first)), plan: [{get: repo, trigger: true}]}
- {name: second, plan: [{get: repo, passed: [((first))]}]}
)");
  CommandResult result =
      RunBaton("graph --format dot -v first=unit -c " + (dir / "pipeline.yml").string());
  ASSERT_EQ(result.exit_code, 0) << result.out;
  EXPECT_NE(result.out.find("\"resource:repo\" -> \"job:unit\" [style=solid];"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("\"job:unit\" -> \"job:second\" [label=\"repo\", style=dashed];"),
            std::string::npos)
      << result.out;
}

TEST(BatonGraph, PrintsDiagnosticsAndFailsOnAnInvalidFile) {
  testing::TempDir dir;
  testing::WriteFile(dir / "pipeline.yml", "jobs:\n- name: a\n  plan:\n  - get: nope\n");
  CommandResult result = RunBaton("graph -c " + (dir / "pipeline.yml").string(), true);
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.out.find("pipeline.yml:4:"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("error:"), std::string::npos) << result.out;
}

}  // namespace
}  // namespace baton::pipelines
