// End to end: workers that die, land and are pruned, with a real `baton web` (heartbeat 1 s, so
// a worker silent for 3 s is stalled) and real `baton worker` processes. A worker killed with
// SIGKILL mid-task has its step errored naming it, and `attempts:` runs the step again on the
// other worker; a landing worker finishes its running step, takes no more and leaves;
// prune-worker refuses a connected worker and forgets a stalled one.
#include <gtest/gtest.h>

#include "fakes/e2e_util.h"
#include "fakes/server_process.h"

namespace baton::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

const std::string kKey = "e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5";

class WorkerLifecycleE2E : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(web_.started()) << web_.log(); }

  static std::vector<std::string> WebArgs(const TempDir& keys) {
    WriteFile(keys / "authorized", kKey + "\n");
    return {"--bind",
            "127.0.0.1:0",
            "--worker-key",
            (keys / "authorized").string(),
            "--worker-heartbeat",
            "1s"};
  }

  std::unique_ptr<ChildProcess> StartWorker(const std::string& name) {
    fs::path key_file = files_ / "worker.key";
    WriteFile(key_file, kKey + "\n");
    std::vector<std::string> argv{BatonBinary().string(),
                                  "worker",
                                  "--web",
                                  web_.url(),
                                  "--name",
                                  name,
                                  "--work-dir",
                                  (files_ / name).string(),
                                  "--key",
                                  key_file.string()};
    ProcessOptions options;
    options.timeout = std::chrono::minutes(5);
    auto worker = std::make_unique<ChildProcess>(argv, options);
    EXPECT_TRUE(worker->WaitForOutput("registered with", std::chrono::seconds(60)))
        << worker->out() << worker->err();
    return worker;
  }

  void SetPipeline(const std::string& yaml) {
    WriteFile(files_ / "p.yml", yaml);
    CliResult set = web_.Cli({"set-pipeline", "-n", "-p", "p", "-c", (files_ / "p.yml").string()});
    ASSERT_EQ(set.exit_code, 0) << set.All();
  }

  int64_t Trigger() {
    ApiReply reply = web_.Api("POST", "/api/v1/teams/main/pipelines/p/jobs/j/builds");
    EXPECT_EQ(reply.status, 201) << reply.text;
    return reply.json.is_object() ? reply.json.value("id", int64_t{-1}) : -1;
  }

  std::string WorkerState(const std::string& name) const {
    json list = web_.Get("/api/v1/workers");
    if (list.is_array()) {
      for (const auto& w : list) {
        if (w.value("name", "") == name) return w.value("state", "");
      }
    }
    return "";
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

  TempDir keys_;
  TempDir files_;
  ServerProcess web_{WebArgs(keys_), "web"};
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
