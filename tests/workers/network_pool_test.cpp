// Issue 16: tasks waiting for a network (workers/src/sandbox/network_pool.h) wait in line for the
// next one made, and a network whose task has ended goes to a task of its scope waiting longest,
// not to the shelf while that task waits for a new stack. The pool's maker here hands out
// namespaces without stacks (each a descriptor of /dev/null of its own, told apart by its number
// while both are open), each held back until the test lets it go.
#include "sandbox/network_pool.h"

#include <fcntl.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace baton::testing {
namespace {

using namespace std::chrono_literals;
using workers::sandbox::NetworkPool;
using workers::sandbox::ReadyNetwork;

ReadyNetwork Namespace() {
  ReadyNetwork network;
  network.netns = ScopedFd(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  return network;
}

int Id(const ReadyNetwork& network) { return network.netns.get(); }

// The maker: counts its calls and makes each entry only when the test lets it.
class GatedMaker {
 public:
  NetworkPool::Maker Fn() {
    return [this](int) -> Result<ReadyNetwork> {
      std::unique_lock lock(mu_);
      ++calls_;
      changed_.notify_all();
      changed_.wait(lock, [&] { return allowed_ > 0; });
      --allowed_;
      return Namespace();
    };
  }
  // Waits until the maker has been called `n` times (a caller of Take is waiting for it).
  bool CalledAtLeast(int n) {
    std::unique_lock lock(mu_);
    return changed_.wait_for(lock, 10s, [&] { return calls_ >= n; });
  }
  void Allow(int n) {
    std::lock_guard lock(mu_);
    allowed_ += n;
    changed_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  int calls_ = 0;
  int allowed_ = 0;
};

class NetworkPoolLine : public ::testing::Test {
 protected:
  NetworkPoolLine() { pool_.emplace(0, maker_.Fn()); }
  // The maker let go first: the pool's end joins its thread.
  void TearDown() override {
    maker_.Allow(100);
    pool_.reset();
  }
  GatedMaker maker_;
  std::optional<NetworkPool> pool_;
};

TEST_F(NetworkPoolLine, ATaskWaitingGetsANetworkItsScopeReturnsBeforeANewOneIsMade) {
  NetworkPool& pool = *pool_;
  auto waiting = std::async(std::launch::async, [&] { return pool.Take(10s, "main/app"); });
  ASSERT_TRUE(maker_.CalledAtLeast(1));  // it waits: the maker was asked for its network
  ReadyNetwork returned = Namespace();
  const int id = Id(returned);
  std::optional<ReadyNetwork> back = pool.Return("main/app", std::move(returned));
  EXPECT_FALSE(back.has_value()) << "the waiting task of the scope should have taken it";
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
  auto got = waiting.get();
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(Id(*got), id);
  // The one made for it meanwhile serves the next task at once.
  maker_.Allow(1);
  auto next = pool.Take(10s, "main/other");
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  EXPECT_NE(Id(*next), id);
}

TEST_F(NetworkPoolLine, ANetworkOfAnotherScopeIsHandedBackAndTheWaiterGetsTheNextOneMade) {
  NetworkPool& pool = *pool_;
  auto waiting = std::async(std::launch::async, [&] { return pool.Take(10s, "main/app"); });
  ASSERT_TRUE(maker_.CalledAtLeast(1));
  std::optional<ReadyNetwork> back = pool.Return("main/other", Namespace());
  EXPECT_TRUE(back.has_value()) << "a network goes to tasks of its own scope only";
  std::optional<ReadyNetwork> unscoped = pool.Return("", Namespace());
  EXPECT_TRUE(unscoped.has_value()) << "a network without a scope is never passed on";
  EXPECT_EQ(waiting.wait_for(50ms), std::future_status::timeout);
  maker_.Allow(1);
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(waiting.get().ok());
}

TEST_F(NetworkPoolLine, WaitersAreServedInLineOneEntryEach) {
  NetworkPool& pool = *pool_;
  auto first = std::async(std::launch::async, [&] { return pool.Take(10s, "main/app"); });
  ASSERT_TRUE(maker_.CalledAtLeast(1));
  std::this_thread::sleep_for(20ms);  // `first` is in line before `second`
  auto second = std::async(std::launch::async, [&] { return pool.Take(10s, "main/app"); });
  std::this_thread::sleep_for(20ms);
  ReadyNetwork a = Namespace();
  const int id_a = Id(a);
  EXPECT_FALSE(pool.Return("main/app", std::move(a)).has_value());
  ASSERT_EQ(first.wait_for(10s), std::future_status::ready);
  auto got_first = first.get();
  ASSERT_TRUE(got_first.ok());
  EXPECT_EQ(Id(*got_first), id_a) << "the longest waiting gets the first network";
  EXPECT_EQ(second.wait_for(50ms), std::future_status::timeout) << "one entry, one waiter";
  maker_.Allow(1);  // the one being made goes to the one still waiting
  ASSERT_EQ(second.wait_for(10s), std::future_status::ready);
  auto got_second = second.get();
  ASSERT_TRUE(got_second.ok());
  EXPECT_NE(Id(*got_second), id_a);
}

TEST_F(NetworkPoolLine, AStoppedPoolTakesNoNetworkBackAndItsWaitersAreToldWhy) {
  NetworkPool& pool = *pool_;
  auto waiting = std::async(std::launch::async, [&] { return pool.Take(10s, "main/app"); });
  ASSERT_TRUE(maker_.CalledAtLeast(1));
  pool.Stop();
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready);
  auto got = waiting.get();
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().message().find("shutting down"), std::string::npos)
      << got.status().ToString();
  EXPECT_TRUE(pool.Return("main/app", Namespace()).has_value());
}

}  // namespace
}  // namespace baton::testing
