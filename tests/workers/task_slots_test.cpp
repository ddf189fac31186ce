// TaskSlots: at most `limit` holders at once; a waiter goes on when a slot is freed (its Slot
// destroyed) or it is cancelled.
#include "baton/workers/task_slots.h"

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace baton::testing {
namespace {

using namespace std::chrono_literals;
using workers::TaskSlots;

TEST(TaskSlots, NoLimitTakesEverySlotAtOnce) {
  TaskSlots slots(0);
  std::atomic<bool> cancelled{false};
  std::vector<TaskSlots::Slot> held;
  for (int i = 0; i < 100; ++i) {
    held.push_back(slots.Acquire(cancelled));
    EXPECT_TRUE(held.back());
  }
}

TEST(TaskSlots, AHolderPastTheLimitWaitsForAFreedSlot) {
  TaskSlots slots(2);
  std::atomic<bool> cancelled{false};
  std::optional<TaskSlots::Slot> first(slots.Acquire(cancelled));
  ASSERT_TRUE(*first);
  TaskSlots::Slot second = slots.Acquire(cancelled);
  ASSERT_TRUE(second);
  auto third =
      std::async(std::launch::async, [&] { return static_cast<bool>(slots.Acquire(cancelled)); });
  EXPECT_EQ(third.wait_for(100ms), std::future_status::timeout);  // both slots held
  first.reset();                                                  // its slot freed
  ASSERT_EQ(third.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(third.get());
}

TEST(TaskSlots, ACancelledWaiterGoesOnWithoutASlot) {
  TaskSlots slots(1);
  std::atomic<bool> mine{false}, theirs{false};
  std::optional<TaskSlots::Slot> held(slots.Acquire(mine));
  ASSERT_TRUE(*held);
  auto waiter =
      std::async(std::launch::async, [&] { return static_cast<bool>(slots.Acquire(theirs)); });
  EXPECT_EQ(waiter.wait_for(100ms), std::future_status::timeout);
  theirs = true;
  slots.Wake();
  ASSERT_EQ(waiter.wait_for(10s), std::future_status::ready);
  EXPECT_FALSE(waiter.get());
  // It took no slot: once the holder is done, the next one gets the only slot at once.
  held.reset();
  std::atomic<bool> next{false};
  EXPECT_TRUE(slots.Acquire(next));
}

TEST(TaskSlots, NeverMoreHoldersThanTheLimit) {
  TaskSlots slots(3);
  std::atomic<int> holding{0}, most{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      std::atomic<bool> cancelled{false};
      for (int i = 0; i < 200; ++i) {
        TaskSlots::Slot slot = slots.Acquire(cancelled);
        ASSERT_TRUE(slot);
        int now = ++holding;
        int seen = most.load();
        while (now > seen && !most.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::yield();
        --holding;  // the slot is freed at the end of the iteration
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(most.load(), 3);
  EXPECT_GE(most.load(), 1);
}

}  // namespace
}  // namespace baton::testing
