// End to end: a web node killed with SIGKILL while a `baton worker` runs a task, then started
// again on the same data dir and port. The worker keeps the task running while the web node is
// away, registers again reporting the steps it holds, and delivers their output and result.
//
// The task waits for a file in its own work directory (the sandbox has a private /tmp and no
// path to the host's loopback): the test finds the directory on the worker by a marker the
// task writes there.
#include <gtest/gtest.h>

#include <thread>

#include "e2e/worker_cluster.h"
#include "fakes/e2e_util.h"
#include "fakes/git_fixture.h"
#include "fakes/server_process.h"

namespace baton::testing {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// A task config: `echo <name>-before`, then (a second later: the web node commits its log every
// 50 ms) `touch <name>-waiting`, wait for <name>-go, `echo <name>-after`, run `then`, `touch
// <name>-done`; the files are in the task's work directory.
std::string GatedTask(const std::string& name, const std::string& extra_config = "",
                      const std::string& then = "true") {
  return "    config:\n      platform: linux\n" + extra_config +
         "      run: {path: sh, args: [-c, 'echo " + name + "-before; sleep 1; touch " + name +
         "-waiting; while [ ! -e " + name + "-go ]; do sleep 0.2; done; echo " + name + "-after; " +
         then + "; touch " + name + "-done']}\n";
}

class WorkerWebRestartE2E : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(web_.started()) << web_.log(); }

  std::unique_ptr<ChildProcess> StartWorker(const std::string& name) {
    return cluster_.StartWorker(name);
  }
  void SetPipeline(const std::string& yaml) { cluster_.SetPipeline("p", yaml); }
  int64_t Trigger(const std::string& job) { return cluster_.Trigger("p", job); }

  // The worker's directory holding `file` (a task's work directory), or "" at the deadline.
  fs::path WorkerDirWith(const std::string& worker, const std::string& file) const {
    fs::path root = cluster_.files() / worker / "volumes";
    fs::path found;
    WaitUntil(
        [&] {
          std::error_code ec;
          for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
            if (fs::exists(it->path() / file)) found = it->path();
          }
          return !found.empty();
        },
        std::chrono::seconds(60));
    return found;
  }

  // A fixed port: the restarted web node must be where the worker looks for it.
  WorkerCluster cluster_{
      {"--bind", "127.0.0.1:" + std::to_string(FreeLocalPort()), "--worker-heartbeat", "1s"}};
  ServerProcess& web_ = cluster_.web();
};

TEST_F(WorkerWebRestartE2E, TheWorkerKeepsItsStepRunningAndReportsItWhenItRegistersAgain) {
  auto w1 = StartWorker("w1");
  SetPipeline("jobs:\n- name: j\n  plan:\n  - task: t\n" + GatedTask("t"));
  int64_t id = Trigger("j");
  ASSERT_TRUE(web_.WaitForLogLine(id, "t-before", std::chrono::seconds(90))) << web_.log();
  fs::path work = WorkerDirWith("w1", "t-waiting");
  ASSERT_FALSE(work.empty()) << w1->out();

  web_.Kill(SIGKILL);
  // The task finishes while the web node is away.
  WriteFile(work / "t-go", "");
  ASSERT_TRUE(WaitUntil([&] { return fs::exists(work / "t-done"); }, std::chrono::seconds(60)));
  ASSERT_TRUE(w1->WaitForOutput("lost the web node", std::chrono::seconds(30))) << w1->out();
  ASSERT_TRUE(web_.Start()) << web_.log();

  // It registers again holding the step (its id names the build: b<build>-...).
  std::string holding = "as w1 (still running: b" + std::to_string(id) + "-";
  EXPECT_TRUE(w1->WaitForOutput(holding, std::chrono::seconds(60))) << w1->out() << w1->err();
  EXPECT_FALSE(w1->HasExited()) << w1->out() << w1->err();
}

// A chain: `first` runs a quick task (its result is replayed from the journal after the
// restart, not run again), then the gated task (with an output), then puts the output; `second`
// takes the put's version (passed: [first]) and prints what the gated task wrote.
std::string ChainPipeline() {
  return "resources:\n- name: made\n  type: artifact\n  source: {name: made}\n"
         "jobs:\n- name: first\n  plan:\n"
         "  - task: prep\n    config:\n      platform: linux\n      outputs: [{name: p}]\n"
         "      run: {path: sh, args: [-c, 'echo prep-ran; echo prepared > p/p.txt']}\n"
         "  - task: gated\n" +
         GatedTask("t", "      inputs: [{name: p}]\n      outputs: [{name: o}]\n",
                   "cat p/p.txt > o/file.txt; echo made-after-restart >> o/file.txt") +
         "  - put: made\n    params: {from: o}\n"
         "- name: second\n  plan:\n  - get: made\n    passed: [first]\n    trigger: true\n"
         "  - task: show\n    config:\n      platform: linux\n      inputs: [{name: made}]\n"
         "      run: {path: sh, args: [-c, 'echo second-saw-$(cat made/file.txt | tr \"\\\\n\" \" "
         "\")']}\n";
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The web node is killed while the gated task waits, and started again; the task goes on when
// the web node is back. The build finishes succeeded with the lines from before and after the
// restart, prep ran once, and the next job runs on the put's version.
TEST_F(WorkerWebRestartE2E, ABuildGoesOnAfterTheWebNodeIsKilledAndStartedAgain) {
  auto w1 = StartWorker("w1");
  SetPipeline(ChainPipeline());
  int64_t id = Trigger("first");
  ASSERT_TRUE(web_.WaitForLogLine(id, "t-before", std::chrono::seconds(90))) << web_.log();
  fs::path work = WorkerDirWith("w1", "t-waiting");
  ASSERT_FALSE(work.empty()) << w1->out();

  web_.Kill(SIGKILL);
  ASSERT_TRUE(web_.Start()) << web_.log();
  ASSERT_TRUE(
      w1->WaitForOutput("(still running: b" + std::to_string(id) + "-", std::chrono::seconds(60)))
      << w1->out() << w1->err();
  WriteFile(work / "t-go", "");

  json builds = web_.WaitForFinishedBuilds("p", "first", 1, std::chrono::minutes(2));
  ASSERT_EQ(builds.size(), 1u) << web_.log() << w1->out();
  std::string log = web_.BuildLog(id);
  EXPECT_EQ(builds[0].value("status", ""), "succeeded") << log << web_.log() << w1->out();
  EXPECT_NE(log.find("t-before"), std::string::npos) << log;
  EXPECT_NE(log.find("t-after"), std::string::npos) << log;
  EXPECT_EQ(Count(log, "prep-ran"), 1u) << "prep's result comes from the journal\n" << log;
  EXPECT_NE(log.find("still holds this step"), std::string::npos) << log;

  json second = web_.WaitForFinishedBuilds("p", "second", 1, std::chrono::minutes(2));
  ASSERT_EQ(second.size(), 1u) << web_.log();
  int64_t second_id = second[0].value("id", int64_t{-1});
  std::string second_log = web_.BuildLog(second_id);
  EXPECT_EQ(second[0].value("status", ""), "succeeded") << second_log;
  EXPECT_NE(second_log.find("second-saw-prepared made-after-restart"), std::string::npos)
      << second_log;
}

// The task finishes while the web node is down: its result waits on the worker and reaches the
// build once the web node is back.
TEST_F(WorkerWebRestartE2E, AStepThatFinishesWhileTheWebNodeIsDownIsNotLost) {
  auto w1 = StartWorker("w1");
  SetPipeline("jobs:\n- name: j\n  plan:\n  - task: t\n" + GatedTask("t"));
  int64_t id = Trigger("j");
  ASSERT_TRUE(web_.WaitForLogLine(id, "t-before", std::chrono::seconds(90))) << web_.log();
  fs::path work = WorkerDirWith("w1", "t-waiting");
  ASSERT_FALSE(work.empty()) << w1->out();

  web_.Kill(SIGKILL);
  WriteFile(work / "t-go", "");
  ASSERT_TRUE(WaitUntil([&] { return fs::exists(work / "t-done"); }, std::chrono::seconds(60)));
  ASSERT_TRUE(web_.Start()) << web_.log();

  json builds = web_.WaitForFinishedBuilds("p", "j", 1, std::chrono::minutes(2));
  ASSERT_EQ(builds.size(), 1u) << web_.log() << w1->out();
  std::string log = web_.BuildLog(id);
  EXPECT_EQ(builds[0].value("status", ""), "succeeded") << log << web_.log() << w1->out();
  EXPECT_NE(log.find("t-before"), std::string::npos) << log;
  EXPECT_NE(log.find("t-after"), std::string::npos) << log;
}

}  // namespace
}  // namespace baton::testing
