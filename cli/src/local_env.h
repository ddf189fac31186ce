// What the local commands (`baton run`, `baton execute`) share: the data directory, the local
// worker with its artifact store, and Ctrl-C handling.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "baton/common/status.h"
#include "baton/workers/artifact_store.h"
#include "baton/workers/local_worker.h"

namespace baton::cli {

struct LocalFlags {
  std::string data_dir;  // --data-dir, $BATON_DATA_DIR, ~/.local/share/baton
  bool unsafe_no_sandbox = false;
  std::string task_id_range = "100000:65536";  // --task-id-range FIRST:COUNT
  std::vector<std::string> mask_paths;         // --mask-path PATH (repeatable)
  std::string log_level = "warn";
  std::string image_cache_max_age = "168h";  // --image-cache-max-age, a duration; 0 = none
  uint64_t image_cache_max_size = 0;         // --image-cache-max-size, bytes; 0 = none

  void AddTo(CLI::App* cmd);
  // The image cache's limits (AddTo adds them; `baton worker` adds them itself).
  void AddImageCacheFlags(CLI::App* cmd);
  std::string ResolvedDataDir() const;
};

struct LocalWorkerEnv {
  std::unique_ptr<workers::ArtifactStore> artifacts;
  std::unique_ptr<workers::LocalWorker> worker;
};

// Makes `data_dir` if it is missing, private to its owner (0700: it holds every build's history,
// artifacts, caches and the admin token); one the user made keeps its mode. Every local command
// calls it first, before the store or the worker writes there.
Status PrepareDataDir(const std::string& data_dir);

// How StartLocalWorker starts the worker.
struct LocalWorkerStart {
  // False: return while the worker's sandbox is still being probed (a few ms); the caller asks
  // WorkerRefusal before it runs anything.
  bool await_sandbox = true;
  size_t networks_ahead = 1;  // see SandboxOptions (0 for one pipeline's run)
  // Make the first task network as the worker starts (SandboxOptions::prepare_networks): false
  // when no task will need one (`baton run` of a pipeline whose tasks are all hermetic).
  bool prepare_networks = true;
  // Make the artifact store's directories when a step first uses it, not at the start (most
  // pipelines have no `artifact` resource); a failure to make them then fails that step.
  bool artifacts_on_first_use = false;
  int max_tasks = 0;  // tasks at once on the worker (0: no limit)
};

// Opens the artifact store and starts the local worker under `data_dir`, which PrepareDataDir
// made. Fails (with the worker's reason) when tasks could not run sandboxed and
// --unsafe-no-sandbox was not given. Safe to run beside opening the store: it touches only
// data_dir/worker and data_dir/artifacts.
Result<LocalWorkerEnv> StartLocalWorker(const std::string& data_dir, const LocalFlags& flags,
                                        const LocalWorkerStart& start = {});
// Why the worker refuses tasks (waiting for its sandbox's probe), or OK.
Status WorkerRefusal(const LocalWorkerEnv& env);

// The local worker while StartLocalWorker is still starting it (on another thread): what is given
// this before then (`baton run`'s scheduler, which takes its pipeline from the store meanwhile)
// waits for the worker at its first step only. Thread-safe.
class StartingWorker final : public workers::Worker {
 public:
  explicit StartingWorker(std::future<Result<LocalWorkerEnv>> starting)
      : starting_(std::move(starting)) {}

  // The started worker and its artifact store, or why they did not start; waits the first time.
  Result<LocalWorkerEnv*> Env() const;
  // Called once, from a step's thread, when a task fails because the worker's sandbox probe
  // refused tasks (the run began before it answered). Set before the first step.
  void OnRefusal(std::function<void()> refused) { on_refusal_ = std::move(refused); }

  std::string name() const override;
  workers::IsolationLevel isolation() const override;
  std::unique_ptr<workers::StepHandle> RunTask(
      const workers::TaskRun& run, std::shared_ptr<workers::OutputSink> output,
      std::function<void(workers::TaskResult)> done) override;
  std::unique_ptr<workers::StepHandle> RunResource(
      const workers::ResourceRun& run, std::shared_ptr<workers::OutputSink> output,
      std::function<void(workers::ResourceResult)> done) override;

 private:
  // Before env_: a task the worker's end cancels may still report through them.
  std::function<void()> on_refusal_;
  std::once_flag refused_;
  mutable std::future<Result<LocalWorkerEnv>> starting_;
  mutable std::once_flag started_;
  mutable std::optional<Result<LocalWorkerEnv>> env_;  // written once, under started_
};

// Reads a whole file for a command, with "cannot read FILE: reason" on failure.
Result<std::string> ReadInputFile(const std::string& path);

}  // namespace baton::cli
