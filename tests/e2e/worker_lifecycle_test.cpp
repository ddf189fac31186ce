// End to end: workers that die, land and are pruned, with a real `baton web` (heartbeat 1 s, so
// a worker silent for 3 s is stalled) and real `baton worker` processes. A worker killed with
// SIGKILL mid-task has its step errored naming it, and `attempts:` runs the step again on the
// other worker; a landing worker finishes its running step, takes no more and leaves;
// prune-worker refuses a connected worker and forgets a stalled one.
#include <gtest/gtest.h>

#include "fakes/e2e_util.h"
#include "fakes/server_process.h"
#include "worker_cluster.h"

namespace baton::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

class WorkerLifecycleE2E : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(web_.started()) << web_.log(); }

  std::unique_ptr<ChildProcess> StartWorker(const std::string& name) {
    return cluster_.StartWorker(name);
  }

  void SetPipeline(const std::string& yaml) { cluster_.SetPipeline("p", yaml); }
  int64_t Trigger() { return cluster_.Trigger("p", "j"); }

  std::string WorkerState(const std::string& name) const {
    auto workers = cluster_.Workers();
    auto it = workers.find(name);
    return it == workers.end() ? "" : it->second.value("state", "");
  }

  // Waits until `name`'s state is `state` ("" = gone), or the deadline.
  bool WaitForState(const std::string& name, const std::string& state,
                    std::chrono::seconds deadline = std::chrono::seconds(60)) const {
    auto end = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < end) {
      if (WorkerState(name) == state) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
  }

  WorkerCluster cluster_{{"--worker-heartbeat", "1s"}};
  ServerProcess& web_ = cluster_.web();
};

std::string TaskPipeline(const std::string& script, int attempts = 1) {
  return "jobs:\n- name: j\n  plan:\n  - task: t\n    attempts: " + std::to_string(attempts) +
         "\n    config:\n      platform: linux\n      run: {path: sh, args: [-c, '" + script +
         "']}\n";
}

TEST_F(WorkerLifecycleE2E, AKilledWorkersStepErrorsNamingItAndTheRetryRunsOnTheOther) {
  auto w1 = StartWorker("w1");
  auto w2 = StartWorker("w2");
  SetPipeline(TaskPipeline("echo started; sleep 8; echo finished", 2));
  int64_t id = Trigger();
  ASSERT_TRUE(web_.WaitForLogLine(id, "started", std::chrono::seconds(90))) << web_.log();
  // The worker that took the first attempt says so.
  ChildProcess* victim = nullptr;
  std::string victim_name;
  for (int i = 0; i < 120 && !victim; ++i) {
    if (w1->WaitForOutput("running step", std::chrono::milliseconds(250))) {
      victim = w1.get(), victim_name = "w1";
    } else if (w2->WaitForOutput("running step", std::chrono::milliseconds(250))) {
      victim = w2.get(), victim_name = "w2";
    }
  }
  ASSERT_NE(victim, nullptr) << w1->out() << w2->out();
  victim->Signal(SIGKILL);

  json builds = web_.WaitForFinishedBuilds("p", "j", 1, std::chrono::minutes(2));
  ASSERT_EQ(builds.size(), 1u) << web_.log() << web_.Get("/api/v1/builds/" + std::to_string(id))
                               << w1->out() << w2->out();
  std::string log = web_.BuildLog(id);
  EXPECT_EQ(builds[0].value("status", ""), "succeeded") << log << web_.log();
  EXPECT_NE(log.find("worker " + victim_name + " stopped heartbeating"), std::string::npos) << log;
  EXPECT_NE(log.find("finished"), std::string::npos) << log;
  EXPECT_EQ(WorkerState(victim_name), "stalled");
}

TEST_F(WorkerLifecycleE2E, ALandingWorkerFinishesItsStepTakesNoMoreAndLeaves) {
  auto w1 = StartWorker("w1");
  SetPipeline(TaskPipeline("echo started; sleep 3; echo finished"));
  int64_t id = Trigger();
  ASSERT_TRUE(web_.WaitForLogLine(id, "started", std::chrono::seconds(90))) << web_.log();
  CliResult land = web_.Cli({"land-worker", "-w", "w1"});
  ASSERT_EQ(land.exit_code, 0) << land.All();
  EXPECT_NE(land.out.find("landing worker w1"), std::string::npos) << land.out;
  EXPECT_EQ(WorkerState("w1"), "landing");

  json builds = web_.WaitForFinishedBuilds("p", "j", 1, std::chrono::minutes(2));
  ASSERT_EQ(builds.size(), 1u);
  EXPECT_EQ(builds[0].value("status", ""), "succeeded") << web_.BuildLog(id);
  ProcessResult left = w1->Wait();
  EXPECT_EQ(left.exit_code, 0) << left.All();
  EXPECT_NE(left.out.find("landed"), std::string::npos) << left.All();
  EXPECT_TRUE(WaitForState("w1", "")) << "a landed worker leaves the list";

  CliResult unknown = web_.Cli({"land-worker", "-w", "w1"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("no worker named w1 is connected"), std::string::npos)
      << unknown.All();
}

TEST_F(WorkerLifecycleE2E, PruneRefusesAConnectedWorkerAndForgetsAStalledOne) {
  auto w1 = StartWorker("w1");
  CliResult refused = web_.Cli({"prune-worker", "-w", "w1"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("land it first"), std::string::npos) << refused.All();
  w1->Signal(SIGKILL);
  ASSERT_TRUE(WaitForState("w1", "stalled")) << WorkerState("w1");
  CliResult pruned = web_.Cli({"prune-worker", "-w", "w1"});
  EXPECT_EQ(pruned.exit_code, 0) << pruned.All();
  EXPECT_EQ(WorkerState("w1"), "");
}

}  // namespace
}  // namespace baton::testing
