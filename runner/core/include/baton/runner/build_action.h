// What the build engine asks its executor to do, and what the executor reports back.
//
// The engine (build_engine.h) is pure: it never touches files, processes or clocks. Each call
// returns a list of BuildActions, in order; the executor carries them out and feeds the results
// back as ActionResults. Artifacts live in Volumes the engine names and the executor creates.
//
// Values; thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "baton/common/duration.h"
#include "baton/common/metadata_field.h"
#include "baton/pipelines/pipeline_config.h"
#include "baton/pipelines/task_config.h"
#include "baton/runner/build_event.h"

namespace baton::runner {

using ActionId = int64_t;
using TimerId = int64_t;

// A directory holding one artifact. The executor creates `<build_root>/volumes/<id>` for
// engine-made volumes; `host_path` is set for volumes that exist already (the inputs of
// `baton execute -i name=dir`).
struct Volume {
  int id = 0;
  std::string host_path;
};

// Which resource produced an artifact (so a task `image:` artifact can be interpreted).
struct ArtifactOrigin {
  std::string resource;  // "" when a task output
  std::string type;
  Json source = Json::object();
};

struct TaskMount {
  std::string name;  // input/output name in the task config
  std::string path;  // relative to the task's work dir ("." allowed)
  Volume volume;
};

// Runs one task process.
struct RunTask {
  ActionId id = 0;
  StepInfo step;
  pipelines::TaskConfig config;    // final: loaded from `file:`, interpolated
  std::vector<TaskMount> inputs;   // present inputs only (missing optional ones are left out)
  std::vector<TaskMount> outputs;  // fresh, empty volumes
  std::vector<std::string> cache_paths;
  std::map<std::string, Json> params;  // config params overridden by step params
  bool privileged = false;
  bool hermetic = false;
  std::optional<Volume> image;    // `image:` artifact of the step
  ArtifactOrigin image_origin;    // what produced `image`
  std::vector<std::string> tags;  // the step's `tags:`: the workers that may run it
};

// Fetches a resource version into `volume`. A null `version` means "the latest": the executor
// checks the resource first.
struct RunGet {
  ActionId id = 0;
  StepInfo step;
  std::string resource;
  std::string type;
  Json source = Json::object();
  Json version;
  Json params = Json::object();
  Volume volume;
  std::optional<pipelines::ResourceType> custom_type;  // set when `type` names one
  // Fetches a task's image_resource: its output is not the step's, and no version is reported.
  bool for_image = false;
  std::vector<std::string> tags;  // the step's `tags:`, else the resource's: the workers to use
};

// Pushes to a resource; `inputs` are the artifacts visible to `out`, by name.
struct RunPut {
  ActionId id = 0;
  StepInfo step;
  std::string resource;
  std::string type;
  Json source = Json::object();
  Json params = Json::object();
  std::vector<std::pair<std::string, Volume>> inputs;
  std::optional<pipelines::ResourceType> custom_type;
  std::vector<std::string> tags;  // the step's `tags:`, else the resource's: the workers to use
};

// Reads `path` (relative to the volume) and reports its text in ActionResult::content.
// Used by load_var and by tasks with `file:`.
struct LoadFile {
  ActionId id = 0;
  StepInfo step;
  Volume volume;
  std::string path;
};

// A set_pipeline step, interpolated; `file` is read from `volume` at `path`.
struct SetPipeline {
  ActionId id = 0;
  StepInfo step;
  pipelines::SetPipelineStep config;
  Volume volume;
  std::string path;
};

struct StartTimer {
  TimerId id = 0;
  Duration duration{0};
};
struct CancelTimer {
  TimerId id = 0;
};
// Stops a running action; its result must still be reported (any status).
struct CancelAction {
  ActionId id = 0;
};
// Values that must never appear in logs (from load_var without `reveal: true`).
struct RedactSecrets {
  std::vector<std::string> values;
};
// The build is over; no more actions follow.
struct BuildFinished {
  BuildStatus status = BuildStatus::kSucceeded;
};

using BuildAction =
    std::variant<StepStarted, StepFinished, StepLog, RunTask, RunGet, RunPut, LoadFile, SetPipeline,
                 StartTimer, CancelTimer, CancelAction, RedactSecrets, BuildFinished>;

// One line for logs and test expectations: "run-task unit", "cancel-action 3",
// "step-finished unit failed", "build-finished errored".
std::string Describe(const BuildAction& action);

// What became of an action.
struct ActionResult {
  enum class Kind { kSucceeded, kFailed, kErrored };
  Kind kind = Kind::kSucceeded;
  std::string message;  // errored: why; failed: optional detail
  int exit_code = -1;   // tasks
  Json version;         // get/put: the version fetched or created
  std::vector<MetadataField> metadata;
  std::string content;  // LoadFile: the file's text
  // get: the resource cache entry (ResourceCaches) whose fetch is the artifact, copied into the
  // get's volume when a step uses it; "": the volume holds the fetch.
  std::string cached_at;

  static ActionResult Succeeded() { return {}; }
  static ActionResult Failed(int exit_code) {
    ActionResult r;
    r.kind = Kind::kFailed;
    r.exit_code = exit_code;
    return r;
  }
  static ActionResult Errored(std::string message) {
    ActionResult r;
    r.kind = Kind::kErrored;
    r.message = std::move(message);
    return r;
  }
};

}  // namespace baton::runner
