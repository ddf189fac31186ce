// StepThreads: a step's thread serves the next step; parallel steps get threads of their own.
#include "baton/workers/step_threads.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <memory>

#include <gtest/gtest.h>

#include "workers/task_test_util.h"

namespace baton::testing {
namespace {

using namespace std::chrono_literals;
using workers::StepThreads;

// The kernel's id of the calling thread: unlike std::thread::id (an address glibc hands to the
// next thread it makes), not given again soon to another thread.
long KernelThreadId() { return syscall(SYS_gettid); }

long RunAndGetThread(StepThreads& threads) {
  auto tid = std::make_shared<std::promise<long>>();
  auto got = tid->get_future();
  EXPECT_TRUE(threads.Run([tid] { tid->set_value(KernelThreadId()); }));
  return got.wait_for(10s) == std::future_status::ready ? got.get() : -1;
}

TEST(StepThreads, AStepRunsOnTheThreadThePreviousStepRanOn) {
  StepThreads threads(4, 10s);
  long first = RunAndGetThread(threads);
  ASSERT_GT(first, 0);
  ASSERT_NE(first, KernelThreadId());
  ASSERT_TRUE(Eventually([&] { return threads.idle() == 1; }));  // back to waiting
  EXPECT_EQ(RunAndGetThread(threads), first);
  EXPECT_EQ(threads.threads(), 1u);
}

TEST(StepThreads, StepsThatRunTogetherEachGetAThread) {
  StepThreads threads(4, 10s);
  // Neither step can finish before the other has started: on one thread this never ends.
  auto a_started = std::make_shared<std::promise<void>>();
  auto b_started = std::make_shared<std::promise<void>>();
  std::shared_future<void> a = a_started->get_future().share();
  std::shared_future<void> b = b_started->get_future().share();
  std::atomic<int> finished{0};
  ASSERT_TRUE(threads.Run([&, a_started, b] {
    a_started->set_value();
    if (b.wait_for(10s) == std::future_status::ready) ++finished;
  }));
  ASSERT_TRUE(threads.Run([&, b_started, a] {
    b_started->set_value();
    if (a.wait_for(10s) == std::future_status::ready) ++finished;
  }));
  EXPECT_TRUE(Eventually([&] { return finished == 2; }));
}

TEST(StepThreads, AnIdleThreadEndsAfterItsTimeout) {
  StepThreads threads(4, 50ms);
  ASSERT_GT(RunAndGetThread(threads), 0);
  EXPECT_TRUE(Eventually([&] { return threads.threads() == 0; }));
  EXPECT_GT(RunAndGetThread(threads), 0) << "a step after that gets a new thread";
}

TEST(StepThreads, TheDestructorWaitsForTheRunningStep) {
  std::atomic<bool> done{false};
  auto started = std::make_shared<std::promise<void>>();
  auto running = started->get_future();
  {
    StepThreads threads(4, 10s);
    ASSERT_TRUE(threads.Run([&, started] {
      started->set_value();
      std::this_thread::sleep_for(100ms);  // the work the destructor must wait for
      done = true;
    }));
    running.wait();
  }
  EXPECT_TRUE(done);
}

}  // namespace
}  // namespace baton::testing
