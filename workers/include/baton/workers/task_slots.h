// How many tasks a worker runs at once: a task past the limit waits for one to end (or for its
// cancel) before its sandbox is made. `baton run --parallel N` holds N tasks at once while up to
// 2N builds are under way, so the next task's inputs are fetched while others run, as `make -jN`
// holds N recipes while make itself works out what comes next.
#pragma once

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <utility>

namespace baton::workers {

class TaskSlots {
 public:
  explicit TaskSlots(int limit) : limit_(limit) {}

  // A slot taken: freed when destroyed (even if the task's run throws). Empty: none was taken.
  class Slot {
   public:
    Slot() = default;
    explicit Slot(TaskSlots* slots) : slots_(slots) {}
    Slot(Slot&& o) noexcept : slots_(std::exchange(o.slots_, nullptr)) {}
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
      if (slots_) slots_->Release();
    }
    explicit operator bool() const { return slots_ != nullptr; }

   private:
    TaskSlots* slots_ = nullptr;
  };

  // Waits for a free slot and takes it, or returns an empty Slot once `cancelled` is set (Wake()
  // after setting it). A limit of 0 or less takes a slot at once.
  Slot Acquire(const std::atomic<bool>& cancelled) {
    std::unique_lock lock(mu_);
    freed_.wait(lock, [&] { return cancelled.load() || limit_ <= 0 || held_ < limit_; });
    if (cancelled.load()) return Slot();
    ++held_;
    return Slot(this);
  }
  // A waiter's `cancelled` was set: let it see that.
  void Wake() {
    { std::lock_guard lock(mu_); }
    freed_.notify_all();
  }

 private:
  void Release() {
    {
      std::lock_guard lock(mu_);
      --held_;
    }
    freed_.notify_all();
  }

  const int limit_;
  std::mutex mu_;
  std::condition_variable freed_;
  int held_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace baton::workers
