// End to end: the seed pipeline's shape (source -> compile -> three checks -> deploy, the deploy
// a fan-in over the three checks) on two real `baton worker`s, the steps pinned to a worker by
// tags so that every hand-over crosses machines: compile runs on worker a, two checks on b and
// one on a, deploy on b. The file compile's task writes on a reaches the checks and the deploy
// on b (through the artifact store), the reports made on both reach the deploy, and the deploy
// takes the same source version all three checks passed.
#include <gtest/gtest.h>

#include "e2e/worker_cluster.h"
#include "fakes/git_fixture.h"

namespace baton::testing {
namespace {

using nlohmann::json;

std::string ChainCheck(const std::string& name, const std::string& tag) {
  return "- name: " + name + R"yaml(
  plan:
  - in_parallel:
    - get: source
      passed: [compile]
      trigger: true
    - get: binaries
      passed: [compile]
  - task: )yaml" +
         name + "\n    tags: [" + tag + R"yaml(]
    config:
      platform: linux
      inputs: [{name: source}, {name: binaries}]
      outputs: [{name: report}]
      run: {path: sh, args: [-c, 'echo ")yaml" +
         name +
         R"yaml( checked $(cat binaries/app.txt) on $(cat source/rev.txt)" | tee report/report.txt']}
  - put: )yaml" +
         name + "-report\n    params: {from: report}\n";
}

std::string SeedShapedPipeline(const std::filesystem::path& repo) {
  // The source's checks and gets run on a (its tags) unless a get step says otherwise.
  std::string yaml =
      "resources:\n- name: source\n  type: git\n  tags: [a]\n  source: {uri: " + repo.string() +
      ", branch: main}\n- name: binaries\n  type: artifact\n"
      "  source: {name: binaries}\n";
  for (const char* check : {"lint", "unit", "secure"}) {
    yaml += std::string("- name: ") + check +
            "-report\n  type: artifact\n  source: {name: " + check + "-report}\n";
  }
  yaml += R"yaml(jobs:
- name: compile
  plan:
  - get: source
    trigger: true
  - task: compile
    tags: [a]
    config:
      platform: linux
      inputs: [{name: source}]
      outputs: [{name: bin}]
      run: {path: sh, args: [-c, 'echo "compiled-$(cat source/rev.txt)" > bin/app.txt']}
  - put: binaries
    params: {from: bin}
)yaml";
  yaml += ChainCheck("lint", "b") + ChainCheck("unit", "a") + ChainCheck("secure", "b");
  yaml += R"yaml(- name: deploy
  plan:
  - in_parallel:
    - get: source
      passed: [lint, unit, secure]
      trigger: true
      tags: [b]
    - get: binaries
      passed: [lint, unit, secure]
    - get: lint-report
      passed: [lint]
    - get: unit-report
      passed: [unit]
    - get: secure-report
      passed: [secure]
  - task: deploy
    tags: [b]
    config:
      platform: linux
      inputs: [{name: source}, {name: binaries}, {name: lint-report}, {name: unit-report},
               {name: secure-report}]
      run:
        path: sh
        args: [-c, 'echo "deploying $(cat binaries/app.txt) of $(cat source/rev.txt)"; cat lint-report/report.txt unit-report/report.txt secure-report/report.txt']
)yaml";
  return yaml;
}

TEST(WorkerChainE2E, ASeedShapedChainWithAFanInRunsAcrossTwoWorkers) {
  WorkerCluster cluster;
  ASSERT_TRUE(cluster.web().started()) << cluster.web().log();
  GitFixtureRepo repo(cluster.files() / "repo");
  repo.Commit({{"rev.txt", "rev-1\n"}}, "first");
  auto a = cluster.StartWorker("a", {"--tag", "a"});
  auto b = cluster.StartWorker("b", {"--tag", "b"});
  cluster.SetPipeline("seed", SeedShapedPipeline(repo.path()));

  json deployed = cluster.web().WaitForFinishedBuilds("seed", "deploy", 1, std::chrono::minutes(4));
  ASSERT_EQ(deployed.size(), 1u) << cluster.web().log() << a->out() << b->out();
  for (const char* job : {"compile", "lint", "unit", "secure", "deploy"}) {
    json builds = cluster.web().JobBuilds("seed", job);
    ASSERT_EQ(builds.size(), 1u) << job;
    EXPECT_EQ(builds[0].value("status", ""), "succeeded")
        << job << "\n"
        << cluster.web().BuildLog(builds[0].value("id", int64_t{0})) << a->out() << b->out();
  }
  auto build_of = [&](const char* job) {
    return cluster.web().JobBuilds("seed", job)[0].value("id", int64_t{0});
  };
  // Where each task ran: the tags decided, so every hand-over below crossed workers.
  EXPECT_EQ(cluster.WorkerOfStepSaying(build_of("lint"), "lint checked"), "b");
  EXPECT_EQ(cluster.WorkerOfStepSaying(build_of("unit"), "unit checked"), "a");
  EXPECT_EQ(cluster.WorkerOfStepSaying(build_of("secure"), "secure checked"), "b");
  int64_t deploy = deployed[0].value("id", int64_t{0});
  EXPECT_EQ(cluster.WorkerOfStepSaying(deploy, "deploying"), "b");

  // compile's file, made on a, read on b; reports made on a and b, read on b.
  std::string log = cluster.web().BuildLog(deploy);
  EXPECT_NE(log.find("deploying compiled-rev-1 of rev-1"), std::string::npos) << log;
  for (const char* check : {"lint", "unit", "secure"}) {
    EXPECT_NE(log.find(std::string(check) + " checked compiled-rev-1 on rev-1"), std::string::npos)
        << check << "\n"
        << log;
  }
}

}  // namespace
}  // namespace baton::testing
