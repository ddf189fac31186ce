// How many tasks a worker runs at once: a task past the limit waits for one to end (or for its
// cancel) before its sandbox is made. `baton run --parallel N` holds N tasks at once while up to
// 2N builds are under way, so the next task's inputs are fetched while others run, as `make -jN`
// holds N recipes while make itself works out what comes next.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>

namespace baton::workers {

class TaskSlots {
 public:
  explicit TaskSlots(int limit) : limit_(limit) {}

  // Waits for a free slot and takes it (true), or returns false once `cancelled` is set (Wake()
  // after setting it). A limit of 0 or less takes a slot at once.
  bool Acquire(const std::atomic<bool>& cancelled) {
    std::unique_lock lock(mu_);
    freed_.wait(lock, [&] { return cancelled.load() || limit_ <= 0 || held_ < limit_; });
    if (cancelled.load()) return false;
    ++held_;
    return true;
  }
  void Release() {
    {
      std::lock_guard lock(mu_);
      --held_;
    }
    freed_.notify_all();
  }
  // A waiter's `cancelled` was set: let it see that.
  void Wake() {
    { std::lock_guard lock(mu_); }
    freed_.notify_all();
  }

 private:
  const int limit_;
  std::mutex mu_;
  std::condition_variable freed_;
  int held_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace baton::workers
