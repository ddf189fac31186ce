// LocalWorker: the in-process Worker. Runs each task in a NamespaceSandbox (with cgroup limits
// where the kernel allows; groups emptied by one task serve the next, see CgroupPool) and each
// resource action through its resource type, every step on a thread of StepThreads (a step's
// thread serves later steps); completion callbacks run on those threads.
//
// At construction it builds one sandbox (its user namespace, ~1 ms) and starts probing it, on a
// thread of its own, to find out whether it can isolate tasks here; tasks, isolation() and
// refusal_reason() wait for that answer. If it cannot (not root, no namespaces) and
// `unsafe_no_sandbox` is off, it refuses every task with an error saying why and naming
// --unsafe-no-sandbox. With `unsafe_no_sandbox`, tasks run with plain fork/exec in a process group,
// and the worker says so loudly (log and each task's output).
//
// Thread-safety: all methods may be called from any thread. The destructor cancels running steps
// (SIGKILL) and waits for their threads; it must not be called from a completion callback.
#pragma once

#include <chrono>
#include <cstdint>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "baton/common/clock.h"
#include "baton/workers/cgroups.h"
#include "baton/workers/http_transport.h"
#include "baton/workers/sandbox.h"
#include "baton/workers/step_threads.h"
#include "baton/workers/worker.h"

namespace baton::workers {

class ArtifactStore;
class ImageCache;

struct LocalWorkerOptions {
  std::string name = "local";
  // The worker's own directory: task caches (caches/), resource caches (resources/), sandbox
  // mount points (sandbox/) and scratch work dirs. Created if missing. Hidden inside sandboxes.
  std::string data_dir;
  bool unsafe_no_sandbox = false;
  int64_t default_max_pids = 1024;  // pids.max when a task sets no limit
  // More host directories to hide from tasks (e.g. the server's data dir with other builds).
  std::vector<std::string> hidden_paths;
  // Host ids that unprivileged tasks' ids 0..userns_size-1 map to (see SandboxOptions).
  uint32_t userns_host_id = 100000;
  uint32_t userns_size = 65536;
  bool idmapped_mounts = true;       // false: chown writable volumes to the mapped root instead
  bool writable_image_roots = true;  // false: images read-only (see SandboxOptions)
  // Start making task networks as the worker starts (Sandbox::PrepareNetworks) instead of at its
  // first networked task: for a worker about to run a pipeline (`baton run`, the server's).
  bool prepare_networks = false;
  size_t networks_ahead = 1;           // see SandboxOptions
  bool spare_sandboxes = true;         // see SandboxOptions
  const Clock* clock = nullptr;        // RealClock() when null
  ArtifactStore* artifacts = nullptr;  // for the `artifact` resource type; may be null
  // HTTP(S) for built-in resource types that need it (`cf`); may be empty (they then error).
  HttpTransportFactory http_transport;
  // The image cache (<data_dir>/images) is collected after each step that used it: images
  // unused for longer than `image_cache_max_age` (0: kept at any age), then the least recently
  // used until all fit in `image_cache_max_bytes` (0: no limit). Images a running step uses, or
  // used in the last 10 minutes, are never removed.
  std::chrono::seconds image_cache_max_age{7 * 24 * 3600};
  uint64_t image_cache_max_bytes = 0;
  // Tasks (sandboxes) run at once; a task past it waits for one to end. 0: no limit.
  int max_tasks = 0;
};

class TaskSlots;

class LocalWorker : public Worker {
 public:
  explicit LocalWorker(LocalWorkerOptions options);
  ~LocalWorker() override;
  LocalWorker(const LocalWorker&) = delete;
  LocalWorker& operator=(const LocalWorker&) = delete;

  std::string name() const override { return options_.name; }
  // kNamespaces when tasks run sandboxed; kNone when unsafe or when tasks are refused.
  IsolationLevel isolation() const override;
  // Empty when tasks can run; otherwise why they are refused. Waits for the sandbox's probe.
  const std::string& refusal_reason() const {
    AwaitSandbox();
    return refusal_;
  }
  // refusal_reason() once the probe has answered (or when there was none to run); nullptr while
  // it is still probing. Does not wait.
  const std::string* known_refusal() const;
  const CgroupSupport& cgroups() const { return cgroups_; }

  // A persistent directory for the task cache `cache_path` of `key` (e.g. "pipeline/job/task"),
  // under <data_dir>/caches; created if missing. The same arguments give the same directory in
  // every build, so the engine can mount it into the task's work dir.
  std::string CacheDir(const std::string& key, const std::string& cache_path) const;

  // No step will run any more: lets go of the sandbox's task networks without waiting (see
  // Sandbox::StopNetworks), so that the worker's end finds their stacks gone.
  void StopNetworks();

  std::unique_ptr<StepHandle> RunTask(const TaskRun& run, std::shared_ptr<OutputSink> output,
                                      std::function<void(TaskResult)> done) override;
  std::unique_ptr<StepHandle> RunResource(const ResourceRun& run,
                                          std::shared_ptr<OutputSink> output,
                                          std::function<void(ResourceResult)> done) override;

 private:
  class Execution;  // one step: its cancellation state and the supervisor currently running

  // A registry image's root from the image cache (pulled into it first when absent).
  Result<RootfsSpec> CachedImage(const Json& source, const std::string& digest,
                                 const std::shared_ptr<OutputSink>& output, Execution& owner,
                                 const std::string& what);
  Result<RootfsSpec> PullTypeImage(const ResourceRun& run,
                                   const std::shared_ptr<OutputSink>& output, Execution& owner);
  // Runs `run` on the calling thread; `owner` can cancel it meanwhile.
  TaskResult RunTaskHere(const TaskRun& run, const std::shared_ptr<OutputSink>& output,
                         Execution& owner);
  ResourceResult RunResourceHere(const ResourceRun& run, const std::shared_ptr<OutputSink>& output,
                                 Execution& owner);
  // Runs `body` on a step thread; false if the worker is shutting down.
  bool Launch(std::shared_ptr<Execution> execution, std::function<void()> body);
  void NoteCgroupFailure(const Status& status);
  // Refuses tasks at once without root; else builds the sandbox and starts CheckSandbox on a
  // thread of its own.
  void StartSandbox();
  // Runs on the thread checking_ waits for: probes `sandbox`; sets sandbox_ or refusal_.
  void CheckSandbox(std::unique_ptr<Sandbox> sandbox);
  void Refuse(const std::string& why);  // sets refusal_ and logs it
  // Waits until the sandbox is built and probed (sandbox_ and refusal_ are final then).
  void AwaitSandbox() const;
  // Collects the image cache per the options' limits, logging what it removed.
  void CollectImages();

  LocalWorkerOptions options_;
  const Clock* clock_;
  // Both written once, before checking_ is ready (or by the constructor); read after AwaitSandbox.
  std::unique_ptr<Sandbox> sandbox_;  // null when tasks are refused
  std::string refusal_;
  std::future<void> checking_;  // invalid when the constructor knew the answer itself
  mutable std::once_flag checked_;
  CgroupSupport cgroups_;
  std::once_flag cgroup_warning_;
  std::unique_ptr<ImageCache> images_;
  std::shared_ptr<TaskSlots> task_slots_;  // options_.max_tasks at once

  std::mutex mu_;
  std::vector<std::shared_ptr<Execution>> running_;  // GUARDED_BY(mu_) steps not yet done
  bool shutting_down_ = false;                       // GUARDED_BY(mu_)

  // The digest last found for each custom type's image (by its source), and when.
  struct TypeDigest {
    std::string digest;
    SteadyTime found;
  };
  std::mutex type_digests_mu_;
  std::map<std::string, TypeDigest> type_digests_;  // GUARDED_BY(type_digests_mu_)
  // The destructor ends these threads (their steps use the members above) before the rest.
  std::unique_ptr<StepThreads> threads_;
};

}  // namespace baton::workers
