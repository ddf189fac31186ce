#include "baton/pipelines/loader.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "baton/pipelines/validate.h"
#include "fakes/test_env.h"

namespace baton::pipelines {
namespace {

PipelineLoad Load(const std::string& yaml, const Vars* vars = nullptr, bool check_vars = false) {
  LoadOptions options;
  options.vars = vars;
  options.check_vars = check_vars;
  return LoadPipeline(yaml, options);
}

std::string Errors(const PipelineLoad& load) { return RenderAll(load.diagnostics, ""); }

PipelineLoad LoadConformance(const std::string& name) {
  LoadOptions options;
  options.file_name = name;
  return LoadPipeline(testing::ReadFile(testing::SharedDir() / "conformance/concourse" / name),
                      options);
}

// Found by fuzz_pipeline: a complex key (or a value printed as JSON) holding bytes that are not
// UTF-8 made nlohmann's dump() throw out of the loader (validate-pipeline died; the API said 500).
TEST(Loader, KeysAndValuesThatAreNotUtf8AreDiagnosedNotThrown) {
  const std::string bad = "b\xff\xfe";
  LoadOptions options;
  options.strict = true;
  PipelineLoad load;
  ASSERT_NO_THROW(load = LoadPipeline("? {a: " + bad + "}\n: 1\njobs: []\n", options));
  EXPECT_FALSE(load.ok());
  EXPECT_NE(Errors(load).find("unknown field"), std::string::npos) << Errors(load);
  ASSERT_NO_THROW(load = Load("resources:\n- name: r\n  type: mock\n  source:\n    ? [" + bad +
                              "]\n    : x\njobs: []\n"));
}

TEST(Loader, MergeKeysMergeAMapAndExplicitKeysWin) {
  auto load = Load(R"(base: &base
  name: from-base
  public: true
  plan: [{get: other}]
resources: [{name: repo, type: git}]
jobs:
- <<: *base
  name: build
  plan: [{get: repo}]
)");
  ASSERT_TRUE(load.ok()) << Errors(load);
  const Job& job = load.config->jobs.at(0);
  EXPECT_EQ(job.name, "build");
  EXPECT_TRUE(job.public_);
  ASSERT_EQ(job.plan.size(), 1u);
  EXPECT_EQ(std::get<GetStep>(job.plan[0].body).resource, "repo");
  EXPECT_EQ(job.name_mark.line, 8);  // the explicit key, not the anchor's
}

TEST(Loader, MergeKeyListsMergeInOrderWithEarlierMapsWinning) {
  auto load = Load(R"(a: &a {serial: true, public: true}
b: &b {serial: false, interruptible: true, max_in_flight: 3}
jobs:
- name: build
  <<: [*a, *b]
  max_in_flight: 5
  plan: []
)");
  ASSERT_FALSE(load.diagnostics.HasErrors()) << Errors(load);
  const Job& job = load.config->jobs.at(0);
  EXPECT_TRUE(job.serial);
  EXPECT_TRUE(job.public_);
  EXPECT_TRUE(job.interruptible);
  EXPECT_EQ(job.max_in_flight, 5);
}

TEST(Loader, AnchorsAndAliasesShareValues) {
  auto load = Load(R"(resources:
- name: a
  type: mock
  source: &src {create_files: {x: y}}
- name: b
  type: mock
  source: *src
jobs:
- name: j
  plan: [{get: a}, {get: b}]
)");
  ASSERT_TRUE(load.ok()) << Errors(load);
  EXPECT_EQ(load.config->resources[1].source, load.config->resources[0].source);
}

TEST(Loader, DuplicateKeysAreErrorsAtTheSecondKey) {
  auto load = LoadConformance("cc__flyfix__testConfigDuplicate.yml");
  ASSERT_EQ(load.diagnostics.ErrorCount(), 1u) << Errors(load);
  const Diagnostic& d = load.diagnostics.items()[0];
  EXPECT_EQ(d.mark.line, 7);
  EXPECT_EQ(d.mark.column, 1);
  EXPECT_EQ(d.message, "mapping key \"resources\" already defined at line 2");
  EXPECT_EQ(d.file, "cc__flyfix__testConfigDuplicate.yml");
}

TEST(Loader, SyntaxErrorsCarryLineAndColumn) {
  auto load = Load("jobs:\n- name: a\n  plan: [\n");
  EXPECT_FALSE(load.config.has_value());
  ASSERT_EQ(load.diagnostics.ErrorCount(), 1u);
  const Diagnostic& d = load.diagnostics.items()[0];
  EXPECT_TRUE(d.mark.known());
  EXPECT_NE(d.message.find("invalid YAML"), std::string::npos);
}

TEST(Loader, EveryNodeKeepsItsMark) {
  auto load = Load(R"(resources:
- name: repo
  type: git
jobs:
- name: build
  plan:
  - get: repo
    passed: []
  - task: t
    file: repo/t.yml
)");
  ASSERT_TRUE(load.ok()) << Errors(load);
  const Resource& r = load.config->resources[0];
  EXPECT_EQ(r.name_mark.line, 2);
  EXPECT_EQ(r.name_mark.column, 9);
  EXPECT_EQ(r.type_mark.line, 3);
  const Job& job = load.config->jobs[0];
  EXPECT_EQ(job.plan[0].mark.line, 7);
  EXPECT_EQ(job.plan[0].mark.column, 5);
  EXPECT_EQ(std::get<GetStep>(job.plan[0].body).resource_mark.column, 10);
  EXPECT_EQ(job.plan[1].mark.line, 9);
  EXPECT_EQ(job.plan[1].path, "jobs.build.plan[1]");
}

TEST(Loader, VarsAreSubstitutedStructurallyWithTheMarkOfTheVar) {
  Vars vars;
  ASSERT_TRUE(vars.AddYamlFlag("src={uri: https://x, branch: main}").ok());
  ASSERT_TRUE(vars.AddStringFlag("name=repo").ok());
  auto load = Load(R"(resources:
- name: ((name))
  type: git
  source: ((src))
  tags: [a-((name))]
jobs:
- name: build
  plan: [{get: repo}]
)",
                   &vars);
  ASSERT_TRUE(load.ok()) << Errors(load);
  const Resource& r = load.config->resources[0];
  EXPECT_EQ(r.name, "repo");
  EXPECT_EQ(r.name_mark.line, 2);
  EXPECT_EQ(r.name_mark.column, 9);
  EXPECT_EQ(r.source, (Json{{"uri", "https://x"}, {"branch", "main"}}));
  EXPECT_EQ(r.tags, std::vector<std::string>{"a-repo"});
  EXPECT_TRUE(load.unresolved_vars.empty());
}

TEST(Loader, UnresolvedVarsAreKeptAndReportedWhereUsed) {
  auto load = Load(R"(resources:
- name: repo
  type: git
  source: {uri: ((uri)), key: ((vault:key)), local: ((.:x))}
  check_every: ((interval))
jobs:
- name: build
  plan: [{get: repo, timeout: ((t))}]
)");
  ASSERT_TRUE(load.ok()) << Errors(load);
  EXPECT_EQ(load.config->resources[0].source["uri"], "((uri))");
  EXPECT_EQ(load.config->resources[0].check_every, "((interval))");
  EXPECT_EQ(load.config->jobs[0].plan[0].timeout_text, "((t))");
  ASSERT_EQ(load.unresolved_vars.size(), 4u);  // local ((.:x)) is a run-time var
  EXPECT_EQ(load.unresolved_vars[0].name, "uri");
  EXPECT_EQ(load.unresolved_vars[0].mark.line, 4);
  EXPECT_EQ(load.unresolved_vars[0].mark.column, 17);
  EXPECT_EQ(load.unresolved_vars[1].name, "vault:key");
}

TEST(Loader, CheckVarsMakesEachUndefinedVarAnErrorButNotVarSourceVars) {
  auto load = Load(R"(var_sources: [{name: vs, type: dummy, config: {vars: {}}}]
resources:
- name: repo
  type: git
  source: {a: ((missing)), b: ((vs:known)), c: ((nosuch:thing))}
jobs:
- name: build
  plan: [{get: repo}]
)",
                   nullptr, true);
  EXPECT_EQ(load.diagnostics.ErrorCount(), 2u) << Errors(load);
  EXPECT_NE(Errors(load).find("undefined var `missing`"), std::string::npos);
  EXPECT_NE(Errors(load).find("undefined var `nosuch:thing`"), std::string::npos);
}

TEST(Loader, StepModifiersAndHooksAreBuilt) {
  auto load = LoadConformance("cc__testflight__hooks.yml");
  ASSERT_TRUE(load.ok()) << Errors(load);
  ASSERT_EQ(load.config->jobs.size(), 4u);
  const Job& job = load.config->jobs[0];
  ASSERT_TRUE(job.on_success && job.on_failure && job.on_error && job.on_abort && job.ensure);
  EXPECT_EQ(job.ensure->DisplayName(), "passing-job-on-job-ensure");
  const Step& step = job.plan.at(0);
  ASSERT_TRUE(step.on_abort);
  EXPECT_EQ(step.on_abort->DisplayName(), "passing-job-on-abort");
}

TEST(Loader, AttemptsTimeoutAndAcrossFollowConcourse) {
  auto retry = LoadConformance("cc__testflight__retry.yml");
  ASSERT_TRUE(retry.ok()) << Errors(retry);
  EXPECT_EQ(retry.config->jobs[1].plan[1].attempts, 5);  // through a YAML alias

  auto timeout = LoadConformance("cc__testflight__timeout.yml");
  ASSERT_TRUE(timeout.ok()) << Errors(timeout);
  EXPECT_EQ(timeout.config->jobs[1].plan[1].timeout, std::chrono::seconds(5));
  EXPECT_EQ(std::get<TaskStep>(timeout.config->jobs[1].plan[1].body).image, "image");

  auto across = LoadConformance("cc__testflight__across.yml");
  ASSERT_TRUE(across.ok()) << Errors(across);
  const Step& step = across.config->jobs[0].plan[2];
  ASSERT_EQ(step.across.size(), 2u);
  EXPECT_EQ(step.across[0].values, (Json{"static1", "static2"}));
  EXPECT_EQ(step.across[1].values, Json("((.:dynamic))"));
  EXPECT_EQ(step.kind(), StepKind::kTask);
}

TEST(Loader, TaskConfigFieldsAndMemoryUnits) {
  auto load = LoadConformance("cc__testflight__container_limits.yml");
  ASSERT_TRUE(load.ok()) << Errors(load);
  const auto& task = std::get<TaskStep>(load.config->jobs[0].plan[0].body);
  ASSERT_TRUE(task.config && task.config->container_limits);
  EXPECT_EQ(task.config->container_limits->cpu, 512);
  EXPECT_EQ(task.config->container_limits->memory, int64_t{1} << 30);
  EXPECT_EQ(task.config->image_resource->type, "mock");
}

TEST(Loader, PutInputsAndGetVersionForms) {
  auto load = LoadConformance("cc__testflight__put-inputs.yml");
  ASSERT_TRUE(load.ok()) << Errors(load);
  auto put_of = [&](size_t job) { return std::get<PutStep>(load.config->jobs[job].plan[2].body); };
  EXPECT_EQ(put_of(0).inputs.kind, PutInputs::Kind::kList);
  EXPECT_EQ(put_of(0).inputs.names, std::vector<std::string>{"specified-input"});
  EXPECT_EQ(put_of(1).inputs.kind, PutInputs::Kind::kAll);
  EXPECT_EQ(put_of(2).inputs.kind, PutInputs::Kind::kList);
  EXPECT_TRUE(put_of(2).inputs.names.empty());
  EXPECT_FALSE(put_of(3).inputs_given);

  auto every = LoadConformance("cc__testflight__resource-version-every.yml");
  ASSERT_TRUE(every.ok());
  EXPECT_EQ(std::get<GetStep>(every.config->jobs[0].plan[0].body).version->kind,
            VersionSpec::Kind::kEvery);
}

TEST(Loader, InParallelAcceptsAListOrAMapWithLimitAndFailFast) {
  auto load = Load(R"(jobs:
- name: j
  plan:
  - in_parallel: [{task: a, file: x/a.yml}]
  - in_parallel: {limit: 2, fail_fast: true, steps: [{task: b, file: x/b.yml}]}
)");
  ASSERT_TRUE(load.ok()) << Errors(load);
  const auto& first = std::get<InParallelStep>(load.config->jobs[0].plan[0].body);
  const auto& second = std::get<InParallelStep>(load.config->jobs[0].plan[1].body);
  EXPECT_EQ(first.steps.size(), 1u);
  EXPECT_EQ(second.limit, 2);
  EXPECT_TRUE(second.fail_fast);
  EXPECT_EQ(second.steps[0].path, "jobs.j.plan[1].in_parallel.steps[0]");
}

TEST(TaskConfigLoader, LoadsATaskFileAndReportsUnknownFields) {
  LoadOptions options;
  options.file_name = "task.yml";
  auto ok = LoadTaskConfig(
      "platform: linux\nrun: {path: echo, args: [hi], user: root}\n"
      "inputs: [{name: src, optional: true}]\n",
      options);
  ASSERT_TRUE(ok.ok()) << RenderAll(ok.diagnostics, "");
  EXPECT_EQ(ok.config->run.args, std::vector<std::string>{"hi"});
  EXPECT_EQ(ok.config->inputs[0].path, "src");
  EXPECT_TRUE(ok.config->inputs[0].optional);

  auto bad = LoadTaskConfig("platform: linux\nrun: {path: echo}\nouputs: []\n", options);
  ASSERT_EQ(bad.diagnostics.ErrorCount(), 1u);
  EXPECT_EQ(bad.diagnostics.items()[0].mark.line, 3);
  EXPECT_EQ(bad.diagnostics.items()[0].hint, "did you mean `outputs`?");
}

TEST(TaskConfigLoader, InterpolatesVars) {
  Vars vars;
  ASSERT_TRUE(vars.AddStringFlag("image_resource_type=mock").ok());
  LoadOptions options;
  options.vars = &vars;
  auto load = LoadTaskConfig(
      "platform: linux\nimage_resource: {type: ((image_resource_type))}\nrun: {path: echo}\n",
      options);
  ASSERT_TRUE(load.ok()) << RenderAll(load.diagnostics, "");
  EXPECT_EQ(load.config->image_resource->type, "mock");
}

TEST(Validate, IdentifierRuleMatchesConcourse) {
  EXPECT_TRUE(IsValidIdentifier("some-job_1.2"));
  EXPECT_TRUE(IsValidIdentifier("été"));
  EXPECT_FALSE(IsValidIdentifier("Job"));
  EXPECT_FALSE(IsValidIdentifier("1job"));
  EXPECT_FALSE(IsValidIdentifier("_job"));
  EXPECT_FALSE(IsValidIdentifier("a job"));
  EXPECT_FALSE(IsValidIdentifier(""));
}

TEST(Validate, PassedAcceptsGlobs) {
  auto load = Load(R"(resources: [{name: repo, type: git}]
jobs:
- {name: unit-a, plan: [{get: repo}]}
- {name: unit-b, plan: [{get: repo}]}
- {name: ship, plan: [{get: repo, passed: ["unit-*"]}]}
)");
  EXPECT_TRUE(load.ok()) << Errors(load);
  auto none = Load(R"(resources: [{name: repo, type: git}]
jobs:
- {name: ship, plan: [{get: repo, passed: ["unit-*"]}]}
)");
  EXPECT_NE(Errors(none).find("unknown job `unit-*`"), std::string::npos) << Errors(none);
}

std::string GeneratedPipeline(int jobs) {
  std::string yaml = "resources:\n";
  for (int i = 0; i < jobs; ++i) {
    yaml += "- name: res-" + std::to_string(i) + "\n  type: git\n  source: {uri: u" +
            std::to_string(i) + "}\n";
  }
  yaml += "jobs:\n";
  for (int i = 0; i < jobs; ++i) {
    yaml += "- name: job-" + std::to_string(i) + "\n  plan:\n  - get: res-" + std::to_string(i) +
            "\n    trigger: true\n";
    if (i > 0) {
      yaml += "  - get: res-" + std::to_string(i - 1) + "\n    passed: [job-" +
              std::to_string(i - 1) + "]\n";
    }
    yaml += "  - task: t\n    config:\n      platform: linux\n      run: {path: make}\n";
  }
  return yaml;
}

// Size, not speed: the time to load this pipeline is bench_validate's number (a timed test
// fails on a loaded CI machine and proves nothing on a quiet one).
TEST(LoaderScale, FiveThousandJobsChainedByPassedLoad) {
  std::string yaml = GeneratedPipeline(5000);
  auto load = Load(yaml);
  ASSERT_TRUE(load.ok()) << Errors(load).substr(0, 2000);
  ASSERT_EQ(load.config->jobs.size(), 5000u);
  EXPECT_EQ(load.config->jobs.back().name, "job-4999");
}

}  // namespace
}  // namespace baton::pipelines
