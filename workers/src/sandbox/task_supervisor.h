// TaskSupervisor: runs one TaskRun to completion on the calling thread — cgroups, sandbox start,
// stdin/stdout/stderr pumping, cancellation (SIGTERM, then SIGKILL after the grace period) — and
// returns its TaskResult.
//
// Thread-safety: Run() is called once, on the thread that owns the task; Cancel() may be called
// from any thread, before, during or after Run().
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>

#include "baton/common/clock.h"
#include "baton/workers/cgroups.h"
#include "baton/workers/sandbox.h"
#include "baton/workers/worker.h"

namespace baton::workers {

struct SupervisorContext {
  Sandbox* sandbox = nullptr;              // never null
  const CgroupSupport* cgroups = nullptr;  // null: no cgroups (process-group kill only)
  int64_t default_max_pids = 1024;
  const Clock* clock = nullptr;  // never null
  // Called once if this task's cgroups could not be created (the worker logs it once).
  std::function<void(const Status&)> on_cgroup_failure;
};

class TaskSupervisor {
 public:
  TaskSupervisor(SupervisorContext ctx, TaskRun run, std::shared_ptr<OutputSink> sink);
  ~TaskSupervisor();

  TaskResult Run();
  void Cancel(Duration grace);
  // The finished task's cgroups (null: none, or the task did not start). Its processes were
  // killed at its exit; what is left is giving the emptied groups back to the pool or removing
  // them, which the caller may do after reporting the result (the next task need not wait for
  // it). Left here, they go with the supervisor. REQUIRES: Run() has returned.
  std::unique_ptr<TaskCgroup> TakeCgroup() { return std::move(cgroup_); }

 private:
  class Pump;

  Status Start(TaskResult& result);
  Result<std::unique_ptr<TaskCgroup>> MakeCgroup();
  bool cancel_requested() const { return cancel_requested_.load(); }

  SupervisorContext ctx_;
  TaskRun run_;
  std::shared_ptr<OutputSink> sink_;
  int cancel_fd_ = -1;  // eventfd, readable once Cancel() was called
  std::atomic<bool> cancel_requested_{false};
  std::atomic<int64_t> grace_ms_{10000};
  std::unique_ptr<TaskCgroup> cgroup_;  // the finished task's, until taken
};

}  // namespace baton::workers
