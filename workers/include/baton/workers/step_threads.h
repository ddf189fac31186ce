// StepThreads: the threads a LocalWorker runs its steps on. A step goes to a thread that waits
// for one when there is such a thread, else to a new thread; a thread whose step is done waits up
// to `idle_timeout` for the next one, and at most `max_idle` threads wait at once. A thread made
// and ended per step put a clone3, the new thread's setup and exit and a join on each step's start
// (glibc reuses the stacks: no mmap or munmap either way).
//
// Thread-safe. The destructor refuses new steps, waits for the running ones (it cancels
// nothing) and for every thread to end; it must not run on one of these threads.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

namespace baton::workers {

class StepThreads {
 public:
  StepThreads(size_t max_idle, std::chrono::milliseconds idle_timeout);
  ~StepThreads();
  StepThreads(const StepThreads&) = delete;
  StepThreads& operator=(const StepThreads&) = delete;

  // Runs `step` on one of the threads, never on the caller's. False (and `step` not run) once
  // the destructor has begun, or if no thread can be made.
  bool Run(std::function<void()> step);
  // Threads alive now: running a step or waiting for one.
  size_t threads() const;
  // Threads waiting for a step now.
  size_t idle() const;

 private:
  void Serve();

  const size_t max_idle_;
  const std::chrono::milliseconds idle_timeout_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;          // waiting threads: a step or the end
  std::condition_variable ended_cv_;         // the destructor: the last thread ended
  std::deque<std::function<void()>> steps_;  // GUARDED_BY(mu_) not yet taken by a thread
  size_t idle_ = 0;                          // GUARDED_BY(mu_) threads waiting for a step
  size_t alive_ = 0;                         // GUARDED_BY(mu_)
  bool stopping_ = false;                    // GUARDED_BY(mu_)
};

}  // namespace baton::workers
