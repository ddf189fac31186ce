// Commands: every change users make to the pipelines the scheduler runs (set-pipeline, pause,
// expose, destroy, pin, trigger, ...), as values the Scheduler applies on its own thread. Applying
// a command writes the store and updates the scheduler's in-memory state together, so nothing
// else ever writes the store and then asks the scheduler to re-read it.
//
// The API (and webhooks) send a command and await its answer (a CommandReply) without blocking
// a thread: Scheduler::Apply takes a callback. After a command changed a pipeline, the scheduler
// reports a PipelineChange, a small value that another web node can hear (through the store's
// notifications) and apply to its own in-memory state with the `Refresh` command.
//
// Values; thread-compatible.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "baton/common/json.h"
#include "baton/common/status.h"
#include "baton/pipelines/pipeline_config.h"
#include "baton/runner/store_pipelines.h"
#include "baton/runner/store_types.h"

namespace baton::runner {

// What a command changed, for another node to apply (see the `Refresh` command). kBuildQueued
// kAbort and kVersions are for the node that schedules (SchedulerOptions::leader): a build another
// node saved pending for it to start, a build another node was asked to abort, new versions a
// check on another node saved.
struct PipelineChange {
  enum class Kind {
    kConfig,
    kPaused,
    kPublic,
    kJobPaused,
    kPin,
    kDestroyed,
    kBuildQueued,
    kAbort,
    kVersions
  };
  Kind kind = Kind::kConfig;
  Id pipeline_id = 0;
  int64_t config_version = 0;  // kConfig: the version now current
  Id build_id = 0;             // kBuildQueued, kAbort
};
const char* ToString(PipelineChange::Kind kind);
// {"kind": "config", "pipeline_id": 3, "config_version": 7, "build_id": 0}: small enough for a
// notification.
Json ToJson(const PipelineChange& change);
Result<PipelineChange> PipelineChangeFromJson(const Json& json);

// One word per command, named for what the user asked (not for the store method it calls).
namespace commands {

// set-pipeline. The sender parsed and validated the YAML once (and reported its warnings);
// the scheduler saves `update` and runs `config` as it is.
struct SetPipeline {
  PipelineUpdate update;
  std::shared_ptr<const pipelines::PipelineConfig> config;  // REQUIRES: not null
};
struct PausePipeline {
  Id pipeline_id = 0;
  bool paused = true;  // false: unpause
};
struct ExposePipeline {
  Id pipeline_id = 0;
  bool exposed = true;  // false: hide
};
struct DestroyPipeline {
  Id pipeline_id = 0;
  std::string team;
  std::string name;
};
struct PauseJob {
  Id pipeline_id = 0;
  Id job_id = 0;
  bool paused = true;
};
// Pins `version_id` of the resource; version_id 0 unpins.
struct PinVersion {
  Id pipeline_id = 0;
  Id resource_id = 0;
  Id version_id = 0;
  std::string comment;
};
// Creates a build of `job` with the newest versions its constraints allow, as a user trigger.
struct TriggerJob {
  Id pipeline_id = 0;
  std::string job;
};
// Reruns a job build with exactly its inputs ("3" -> "3.1").
struct RerunBuild {
  Id build_id = 0;
};
// Aborts a running or pending build.
struct AbortBuild {
  Id build_id = 0;
};
// Another node changed the pipeline: bring this node's in-memory state in line with the store.
struct Refresh {
  PipelineChange change;
};

}  // namespace commands

using Command = std::variant<commands::SetPipeline, commands::PausePipeline,
                             commands::ExposePipeline, commands::DestroyPipeline,
                             commands::PauseJob, commands::PinVersion, commands::TriggerJob,
                             commands::RerunBuild, commands::AbortBuild, commands::Refresh>;

// "pause-pipeline 3", "pin-version resource 12 -> version 40": for logs and errors.
std::string Describe(const Command& command);

// What became of a command that succeeded.
struct CommandReply {
  std::optional<PipelineRecord> pipeline;  // the pipeline as it is now (not after destroy)
  std::optional<Build> build;              // the build triggered or rerun
};
using CommandDone = std::function<void(Result<CommandReply>)>;

}  // namespace baton::runner
