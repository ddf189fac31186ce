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

}  // namespace
}  // namespace baton::testing
