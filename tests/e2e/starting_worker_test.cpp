// StartingWorker (cli/src/local_env.h): `baton run`'s scheduler is given the local worker while
// it is still starting, so that it takes its pipeline meanwhile; a step waits for the start.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "fakes/test_env.h"
#include "local_env.h"
#include "workers/task_test_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;

// A step asked for before the worker has started waits for it, then runs on it.
TEST(StartingWorker, AStepAskedForBeforeTheStartRunsOnceTheWorkerIsThere) {
  TempDir dir;
  std::promise<Result<cli::LocalWorkerEnv>> started;
  cli::StartingWorker worker(started.get_future());
  std::thread starter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    cli::LocalFlags flags;
    flags.unsafe_no_sandbox = true;  // the step's place, not its sandbox, is under test
    started.set_value(cli::StartLocalWorker((dir / "data").string(), flags));
  });
  auto t0 = std::chrono::steady_clock::now();
  auto f = RunAndWait(worker, ShellTask("early", "echo ran > ran", dir.path().string()));
  starter.join();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(50))
      << "the step waited for the worker";
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_EQ(f.result.exit_code, 0);
  EXPECT_TRUE(fs::exists(dir / "ran"));
  auto env = worker.Env();
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(worker.name(), (*env)->worker->name());
}

// A worker that could not start fails every step with its reason, and runs nothing.
TEST(StartingWorker, AWorkerThatDidNotStartFailsEachStepWithItsReason) {
  TempDir dir;
  std::promise<Result<cli::LocalWorkerEnv>> started;
  started.set_value(InvalidArgument("--task-id-range 'x' is not FIRST:COUNT"));
  cli::StartingWorker worker(started.get_future());
  auto f = RunAndWait(worker, ShellTask("never", "echo ran > ran", dir.path().string()));
  EXPECT_EQ(f.result.error.message(), "--task-id-range 'x' is not FIRST:COUNT");
  workers::ResourceRun check;
  std::promise<workers::ResourceResult> checked;
  auto handle =
      worker.RunResource(check, nullptr, [&](workers::ResourceResult r) { checked.set_value(r); });
  ASSERT_NE(handle, nullptr);
  handle->Cancel();  // nothing to cancel
  EXPECT_EQ(checked.get_future().get().error.message(), "--task-id-range 'x' is not FIRST:COUNT");
  EXPECT_FALSE(worker.Env().ok());
  EXPECT_EQ(worker.isolation(), workers::IsolationLevel::kNone);
  EXPECT_FALSE(fs::exists(dir / "ran"));
}

// `baton run` begins before the worker's sandbox probe has answered; a task the probe then
// refuses fails with the worker's reason, runs nothing, and OnRefusal (the run's end) is called
// once however many tasks were refused.
TEST(StartingWorker, TasksRefusedByTheProbeCallOnRefusalOnceAndRunNothing) {
  TempDir dir;
  workers::LocalWorkerOptions options;
  options.data_dir = (dir / "w").string();
  options.userns_host_id = 0;  // no user namespace for it: the probe refuses unprivileged tasks
  cli::LocalWorkerEnv env;
  env.worker = std::make_unique<workers::LocalWorker>(options);
  std::promise<Result<cli::LocalWorkerEnv>> started;
  started.set_value(std::move(env));
  cli::StartingWorker worker(started.get_future());
  int refusals = 0;
  worker.OnRefusal([&] { ++refusals; });
  auto first = RunAndWait(worker, ShellTask("first", "echo ran > ran", dir.path().string()));
  auto second = RunAndWait(worker, ShellTask("second", "echo ran > ran", dir.path().string()));
  auto started_env = worker.Env();
  ASSERT_TRUE(started_env.ok()) << started_env.status().ToString();
  const std::string& why = (*started_env)->worker->refusal_reason();
  ASSERT_FALSE(why.empty());
  EXPECT_EQ(first.result.error.message(), why);
  EXPECT_EQ(second.result.error.message(), why);
  EXPECT_EQ(refusals, 1);
  EXPECT_FALSE(fs::exists(dir / "ran"));
  const std::string* known = (*started_env)->worker->known_refusal();
  ASSERT_NE(known, nullptr) << "the probe has answered";
  EXPECT_EQ(*known, why);
}

// A task that fails for a reason of its own is no refusal.
TEST(StartingWorker, ATaskFailingOnItsOwnIsNoRefusal) {
  TempDir dir;
  std::promise<Result<cli::LocalWorkerEnv>> started;
  cli::LocalFlags flags;
  flags.unsafe_no_sandbox = true;
  started.set_value(cli::StartLocalWorker((dir / "data").string(), flags));
  cli::StartingWorker worker(started.get_future());
  int refusals = 0;
  worker.OnRefusal([&] { ++refusals; });
  workers::TaskRun run = ShellTask("missing", "true", dir.path().string());
  run.path = (dir / "no-such-program").string();
  auto f = RunAndWait(worker, run);
  EXPECT_FALSE(f.result.error.ok()) << "exit " << f.result.exit_code;
  EXPECT_EQ(refusals, 0);
  auto env = worker.Env();
  ASSERT_TRUE(env.ok());
  const std::string* known = (*env)->worker->known_refusal();
  ASSERT_NE(known, nullptr) << "no probe to wait for without a sandbox";
  EXPECT_TRUE(known->empty());
}

}  // namespace
}  // namespace baton::testing
