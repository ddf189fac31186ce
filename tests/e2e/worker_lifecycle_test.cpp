// End to end: workers that die, land, retire and are pruned, with a real `baton web` (heartbeat
// 1 s, so a worker silent for 3 s is stalled) and real `baton worker` processes. A worker killed
// with SIGKILL mid-task has its step errored naming it, and `attempts:` runs the step again on
// the other worker; a landing worker finishes its running step, takes no more, leaves and is
// listed as landed; a retiring one does the same and is removed; an interruptible job's step is
// not waited for; prune-worker refuses a connected worker and forgets a stalled or landed one.
#include <gtest/gtest.h>

#include "fakes/e2e_util.h"
#include "fakes/server_process.h"
#include "worker_cluster.h"

namespace baton::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

std::string TaskPipeline(const std::string& script, int attempts = 1, bool interruptible = false) {
  return std::string("jobs:\n- name: j\n") + (interruptible ? "  interruptible: true\n" : "") +
         "  plan:\n  - task: t\n    attempts: " + std::to_string(attempts) +
         "\n    config:\n      platform: linux\n      run: {path: sh, args: [-c, '" + script +
         "']}\n";
}

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

  // Sets a one-task pipeline, triggers it and waits until the task has printed "started".
  int64_t StartBuild(const std::string& script, int attempts = 1, bool interruptible = false) {
    SetPipeline(TaskPipeline(script, attempts, interruptible));
    int64_t id = Trigger();
    EXPECT_TRUE(web_.WaitForLogLine(id, "started", std::chrono::seconds(90))) << web_.log();
    return id;
  }

  // Which of two workers took the step: the one that says "running step" ("" if neither does).
  static std::string TakenBy(ChildProcess& w1, ChildProcess& w2) {
    for (int i = 0; i < 120; ++i) {
      if (w1.WaitForOutput("running step", std::chrono::milliseconds(250))) return "w1";
      if (w2.WaitForOutput("running step", std::chrono::milliseconds(250))) return "w2";
    }
    return "";
  }

  // The job's one build has ended `status`; returns its log.
  std::string Finished(int64_t id, const std::string& status) {
    json builds = web_.WaitForFinishedBuilds("p", "j", 1, std::chrono::minutes(2));
    std::string log = web_.BuildLog(id);
    EXPECT_EQ(builds.size(), 1u) << web_.log();
    if (builds.size() == 1) {
      EXPECT_EQ(builds[0].value("status", ""), status) << log << web_.log();
    }
    return log;
  }

  // `baton VERB -w NAME` succeeds saying `said`, and leaves the worker in `state`.
  void Drain(const std::string& verb, const std::string& name, const std::string& said,
             const std::string& state) {
    CliResult r = web_.Cli({verb, "-w", name});
    ASSERT_EQ(r.exit_code, 0) << r.All();
    EXPECT_NE(r.out.find(said), std::string::npos) << r.out;
    EXPECT_EQ(WorkerState(name), state);
  }

  // The worker exits with status 0, having said `said`.
  static void Left(ChildProcess& worker, const std::string& said) {
    ProcessResult left = worker.Wait();
    EXPECT_EQ(left.exit_code, 0) << left.All();
    EXPECT_NE(left.out.find(said), std::string::npos) << left.All();
  }

  WorkerCluster cluster_{{"--worker-heartbeat", "1s"}};
  ServerProcess& web_ = cluster_.web();
};

TEST_F(WorkerLifecycleE2E, AKilledWorkersStepErrorsNamingItAndTheRetryRunsOnTheOther) {
  auto w1 = StartWorker("w1");
  auto w2 = StartWorker("w2");
  int64_t id = StartBuild("echo started; sleep 8; echo finished", 2);
  // The worker that took the first attempt says so.
  std::string victim_name = TakenBy(*w1, *w2);
  ASSERT_FALSE(victim_name.empty()) << w1->out() << w2->out();
  (victim_name == "w1" ? *w1 : *w2).Signal(SIGKILL);

  std::string log = Finished(id, "succeeded");
  EXPECT_NE(log.find("worker " + victim_name + " stopped heartbeating"), std::string::npos) << log;
  EXPECT_NE(log.find("finished"), std::string::npos) << log;
  EXPECT_EQ(WorkerState(victim_name), "stalled");
}

TEST_F(WorkerLifecycleE2E, ALandingWorkerFinishesItsStepTakesNoMoreAndLeaves) {
  auto w1 = StartWorker("w1");
  int64_t id = StartBuild("echo started; sleep 3; echo finished");
  Drain("land-worker", "w1", "landing worker w1", "landing");

  EXPECT_NE(Finished(id, "succeeded").find("finished"), std::string::npos);
  Left(*w1, "landed");
  EXPECT_TRUE(WaitForState("w1", "landed"))
      << "a landed worker stays listed as landed: " << WorkerState("w1");

  CliResult unknown = web_.Cli({"land-worker", "-w", "w1"});
  EXPECT_NE(unknown.exit_code, 0);
  EXPECT_NE(unknown.err.find("no worker named w1 is connected"), std::string::npos)
      << unknown.All();
  // It comes back (restarted, say upgraded) under its name and runs again.
  auto again = StartWorker("w1");
  EXPECT_TRUE(WaitForState("w1", "running")) << WorkerState("w1");
}

TEST_F(WorkerLifecycleE2E, ARetiringWorkerFinishesItsStepLeavesAndIsRemoved) {
  auto w1 = StartWorker("w1");
  int64_t id = StartBuild("echo started; sleep 3; echo finished");
  Drain("retire-worker", "w1", "retiring worker w1", "retiring");
  // Landing a retiring worker would keep the record it was told to drop.
  CliResult land = web_.Cli({"land-worker", "-w", "w1"});
  EXPECT_NE(land.exit_code, 0);
  EXPECT_NE(land.err.find("retiring already"), std::string::npos) << land.All();

  EXPECT_NE(Finished(id, "succeeded").find("finished"), std::string::npos);
  Left(*w1, "retired");
  EXPECT_TRUE(WaitForState("w1", "")) << "a retired worker leaves the list: " << WorkerState("w1");
}

TEST_F(WorkerLifecycleE2E, ALandingWorkerDoesNotWaitForAnInterruptibleJobsStep) {
  auto w1 = StartWorker("w1");
  auto w2 = StartWorker("w2");
  int64_t id = StartBuild("echo started; sleep 15; echo finished", 2, /*interruptible=*/true);
  std::string first = TakenBy(*w1, *w2);
  ASSERT_FALSE(first.empty()) << w1->out() << w2->out();
  auto landing_at = std::chrono::steady_clock::now();
  CliResult land = web_.Cli({"land-worker", "-w", first});
  ASSERT_EQ(land.exit_code, 0) << land.All();
  // The landing worker stops the step instead of sleeping its 15 s out, and leaves (within 11 s:
  // a heartbeat, SIGTERM and the sandbox's teardown, with room for a loaded machine).
  Left(first == "w1" ? *w1 : *w2, "stopping step");
  EXPECT_LT(std::chrono::steady_clock::now() - landing_at, std::chrono::seconds(11))
      << "the worker waited for the interruptible step";

  std::string log = Finished(id, "succeeded");
  EXPECT_NE(log.find("worker " + first + " is landing and the job is interruptible"),
            std::string::npos)
      << log;
  EXPECT_NE(log.find("finished"), std::string::npos) << "the retry ran on the other worker";
  EXPECT_TRUE(WaitForState(first, "landed")) << WorkerState(first);
}

TEST_F(WorkerLifecycleE2E, PruneRefusesAConnectedWorkerAndForgetsAStalledOrALandedOne) {
  auto w1 = StartWorker("w1");
  CliResult refused = web_.Cli({"prune-worker", "-w", "w1"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("land it first"), std::string::npos) << refused.All();
  w1->Signal(SIGKILL);
  ASSERT_TRUE(WaitForState("w1", "stalled")) << WorkerState("w1");
  CliResult pruned = web_.Cli({"prune-worker", "-w", "w1"});
  EXPECT_EQ(pruned.exit_code, 0) << pruned.All();
  EXPECT_EQ(WorkerState("w1"), "");

  auto w2 = StartWorker("w2");
  ASSERT_TRUE(WaitForState("w2", "running")) << WorkerState("w2");
  ASSERT_EQ(web_.Cli({"land-worker", "-w", "w2"}).exit_code, 0);
  ASSERT_TRUE(WaitForState("w2", "landed")) << WorkerState("w2");
  CliResult pruned_landed = web_.Cli({"prune-worker", "-w", "w2"});
  EXPECT_EQ(pruned_landed.exit_code, 0) << pruned_landed.All();
  EXPECT_EQ(WorkerState("w2"), "");
}

}  // namespace
}  // namespace baton::testing
