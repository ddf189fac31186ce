// ScriptedWorker: a fake Worker for the build engine's tests. Results are scripted per task
// (by TaskRun::id, TaskRun::path or a predicate) and per resource (by ResourceRun::id or type);
// every TaskRun / ResourceRun it receives is recorded, in order.
//
// Like a real worker, each step completes on its own thread (never inside RunTask/RunResource),
// so the engine's "post to my loop" path is exercised. A script may `hold` the step until the
// test calls Release() or the engine calls Cancel() — for abort, timeout and in-flight tests.
// Scripts registered for the same key are used in order; the last one repeats (attempts:).
//
// Thread-safety: all methods are thread-safe. The destructor releases held steps (as
// cancelled) and joins every step thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "baton/workers/worker.h"

namespace baton::testing {

struct ScriptedLine {
  workers::OutputStream stream = workers::OutputStream::kStdout;
  std::string text;
};

// A task result with exit code `code` and no error.
inline workers::TaskResult ExitResult(int code) {
  workers::TaskResult r;
  r.exit_code = code;
  return r;
}

struct TaskScript {
  workers::TaskResult result = ExitResult(0);
  std::vector<ScriptedLine> lines;  // written to the sink before completing
  bool hold = false;                // wait for Release(id) or Cancel() before completing
  // Result when cancelled while held (default: killed by SIGTERM, exit 143).
  workers::TaskResult cancelled_result = ExitResult(143);
  // Optional: computes the result instead of `result` (runs on the step's thread).
  std::function<workers::TaskResult(const workers::TaskRun&, workers::OutputSink&)> handler;
};

struct ResourceScript {
  // Default: check -> no versions; get -> run.version; put -> {"ref":"put-<id>"}.
  std::optional<workers::ResourceResult> result;
  std::vector<ScriptedLine> lines;
  bool hold = false;
  std::function<workers::ResourceResult(const workers::ResourceRun&, workers::OutputSink&)> handler;
};

class ScriptedWorker : public workers::Worker {
 public:
  explicit ScriptedWorker(std::string name = "scripted",
                          workers::IsolationLevel isolation = workers::IsolationLevel::kNamespaces);
  ~ScriptedWorker() override;

  // Scripts the next task whose id equals `key`, else whose path equals `key`.
  void OnTask(const std::string& key, TaskScript script);
  // Scripts tasks matching `match` (checked after id/path keys, in registration order).
  void OnTaskMatching(std::function<bool(const workers::TaskRun&)> match, TaskScript script);
  // Scripts resource runs whose id equals `key`, else whose type equals `key`.
  void OnResource(const std::string& key, ResourceScript script);
  // Tasks with no script exit 0 with no output.

  // Completes a held step (task or resource) with id `id`. Returns false if none is held.
  bool Release(const std::string& id);

  // Everything received so far, in arrival order.
  std::vector<workers::TaskRun> task_runs() const;
  std::vector<workers::ResourceRun> resource_runs() const;
  // Ids of steps whose handle's Cancel() was called, in order.
  std::vector<std::string> cancelled() const;
  // Number of steps started whose callback has not been invoked yet.
  int in_flight() const;

  // Blocks until at least `n` tasks (or resource runs) were received, or the timeout passes.
  bool WaitForTasks(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  bool WaitForResources(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Blocks until no step is in flight, or the timeout passes.
  bool WaitIdle(std::chrono::milliseconds timeout = std::chrono::seconds(5));

  std::string name() const override { return name_; }
  workers::IsolationLevel isolation() const override { return isolation_; }
  std::unique_ptr<workers::StepHandle> RunTask(
      const workers::TaskRun& run, std::shared_ptr<workers::OutputSink> output,
      std::function<void(workers::TaskResult)> done) override;
  std::unique_ptr<workers::StepHandle> RunResource(
      const workers::ResourceRun& run, std::shared_ptr<workers::OutputSink> output,
      std::function<void(workers::ResourceResult)> done) override;

 private:
  struct Gate;  // per held step: released / cancelled flags
  class Handle;

  TaskScript TakeTaskScript(const workers::TaskRun& run);
  ResourceScript TakeResourceScript(const workers::ResourceRun& run);
  std::shared_ptr<Gate> NewGate(const std::string& id, bool hold);
  void StartThread(std::function<void()> body);
  void FinishStep();

  const std::string name_;
  const workers::IsolationLevel isolation_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, std::deque<TaskScript>> task_scripts_;
  std::vector<std::pair<std::function<bool(const workers::TaskRun&)>, std::deque<TaskScript>>>
      task_matchers_;
  std::map<std::string, std::deque<ResourceScript>> resource_scripts_;
  std::vector<workers::TaskRun> task_runs_;
  std::vector<workers::ResourceRun> resource_runs_;
  std::vector<std::string> cancelled_;
  std::map<std::string, std::shared_ptr<Gate>> gates_;
  std::vector<std::thread> threads_;
  int in_flight_ = 0;
};

}  // namespace baton::testing
