// End to end: placement by tags and teams, with a real `baton web` and real `baton worker`s. A
// step with `tags: [gpu]` (or a get of a resource tagged gpu) runs on the worker started with
// `--tag gpu`, untagged steps never do, even while the untagged worker is busy; a step with a
// tag no worker has waits, its log (and `baton watch`) says why, and it runs once such a worker
// registers; a `--team` worker takes no other team's steps; the steps after a task run on the
// worker that holds the task's output.
#include <gtest/gtest.h>

#include "e2e/worker_cluster.h"

namespace baton::testing {
namespace {

using nlohmann::json;

std::string Task(const std::string& name, const std::string& script,
                 const std::string& extra = "") {
  return "  - task: " + name + "\n" + extra +
         "    config:\n      platform: linux\n      run: {path: sh, args: [-c, '" + script +
         "']}\n";
}

TEST(WorkerPlacementE2E, TaggedStepsRunOnTheTaggedWorkerAndUntaggedStepsNeverDo) {
  WorkerCluster cluster;
  ASSERT_TRUE(cluster.web().started()) << cluster.web().log();
  // The untagged worker runs one step at a time: the untagged steps queue for it even though
  // the gpu worker is idle.
  auto plain = cluster.StartWorker("plain", {"--capacity", "1"});
  auto gpu = cluster.StartWorker("gpu", {"--tag", "gpu", "--tag", "cuda"});
  cluster.SetPipeline("p", R"yaml(resources:
- name: data
  type: mock
  tags: [gpu]
  source: {create_files: {data.txt: from-the-mock}}
jobs:
- name: j
  plan:
  - get: data
  - task: before
    config:
      platform: linux
      run: {path: sh, args: [-c, 'echo marker-before']}
  - task: on-gpu
    tags: [gpu]
    config:
      platform: linux
      inputs: [{name: data}]
      run: {path: sh, args: [-c, 'echo marker-gpu $(cat data/data.txt)']}
  - in_parallel:
    - task: u1
      config: {platform: linux, run: {path: sh, args: [-c, 'echo marker-u1; sleep 1']}}
    - task: u2
      config: {platform: linux, run: {path: sh, args: [-c, 'echo marker-u2; sleep 1']}}
    - task: u3
      config: {platform: linux, run: {path: sh, args: [-c, 'echo marker-u3; sleep 1']}}
)yaml");
  // A manual trigger needs a version of `data`: its check (on the gpu worker) must have run.
  json check = cluster.web().CheckResource("p", "data", std::chrono::seconds(90));
  ASSERT_TRUE(check.is_object() && check.value("status", "") == "succeeded")
      << check << cluster.web().log() << gpu->out();
  int64_t id = cluster.Trigger("p", "j");
  ASSERT_GT(id, 0);
  json builds = cluster.web().WaitForFinishedBuilds("p", "j", 1, std::chrono::minutes(3));
  ASSERT_EQ(builds.size(), 1u) << cluster.web().log() << plain->out() << gpu->out();
  std::string log = cluster.web().BuildLog(id);
  ASSERT_EQ(builds[0].value("status", ""), "succeeded") << log << plain->out() << gpu->out();
  EXPECT_NE(log.find("marker-gpu from-the-mock"), std::string::npos) << log;

  EXPECT_EQ(cluster.WorkerOfStepSaying(id, "marker-gpu"), "gpu") << log;
  for (const char* marker : {"marker-before", "marker-u1", "marker-u2", "marker-u3"}) {
    EXPECT_EQ(cluster.WorkerOfStepSaying(id, marker), "plain") << marker << "\n" << log;
  }
  // The get of the gpu-tagged resource ran on the gpu worker too (the resource's tags).
  bool get_on_gpu = false;
  for (const auto& [origin, step_log] : cluster.StepLogs(id)) {
    if (step_log.find("marker-") == std::string::npos &&
        step_log.find("selected worker: gpu") != std::string::npos) {
      get_on_gpu = true;
    }
    EXPECT_EQ(step_log.find("selected worker: plain") != std::string::npos &&
                  step_log.find("selected worker: gpu") != std::string::npos,
              false)
        << origin << ": " << step_log;
  }
  EXPECT_TRUE(get_on_gpu) << log;
}

TEST(WorkerPlacementE2E, AStepWithATagNoWorkerHasWaitsSayingWhyThenRunsOnOne) {
  WorkerCluster cluster;
  ASSERT_TRUE(cluster.web().started()) << cluster.web().log();
  auto plain = cluster.StartWorker("plain");
  cluster.SetPipeline("p", "jobs:\n- name: j\n  plan:\n" +
                               Task("on-arm", "echo ran-on-arm", "    tags: [arm64]\n"));
  int64_t id = cluster.Trigger("p", "j");
  ASSERT_GT(id, 0);
  const std::string why = "waiting for a worker: no worker with tags [arm64]";
  ASSERT_TRUE(cluster.web().WaitForLogLine(id, why, std::chrono::seconds(90)))
      << cluster.web().log() << cluster.web().BuildLog(id);
  EXPECT_EQ(cluster.Status(id), "started");
  // `baton watch` shows the wait while it lasts.
  auto watch = cluster.web().StartCli({"watch", "-b", std::to_string(id)});
  EXPECT_TRUE(watch->WaitForOutput(why, std::chrono::seconds(60))) << watch->out() << watch->err();

  auto arm = cluster.StartWorker("arm", {"--tag", "arm64"});
  json builds = cluster.web().WaitForFinishedBuilds("p", "j", 1, std::chrono::minutes(2));
  ASSERT_EQ(builds.size(), 1u) << cluster.web().log() << arm->out();
  EXPECT_EQ(builds[0].value("status", ""), "succeeded") << cluster.web().BuildLog(id);
  EXPECT_EQ(cluster.WorkerOfStepSaying(id, "ran-on-arm"), "arm") << cluster.web().BuildLog(id);
  ProcessResult watched = watch->Wait();
  EXPECT_NE(watched.out.find("ran-on-arm"), std::string::npos) << watched.All();
}

TEST(WorkerPlacementE2E, ATeamWorkerTakesNoOtherTeamsStepsAndTheWaitSaysSo) {
  WorkerCluster cluster;
  ASSERT_TRUE(cluster.web().started()) << cluster.web().log();
  auto other = cluster.StartWorker("other-team", {"--team", "other"});
  cluster.SetPipeline("p", "jobs:\n- name: j\n  plan:\n" + Task("t", "echo ran-for-main"));
  int64_t id = cluster.Trigger("p", "j");
  ASSERT_GT(id, 0);
  EXPECT_TRUE(cluster.web().WaitForLogLine(
      id, "every untagged worker belongs to another team (--team), and this step is team main's",
      std::chrono::seconds(90)))
      << cluster.web().BuildLog(id);
  EXPECT_EQ(cluster.Status(id), "started");

  auto main_team = cluster.StartWorker("main-team", {"--team", "main"});
  json builds = cluster.web().WaitForFinishedBuilds("p", "j", 1, std::chrono::minutes(2));
  ASSERT_EQ(builds.size(), 1u) << cluster.web().log() << main_team->out();
  EXPECT_EQ(builds[0].value("status", ""), "succeeded") << cluster.web().BuildLog(id);
  EXPECT_EQ(cluster.WorkerOfStepSaying(id, "ran-for-main"), "main-team");
}

TEST(WorkerPlacementE2E, TheNextStepsRunOnTheWorkerHoldingTheirInputs) {
  WorkerCluster cluster;
  ASSERT_TRUE(cluster.web().started()) << cluster.web().log();
  auto w1 = cluster.StartWorker("w1");
  auto w2 = cluster.StartWorker("w2");
  // Both idle: without locality the second step would go to the worker idle longest, the
  // other one, and its input would travel.
  cluster.SetPipeline("p", R"yaml(jobs:
- name: j
  plan:
  - task: make
    config:
      platform: linux
      outputs: [{name: out}]
      run: {path: sh, args: [-c, 'echo made > out/f; echo marker-make']}
  - task: use
    config:
      platform: linux
      inputs: [{name: out}]
      run: {path: sh, args: [-c, 'echo marker-use $(cat out/f)']}
  - task: use-again
    config:
      platform: linux
      inputs: [{name: out}]
      run: {path: sh, args: [-c, 'echo marker-again $(cat out/f)']}
)yaml");
  int64_t id = cluster.Trigger("p", "j");
  ASSERT_GT(id, 0);
  json builds = cluster.web().WaitForFinishedBuilds("p", "j", 1, std::chrono::minutes(2));
  ASSERT_EQ(builds.size(), 1u) << cluster.web().log() << w1->out() << w2->out();
  std::string log = cluster.web().BuildLog(id);
  ASSERT_EQ(builds[0].value("status", ""), "succeeded") << log;
  EXPECT_NE(log.find("marker-use made"), std::string::npos) << log;
  std::string maker = cluster.WorkerOfStepSaying(id, "marker-make");
  ASSERT_TRUE(maker == "w1" || maker == "w2") << log;
  EXPECT_EQ(cluster.WorkerOfStepSaying(id, "marker-use"), maker) << log;
  EXPECT_EQ(cluster.WorkerOfStepSaying(id, "marker-again"), maker) << log;
}

}  // namespace
}  // namespace baton::testing
