// BuildEngine: walks one build's plan with Concourse's semantics and decides what happens next.
//
// Pure (CONVENTIONS.md rule 13): events in, actions out; no I/O, threads or clock reads. The
// caller (BuildExecutor, or a test) calls Start(), then reports each action's result with
// OnActionFinished(), each timer with OnTimerFired(), and a user abort with Abort(). Every call
// returns the actions to carry out, in order. The last action of a build is BuildFinished.
//
// Semantics (Concourse's atc/exec): modifiers wrap a step from the outside in:
// across -> ensure -> on_error -> on_abort -> on_failure -> on_success -> attempts -> timeout ->
// step. `do` stops at the first step that does not succeed; `in_parallel` runs up to `limit`
// steps at once and with `fail_fast` cancels the rest on the first failure; `try` turns failure
// and error into success (not abort); `attempts` re-runs on failure or error; a timeout cancels
// the step and errors it with "timeout exceeded"; abort cancels running actions, then on_abort
// and ensure hooks run and the build ends aborted.
//
// Thread-compatible: one thread at a time (the runner's loop).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "baton/pipelines/pipeline_config.h"
#include "baton/runner/build_action.h"
#include "baton/runner/build_status.h"

namespace baton::runner {

// Everything the engine needs to know about one build.
struct BuildPlan {
  std::vector<pipelines::Step> steps;
  // Job-level hooks (null when absent).
  std::shared_ptr<pipelines::Step> on_success;
  std::shared_ptr<pipelines::Step> on_failure;
  std::shared_ptr<pipelines::Step> on_error;
  std::shared_ptr<pipelines::Step> on_abort;
  std::shared_ptr<pipelines::Step> ensure;
  // The pipeline's resources and resource types, for get/put steps.
  std::vector<pipelines::Resource> resources;
  std::vector<pipelines::ResourceType> resource_types;
  // Versions chosen by the scheduler, by get step name. A get without an entry uses its pinned
  // `version:`, or else null ("latest": the executor checks first).
  std::map<std::string, Json> input_versions;
  // Artifacts that exist before the build starts, by name (`baton execute -i name=dir`).
  std::map<std::string, std::string> initial_artifacts;
  // The pipeline's var_sources: ((source:var)) refs are resolved as steps start, and the
  // values used are redacted. `pipeline_file` names the file in error messages.
  std::vector<pipelines::VarSource> var_sources;
  std::string pipeline_file;

  // The plan and hooks of `job` in `pipeline`.
  static BuildPlan ForJob(const pipelines::PipelineConfig& pipeline, const pipelines::Job& job);
  // A one-off build of a single task (`baton execute`): the task named `name`, with `inputs`
  // (name -> host dir) as initial artifacts.
  static BuildPlan ForTask(const std::string& name, pipelines::TaskConfig config,
                           std::map<std::string, std::string> inputs);
};

class BuildEngine {
 public:
  explicit BuildEngine(BuildPlan plan);
  ~BuildEngine();
  BuildEngine(const BuildEngine&) = delete;
  BuildEngine& operator=(const BuildEngine&) = delete;

  // Begins the build. REQUIRES: called once, first.
  std::vector<BuildAction> Start();
  // Reports what became of an action returned earlier. Unknown or stale ids are ignored.
  std::vector<BuildAction> OnActionFinished(ActionId id, const ActionResult& result);
  // Reports that a StartTimer's duration has passed. Cancelled or unknown timers are ignored.
  std::vector<BuildAction> OnTimerFired(TimerId id);
  // The user aborts the build. Idempotent.
  std::vector<BuildAction> Abort();

  BuildStatus status() const;
  bool finished() const { return IsFinished(status()); }
  // The build's artifacts so far, by name (for `baton execute -o name=dir`).
  std::map<std::string, Volume> artifacts() const;
  // Actions started and not yet reported.
  size_t running_actions() const;
  // The pipeline's resource types, with var-source vars resolved once Start() has run. Get and
  // put actions name their type; a custom type may be built on another (a chain).
  const std::vector<pipelines::ResourceType>& resource_types() const;

  class State;  // internal; public only so the step implementations can name it

 private:
  std::unique_ptr<State> state_;
};

}  // namespace baton::runner
