#include "baton/workers/step_threads.h"

#include <system_error>
#include <thread>

namespace baton::workers {

StepThreads::StepThreads(size_t max_idle, std::chrono::milliseconds idle_timeout)
    : max_idle_(max_idle), idle_timeout_(idle_timeout) {}

StepThreads::~StepThreads() {
  std::unique_lock lock(mu_);
  stopping_ = true;
  work_cv_.notify_all();
  ended_cv_.wait(lock, [&] { return alive_ == 0; });
}

bool StepThreads::Run(std::function<void()> step) {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  steps_.push_back(std::move(step));
  // Each waiting thread takes one step: a new thread only for steps beyond them.
  if (steps_.size() <= idle_) {
    work_cv_.notify_one();
    return true;
  }
  try {
    std::thread(&StepThreads::Serve, this).detach();
  } catch (const std::system_error&) {
    steps_.pop_back();
    return false;
  }
  ++alive_;
  return true;
}

size_t StepThreads::threads() const {
  std::lock_guard lock(mu_);
  return alive_;
}

size_t StepThreads::idle() const {
  std::lock_guard lock(mu_);
  return idle_;
}

void StepThreads::Serve() {
  std::unique_lock lock(mu_);
  for (;;) {
    if (!steps_.empty()) {
      std::function<void()> step = std::move(steps_.front());
      steps_.pop_front();
      lock.unlock();
      step();
      step = nullptr;  // what it holds goes before the next step, off the lock
      lock.lock();
      continue;
    }
    if (stopping_ || idle_ >= max_idle_) break;
    ++idle_;
    bool woken =
        work_cv_.wait_for(lock, idle_timeout_, [&] { return stopping_ || !steps_.empty(); });
    --idle_;
    if (!woken) break;
  }
  // Detached: the destructor waits for this count, and nothing here touches `this` after it.
  if (--alive_ == 0) ended_cv_.notify_all();
}

}  // namespace baton::workers
