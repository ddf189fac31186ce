// End to end: steps run on real `baton worker` processes. A `baton web` without a local worker
// and two workers (separate work dirs, loopback) run a three-job chain (git get, a task's
// output put to an artifact, gets and tasks in the next jobs): each worker runs steps, the
// volumes a step needs reach the worker that runs it, and every build succeeds with the
// content made upstream. A build started before any worker exists waits, its log says why, and
// it runs once a worker registers. A task's output reaches the API's live log while the task
// runs, an abort stops it on its worker, and a chatty task's every line arrives in order.
#include <gtest/gtest.h>

#include "fakes/e2e_util.h"
#include "fakes/git_fixture.h"
#include "fakes/server_process.h"
#include "worker_cluster.h"

namespace baton::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string DispatchChainPipeline(const fs::path& repo) {
  return R"yaml(resources:
- name: repo
  type: git
  source: {uri: )yaml" +
         repo.string() + R"yaml(, branch: main}
- name: app
  type: artifact
  source: {name: app}
jobs:
- name: build
  plan:
  - get: repo
    trigger: true
  - task: compile
    config:
      platform: linux
      inputs: [{name: repo}]
      outputs: [{name: bin}]
      run: {path: sh, args: [-c, 'sh repo/build.sh > bin/app.txt && cat bin/app.txt']}
  - task: package
    config:
      platform: linux
      inputs: [{name: bin}]
      outputs: [{name: pkg}]
      run: {path: sh, args: [-c, 'echo "packaged $(cat bin/app.txt)" > pkg/app.txt']}
  - put: app
    params: {from: pkg}
- name: test
  plan:
  - get: repo
    passed: [build]
    trigger: true
  - get: app
    passed: [build]
  - task: check
    config:
      platform: linux
      inputs: [{name: app}, {name: repo}]
      run: {path: sh, args: [-c, 'echo "test sees: $(cat app/app.txt)"']}
- name: deploy
  plan:
  - get: app
    passed: [test]
    trigger: true
  - task: ship
    config:
      platform: linux
      inputs: [{name: app}]
      run: {path: sh, args: [-c, 'echo "deploying: $(cat app/app.txt)"']}
)yaml";
}

std::string ShellPipeline(const std::string& script) {
  return "jobs:\n- name: j\n  plan:\n  - task: t\n    config:\n      platform: linux\n"
         "      run: {path: sh, args: [-c, '" +
         script + "']}\n";
}

class WorkerDispatchE2E : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(web_.started()) << web_.log(); }

  std::unique_ptr<ChildProcess> StartWorker(const std::string& name,
                                            const std::vector<std::string>& extra = {}) {
    return cluster_.StartWorker(name, extra);
  }
  void SetPipeline(const std::string& name, const std::string& yaml) {
    cluster_.SetPipeline(name, yaml);
  }
  int64_t Trigger(const std::string& pipeline, const std::string& job) {
    return cluster_.Trigger(pipeline, job);
  }
  json Build(int64_t id) const { return web_.Get("/api/v1/builds/" + std::to_string(id)); }

  WorkerCluster cluster_;
  ServerProcess& web_ = cluster_.web();
  const fs::path& files_ = cluster_.files();
};

TEST_F(WorkerDispatchE2E, TwoWorkersRunAChainAndEachStepGetsTheVolumesMadeOnTheOther) {
  GitFixtureRepo repo(files_ / "repo");
  repo.Commit({{"build.sh", "echo built-v1\n"}}, "first");
  auto w1 = StartWorker("w1");
  auto w2 = StartWorker("w2");
  SetPipeline("chain", DispatchChainPipeline(repo.path()));

  json deployed = web_.WaitForFinishedBuilds("chain", "deploy", 1, std::chrono::minutes(3));
  ASSERT_EQ(deployed.size(), 1u) << web_.log() << w1->out() << w2->out();
  for (const char* job : {"build", "test", "deploy"}) {
    json builds = web_.JobBuilds("chain", job);
    ASSERT_EQ(builds.size(), 1u) << job;
    EXPECT_EQ(builds[0].value("status", ""), "succeeded")
        << job << "\n"
        << web_.BuildLog(builds[0].value("id", int64_t{0})) << w1->out() << w2->out();
  }
  std::string build_log = web_.BuildLog(web_.JobBuilds("chain", "build")[0].value("id", 0));
  EXPECT_NE(build_log.find("built-v1"), std::string::npos) << build_log;
  std::string test_log = web_.BuildLog(web_.JobBuilds("chain", "test")[0].value("id", 0));
  EXPECT_NE(test_log.find("test sees: packaged built-v1"), std::string::npos) << test_log;
  std::string deploy_log = web_.BuildLog(deployed[0].value("id", 0));
  EXPECT_NE(deploy_log.find("deploying: packaged built-v1"), std::string::npos) << deploy_log;

  // Both workers ran steps (consecutive steps go to the worker idle longest), so the steps that
  // read `bin`, `repo` and `app` read volumes another worker made.
  EXPECT_TRUE(w1->WaitForOutput("running step", std::chrono::seconds(10))) << w1->out();
  EXPECT_TRUE(w2->WaitForOutput("running step", std::chrono::seconds(10))) << w2->out();
  EXPECT_TRUE(fs::exists(files_ / "w1" / "volumes"));
  EXPECT_TRUE(fs::exists(files_ / "w2" / "volumes"));
}

TEST_F(WorkerDispatchE2E, ABuildWaitsForAWorkerSayingWhyThenRunsWhenOneRegisters) {
  SetPipeline("p", ShellPipeline("echo ran-on-a-worker"));
  int64_t id = Trigger("p", "j");
  ASSERT_GT(id, 0);
  EXPECT_TRUE(web_.WaitForLogLine(id, "waiting for a worker: no worker has registered"))
      << web_.log();
  EXPECT_EQ(Build(id).value("status", ""), "started");
  auto worker = StartWorker("late");
  json builds = web_.WaitForFinishedBuilds("p", "j", 1, std::chrono::minutes(2));
  ASSERT_EQ(builds.size(), 1u) << web_.log() << worker->out();
  EXPECT_EQ(builds[0].value("status", ""), "succeeded") << web_.BuildLog(id) << worker->out();
  EXPECT_NE(web_.BuildLog(id).find("ran-on-a-worker"), std::string::npos);
}

TEST_F(WorkerDispatchE2E, OutputIsLiveAndAnAbortStopsTheTaskOnItsWorker) {
  auto worker = StartWorker("w1");
  SetPipeline("p", ShellPipeline("echo first-line; sleep 120; echo never-printed"));
  int64_t id = Trigger("p", "j");
  ASSERT_GT(id, 0);
  // Seen while the task still sleeps on the worker: the output streamed before the end.
  ASSERT_TRUE(web_.WaitForLogLine(id, "first-line", std::chrono::seconds(90)))
      << web_.log() << worker->out();
  EXPECT_EQ(Build(id).value("status", ""), "started");
  web_.Api("PUT", "/api/v1/builds/" + std::to_string(id) + "/abort");
  json builds = web_.WaitForFinishedBuilds("p", "j", 1, std::chrono::seconds(60));
  ASSERT_EQ(builds.size(), 1u) << web_.log() << worker->out();
  EXPECT_EQ(builds[0].value("status", ""), "aborted");
  EXPECT_EQ(web_.BuildLog(id).find("never-printed"), std::string::npos);
}

TEST_F(WorkerDispatchE2E, EveryLineOfAChattyTaskArrivesInOrder) {
  auto worker = StartWorker("w1");
  // 60,000 numbered lines (~2.5 MB): more than the worker's 1 MiB buffer, so the worker waits
  // for the web node at least once.
  SetPipeline(
      "p",
      ShellPipeline("i=0; while [ $i -lt 60000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxx; "
                    "i=$((i+1)); done"));
  int64_t id = Trigger("p", "j");
  json builds = web_.WaitForFinishedBuilds("p", "j", 1, std::chrono::minutes(3));
  ASSERT_EQ(builds.size(), 1u) << web_.log() << worker->out();
  EXPECT_EQ(builds[0].value("status", ""), "succeeded");
  std::string log = web_.BuildLog(id);
  size_t at = 0;
  for (int i = 0; i < 60000; i += 997) {
    size_t found = log.find("line-" + std::to_string(i) + "-", at);
    ASSERT_NE(found, std::string::npos) << "line " << i << " missing or out of order";
    at = found;
  }
  EXPECT_NE(log.find("line-59999-"), std::string::npos);
}

}  // namespace
}  // namespace baton::testing
