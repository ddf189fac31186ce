// Private state of the Scheduler (scheduler.h). Everything here lives on the io_context thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "baton/pipelines/graph.h"
#include "baton/pipelines/pipeline_config.h"
#include "baton/runner/build_executor.h"
#include "baton/runner/build_recorder.h"
#include "baton/runner/directory_remover.h"
#include "baton/runner/planner.h"
#include "baton/runner/scheduler.h"
#include "baton/runner/spare_directories.h"

namespace baton::runner {

namespace asio = boost::asio;

using CheckWaiters = std::map<std::string, std::vector<std::function<void(Result<int>)>>>;

// One check running on the worker. `run` tells its result from a late one of a check that
// timed out before it.
struct CheckInFlight {
  uint64_t run = 0;
  std::unique_ptr<workers::StepHandle> handle;
  std::unique_ptr<asio::steady_timer> timeout;
};

struct PipelineState {
  PipelineRecord record;
  pipelines::PipelineConfig config;
  pipelines::JobGraph graph;
  std::map<std::string, ResourceRecord> resources;  // by name
  std::map<std::string, JobRecord> jobs;            // by name
  PlannerSnapshot snapshot;
  std::map<std::string, std::unique_ptr<asio::steady_timer>> check_timers;
  // Callers waiting for a check in flight, by resource (concurrent requests share one check).
  CheckWaiters check_waiters;
  // Checks asked for by a push while a check of the resource ran, by resource: they run as one
  // more check once it ends (it began before the push and may not see its commit).
  CheckWaiters checks_after;
  // The worker run of each check in flight, by resource, with its check_timeout timer.
  std::map<std::string, CheckInFlight> checks_in_flight;
  // Versions recorded from a verified push that no check started since has confirmed, by
  // resource (version id -> check_runs_ when it was recorded): a check starts from the newest
  // version before them, so that it finds the commits pushed before.
  std::map<std::string, std::map<Id, uint64_t>> pushed_unchecked;
  // Manually triggered builds waiting for the job's max_in_flight, by job, oldest first.
  std::map<std::string, std::deque<std::pair<Build, InputPlan>>> pending;
  bool auto_trigger = true;
};

struct RunningBuild {
  Build build;
  Id pipeline_id = 0;
  std::string job;
  std::map<std::string, std::set<Id>> input_versions;  // by resource
  std::unique_ptr<BuildRecorder> recorder;
  std::unique_ptr<BuildExecutor> executor;
  std::function<void(const Build&)> on_done;  // RunOnce bookkeeping; may be empty
};

// Bookkeeping of one `baton run`.
struct RunOnceState {
  Id pipeline_id = 0;
  std::vector<std::string> order;  // selected jobs, upstream first
  std::set<std::string> selected;
  std::set<std::string> finished;
  std::map<std::string, JobOutcome> outcomes;  // a job's, once it started or was skipped
  size_t first_open = 0;                       // order[0, first_open) all have an outcome
  int parallel = 1;
  int running = 0;
  int checks_pending = 0;
  std::function<void(std::vector<JobOutcome>)> done;
};

// The plan of a build whose inputs the store holds (a rerun, or a build another node saved
// pending): every input of the job's current plan, with the version the build has for it.
// kFailedPrecondition when the job now has an input the build has no version for.
Result<InputPlan> PlanFromInputs(const pipelines::Job& job, const Build& build,
                                 const std::vector<BuildInput>& used);

// Where a scheduler keeps spare build directories: beside builds/ (none without a data dir).
std::filesystem::path SpareDirectoriesOf(const std::string& data_dir);

class Scheduler::Impl {
 public:
  Impl(asio::io_context& io, SchedulerStores stores, workers::Worker& worker,
       SchedulerOptions options);

  // scheduler_state.cpp
  Status Activate(Id pipeline_id);
  // Makes `config` (the pipeline's config at record.config_version) the running one.
  Status Install(const PipelineRecord& record, pipelines::PipelineConfig config);
  void Deactivate(Id pipeline_id);
  Status LoadHistory(PipelineState& state);
  Status LoadVersions(PipelineState& state, const std::string& resource);
  Status LoadJobBuilds(PipelineState& state, const std::string& job);
  PipelineState* Find(Id pipeline_id);
  Result<PipelineState*> FindOrError(Id pipeline_id);

  // scheduler_checks.cpp
  // Runs the check `check_id` of checks_ (Scheduler::RunCheck).
  void RunCheck(Id check_id);
  void Check(PipelineState& state, const std::string& resource,
             std::function<void(Result<int>)> done);
  void OnCheckDone(Id pipeline_id, const std::string& resource, uint64_t run,
                   workers::ResourceResult result);
  void ArmCheckTimeout(PipelineState& state, const pipelines::Resource& resource, uint64_t run);
  // Cancels the state's checks in flight and hands over who waits for them (the state is about
  // to go: a new config replaces it, or the pipeline is deactivated).
  CheckWaiters TakeChecks(PipelineState& state);
  void ArmCheckTimer(PipelineState& state, const pipelines::Resource& resource);
  void AddVersions(PipelineState& state, const std::string& resource,
                   const std::vector<ResourceVersion>& versions, int* added);
  void WakeJobsUsing(PipelineState& state, const std::string& resource);

  // scheduler_pushes.cpp
  void RecordPushedVersion(Id check_id, const Json& version);
  // Whether `version` recorded as the resource's newest is what its check would record (a
  // builtin git resource; the caller has matched the push to its source).
  bool PushIsAVersion(const PipelineState& state, const std::string& resource) const;
  void SavePushedVersion(PipelineState& state, const std::string& resource, const Json& version);

  // scheduler_builds.cpp
  void TrySchedule(PipelineState& state, const std::string& job);
  // TrySchedule for each of `jobs`: the first now, the others one io handler each, so that a
  // build's end waking a fan-out (or a version waking every job using it) starts the first build
  // at once and lets the steps of those already started (their gets' ends, their tasks' starts)
  // run between the creations of the next, not after all of them.
  void ScheduleJobs(PipelineState& state, const std::vector<std::string>& jobs);
  void ScheduleNextQueued();
  void PostScheduleNext();  // a ScheduleNextQueued in an io handler, if any job waits
  bool HasCapacity(const PipelineState& state, const pipelines::Job& job) const;
  // A build of `job` with `plan`'s inputs: pending, or (`started`) claimed at once, in the same
  // transaction, for a caller that launches it next.
  Result<Build> CreateBuild(PipelineState& state, const pipelines::Job& job, const InputPlan& plan,
                            bool started = false);
  void StartBuild(PipelineState& state, Build build, const InputPlan& plan,
                  std::function<void(const Build&)> on_done = {});
  // Runs `build` (claimed: started in the store) on an executor; `resume` goes on from its
  // journal (after a restart) instead of starting it.
  void Launch(PipelineState& state, Build build, const InputPlan& plan,
              std::function<void(const Build&)> on_done, bool resume);
  Status ResumeBuild(const Build& build);
  bool CanResume(const Build& build) const;
  std::string BuildRoot(Id build_id) const;
  void OnBuildFinished(Id build_id);
  Result<Build> Trigger(Id pipeline_id, const std::string& job);
  Status Abort(Id build_id);
  Status AbortAnywhere(Id build_id);

  // scheduler_commands.cpp
  void Apply(Command command, CommandDone done);
  Result<CommandReply> Run(const commands::SetPipeline& c);
  Result<CommandReply> Run(const commands::PausePipeline& c);
  Result<CommandReply> Run(const commands::ExposePipeline& c);
  Result<CommandReply> Run(const commands::DestroyPipeline& c);
  Result<CommandReply> Run(const commands::PauseJob& c);
  Result<CommandReply> Run(const commands::PinVersion& c);
  Result<CommandReply> Run(const commands::TriggerJob& c);
  Result<CommandReply> Run(const commands::RerunBuild& c);
  Result<CommandReply> Run(const commands::AbortBuild& c);
  Result<CommandReply> Run(const commands::Refresh& c);
  Result<CommandReply> ReplyWith(Id pipeline_id);
  void Announce(const PipelineChange& change);
  void ScheduleAll(PipelineState& state);

  // scheduler_reruns.cpp
  Result<Build> Rerun(Id build_id);

  // scheduler_leader.cpp: several web nodes (only the leader checks and starts builds).
  void SetLeader(bool leader, const std::string& orphan_message);
  // Errors the started builds no scheduler of this process runs (their node is gone).
  void SettleOrphans(const std::string& message);
  // Queues the pending builds of the pipeline this scheduler does not know yet (saved by
  // another node, or left by a leader that died), oldest first, and schedules their jobs.
  void AdoptPending(PipelineState& state);
  // Reads the pipeline's record, jobs, resources and history from the store again (a node that
  // did not schedule has an old picture of them).
  Status ReloadHistory(PipelineState& state);
  // Reads again only what `job`'s inputs resolve from: the versions (and pins) of the resources
  // it gets, its own builds and those of the jobs its passed: constraints name. What a trigger
  // on a node that does not schedule needs, without re-reading the whole pipeline.
  Status ReloadInputsOf(PipelineState& state, const pipelines::Job& job);
  // The build `build_id` another node saved pending and announced: queued (if it is pending and
  // this pipeline's) and scheduled, reading that build and its inputs only.
  void AdoptBuild(PipelineState& state, Id build_id);
  // Takes `record` (the pipeline as the store has it now) and re-reads the jobs' pauses and
  // the resources' pins: what a PipelineChange of kind paused, public, job-paused or pin says.
  // True when a job may start now that it could not before (a pause lifted, a pin changed).
  Result<bool> RereadState(PipelineState& state, PipelineRecord record);
  // Queues `build` (pending in the store) unless it is queued or running already.
  void Queue(PipelineState& state, const Build& build);
  // Stops the pipeline's checks (when this node stops being the leader).
  void StopChecks(PipelineState& state);
  void Resync();

  // scheduler_retention.cpp: reaps the job's builds beyond its build_log_retention, with their
  // events, then the artifact versions no remaining build uses.
  void ApplyRetention(PipelineState& state, const pipelines::Job& job);
  void PruneArtifacts(PipelineState& state);

  // scheduler_run_once.cpp
  void RunOnce(Id pipeline_id, std::vector<std::string> jobs, int parallel,
               std::function<void(std::vector<JobOutcome>)> done);
  void PumpRunOnce();
  void FinishRunOnceIfDone();

  asio::io_context& io_;
  SchedulerStores stores_;
  workers::Worker& worker_;
  SchedulerOptions options_;
  const Clock* clock_;
  std::map<Id, std::unique_ptr<PipelineState>> pipelines_;
  std::map<Id, std::unique_ptr<RunningBuild>> running_;
  std::unique_ptr<RunOnceState> run_once_;
  CheckRegistry checks_{*clock_};
  uint64_t check_runs_ = 0;  // numbers each worker run of a check
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  // Jobs ScheduleJobs left for later (pipeline id, job), in order; a ScheduleNextQueued is
  // posted while it is not empty.
  std::deque<std::pair<Id, std::string>> to_schedule_;
  bool leader_ = true;  // see SchedulerOptions::leader
  // When Resync last re-read every pipeline's job pauses and pins (RereadState).
  static constexpr Duration kDeepResyncEvery = std::chrono::seconds(60);
  std::optional<SteadyTime> last_deep_resync_;
  // Finished builds' emptied directories, renamed into place for the next builds (before
  // build_dirs_: that one's thread uses it until it stops).
  SpareDirectories spare_dirs_{SpareDirectoriesOf(options_.data_dir)};
  // Fetched versions kept for later gets of them (resource_caches.h); none without a data dir.
  std::unique_ptr<ResourceCaches> resource_caches_ =
      options_.data_dir.empty() ? nullptr
                                : std::make_unique<ResourceCaches>(
                                      std::filesystem::path(options_.data_dir) / "resource-caches");
  // Empties finished builds' directories into spare_dirs_ (removing what is not kept) off this
  // thread; the scheduler's destruction waits for what it queued.
  DirectoryRemover build_dirs_{
      [this](const std::filesystem::path& dir) { spare_dirs_.Recycle(dir); }};
};

}  // namespace baton::runner
