// BuildExecutor: runs one build: drives a BuildEngine against a workers::Worker on the caller's
// io_context, keeps the build's volumes on disk and reports progress to a BuildObserver.
//
// Volumes live in `<build_root>/volumes/<n>`; task work dirs in `<build_root>/work/<n>`. Tasks
// get BUILD_ID, BUILD_NAME, BUILD_JOB_NAME, BUILD_PIPELINE_NAME, BUILD_TEAM_NAME and
// ATC_EXTERNAL_URL, then the task's params (non-strings as JSON). Task images: none or
// `mock` with `mirror_self` -> the host's root; `rootfs` with `source.path` -> that directory;
// an `image:` artifact, or an `image_resource` of any other type (registry-image included,
// fetched first) -> its `rootfs/` directory (or the host for a mirror_self mock), with its
// metadata.json `env` (before the params) and `user` (unless run.user). Values loaded by load_var
// without `reveal: true` are replaced by "((redacted))" in every log line.
//
// Thread-safety: construct, Start() and read status() on the io_context's thread; Abort() may
// be called from any thread. Worker callbacks are posted to the io_context. The executor may be
// destroyed once finished() (late worker callbacks are then dropped safely).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "baton/common/clock.h"
#include "baton/common/status.h"
#include "baton/runner/build_action.h"
#include "baton/runner/build_engine.h"
#include "baton/runner/build_observer.h"
#include "baton/runner/resource_caches.h"
#include "baton/runner/spare_directories.h"
#include "baton/workers/worker.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace baton::runner {

// Who this build is, for the task environment and resource scripts.
struct BuildMetadata {
  std::string id;        // BUILD_ID
  std::string name;      // BUILD_NAME (the build number)
  std::string job;       // BUILD_JOB_NAME ("" for one-off builds)
  std::string pipeline;  // BUILD_PIPELINE_NAME
  std::string team = "main";
  std::string external_url;  // ATC_EXTERNAL_URL
};

struct BuildExecutorOptions {
  std::string build_root;  // REQUIRES: set; created if missing
  BuildMetadata metadata;
  // The job's `interruptible`: a worker that lands or retires stops this build's steps instead of
  // waiting for them (workers::WorkerSpec::interruptible).
  bool interruptible = false;
  const Clock* clock = nullptr;  // null = the real clock
  // Host directory for a task cache; empty = `<build_root>/caches/<step>/<path>` (per build).
  std::function<std::string(const StepInfo& step, const std::string& cache_path)> cache_dir;
  // Handles set_pipeline; empty = the step errors "set_pipeline is not supported in a local run".
  std::function<Status(const SetPipeline& step, const std::string& file_path)> set_pipeline;
  Duration cancel_grace = std::chrono::seconds(10);
  // Called once on the io_context thread when the build has finished.
  std::function<void(BuildStatus)> on_finished;
  // Keeps `<build_root>/journal.jsonl`: every result, timer and abort the engine is given, in
  // order, so that a web node that restarts can resume the build (below).
  bool journal = false;
  // Start() resumes a build that a web node was running when it stopped, from its journal: a new
  // engine is given the recorded results in their order (nothing of that is recorded or run
  // again), then the actions still open are carried out: a step a worker still runs is adopted
  // by the worker by its id (RemoteWorkers), one that never started starts now. Timers
  // (`timeout:`) start again from now. A journal that does not fit the plan (the pipeline
  // changed) errors the build. REQUIRES: journal.
  bool resume = false;
  // Where the build's directories come from when it has some (a spare is renamed into place
  // instead of made); null: each is made. Borrowed: must outlive the executor.
  SpareDirectories* spare_dirs = nullptr;
  // Fetches kept for later gets of the same version (resource_caches.h): a get of a version
  // found there runs nothing, and its artifact is copied into the build only for a step that
  // uses it. null: every get fetches. Borrowed: must outlive the executor.
  ResourceCaches* resource_caches = nullptr;
};

class BuildExecutor {
 public:
  BuildExecutor(boost::asio::io_context& io, workers::Worker& worker, BuildObserver& observer,
                BuildPlan plan, BuildExecutorOptions options);
  ~BuildExecutor();
  BuildExecutor(const BuildExecutor&) = delete;
  BuildExecutor& operator=(const BuildExecutor&) = delete;

  // Begins the build; returns at once (the work happens as the io_context runs).
  void Start();
  // Asks the build to stop (running steps are cancelled, then on_abort/ensure hooks run).
  void Abort();

  BuildStatus status() const;
  bool finished() const { return IsFinished(status()); }
  // Host directory of an artifact, by name (for `baton execute -o name=dir`).
  std::optional<std::string> ArtifactPath(const std::string& name) const;

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace baton::runner
