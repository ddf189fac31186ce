// Scheduler: keeps pipelines running. It checks resources (every `check_every`, and on demand
// from webhooks and the CLI), decides with the Planner which job builds next and with which
// versions, starts builds on a Worker through BuildExecutor, and records them with
// BuildRecorder. A new version wakes the jobs that use it at once; a finished build wakes the
// jobs downstream of it — there is no scheduling tick.
//
// Several web nodes on one database: every node's scheduler keeps every pipeline loaded (to
// answer commands), but only the leader (the node holding the scheduler's lease, see
// SchedulerOptions::leader and SetLeader) checks resources and starts builds. A trigger or
// rerun on another node saves the build pending and reports it (PipelineChange kBuildQueued);
// the leader adopts it. A new leader errors the builds a dead leader had started and adopts the
// pending ones, so no build is lost and none runs twice.
//
// The same scheduler runs a pipeline once for `baton run` (RunOnce): every resource is checked
// once, then each selected job runs when its upstream jobs are done, as the DAG allows.
//
// Thread-safety: every method must be called on the io_context's thread (post to it from
// elsewhere). The scheduler owns all scheduling state; nothing else mutates it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "baton/common/clock.h"
#include "baton/common/duration.h"
#include "baton/pipelines/pipeline_config.h"
#include "baton/runner/build_observer.h"
#include "baton/runner/check_registry.h"
#include "baton/runner/commands.h"
#include "baton/runner/store_builds.h"
#include "baton/runner/store_events.h"
#include "baton/runner/store_pipelines.h"
#include "baton/workers/worker.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace baton::workers {
class ArtifactStore;
}  // namespace baton::workers

namespace baton::runner {

// The store roles a scheduler uses (store.h): it changes pipelines, their jobs and versions;
// creates, starts and finishes builds; and records their events (through BuildRecorder). It
// reads no tokens or workers (AccessStore) and shares nothing with other nodes itself
// (ClusterStore is ClusterNode's). One object may play every role: {store, store, store}.
struct SchedulerStores {
  PipelineStore& pipelines;
  BuildStore& builds;
  EventLog& events;
};

struct SchedulerOptions {
  std::string data_dir;  // build work dirs go to <data_dir>/builds/<id> (removed when done)
  std::string external_url;
  const Clock* clock = nullptr;  // null = the real clock
  int max_parallel_builds = 0;   // across all pipelines; 0 = unlimited
  bool periodic_checks = true;   // false for `baton run`: check only when asked
  Duration default_check_every = std::chrono::minutes(1);
  // A check running longer than its resource's check_timeout (else this) is cancelled and
  // errors, as Concourse's default.
  Duration default_check_timeout = std::chrono::hours(1);
  Duration cancel_grace = std::chrono::seconds(10);
  // Persistent task cache directories ("pipeline/job/task", cache path) -> host dir.
  std::function<std::string(const std::string& key, const std::string& path)> cache_dir;
  // An observer for each started build (console output, live event streams); may return null.
  std::function<BuildObserver*(const Build& build)> observe_build;
  // Called when a build has finished and is recorded.
  std::function<void(const Build& build)> on_build_finished;
  // Called after a command changed a pipeline (on the scheduler's thread), with what another
  // web node needs to hear to apply the change too (commands::Refresh).
  std::function<void(const PipelineChange& change)> on_pipeline_change;
  // False on a web node that does not hold the scheduler's lease (another node schedules): it
  // checks nothing on its own and starts no build (SetLeader changes it).
  bool leader = true;
  // Builds keep a journal (BuildExecutorOptions::journal) so that ResumeBuild can go on with
  // them after this web node restarts. Set when steps run on remote workers, which outlive the
  // web node; the in-process worker's steps die with it.
  bool journal_builds = false;
  // The store behind `artifact` resources: retention prunes the artifact versions no remaining
  // build uses (the newest version of each is always kept). May be null.
  workers::ArtifactStore* artifacts = nullptr;
};

// What became of one job in a RunOnce.
struct JobOutcome {
  std::string job;
  std::optional<Build> build;  // absent when the job did not run
  std::string skipped_reason;  // why it did not run
};

// A resource of an active pipeline, as webhooks need to find it.
struct ActiveResource {
  Id pipeline_id = 0;
  std::string team;
  std::string pipeline;
  std::string name;
  std::string type;
  Json source;
  std::string webhook_token;
};

class Scheduler {
 public:
  Scheduler(boost::asio::io_context& io, SchedulerStores stores, workers::Worker& worker,
            SchedulerOptions options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Loads the pipeline's current config from the store and starts its periodic checks (when the
  // server starts). Errors if its config no longer loads. Changes made while running are
  // commands (Apply).
  Status ActivatePipeline(Id pipeline_id);
  // The same with `config` already loaded by the caller from the pipeline's current config in
  // the store (what `baton run` has just saved), so it is not loaded a second time.
  Status ActivatePipeline(const PipelineRecord& record, pipelines::PipelineConfig config);
  // Stops checks for the pipeline; running builds go on.
  void DeactivatePipeline(Id pipeline_id);

  // Applies a user's command (commands.h): the store write and this scheduler's state together.
  // `done` gets the answer, on this thread, before Apply returns. Post here from other threads.
  void Apply(Command command, CommandDone done);

  // Checks one resource now. `done` gets the number of versions the check saved.
  void CheckResource(Id pipeline_id, const std::string& resource,
                     std::function<void(Result<int>)> done);

  // The checks users asked for. The registry is thread-safe: callers on any thread may create
  // and read records (the one exception to "call on the io_context's thread").
  CheckRegistry& checks();
  // Runs the check `check_id` that the caller created in checks() (sharing a check of the same
  // resource already running); its record says when it starts and how it ends.
  void RunCheck(Id check_id);
  // A verified push named `version` ({"ref": sha}) as the newest of the check's resource: it is
  // recorded as such at once (jobs it triggers are scheduled), then the check runs as RunCheck
  // does, from the version before it, and finds what the push left out (metadata, the commits
  // pushed before it, a later force push). Only RunCheck for a resource that is not a builtin
  // git resource. The caller (the forge webhook) has verified the delivery and decided that the
  // push is exact (webapi::PushedCommit).
  void RecordPushedVersion(Id check_id, const Json& version);

  // Becoming the leader: the builds left `started` by a node that is gone (none of this
  // scheduler's) are errored with `orphan_message`, pending ones are adopted, every pipeline's
  // history is read again and its checks and jobs start. No longer the leader (the lease was
  // lost): checks stop, queued builds are left pending for the next leader, running ones abort.
  void SetLeader(bool leader, const std::string& orphan_message = {});
  bool leader() const;

  // What a node that may have missed other nodes' changes does now and then: pipelines set or
  // destroyed elsewhere are loaded or dropped, pause and expose follow the store, and the leader
  // adopts the builds other nodes left pending.
  void Resync();

  // `baton run`: checks every resource the selected jobs use once, then runs each selected job
  // (all when `jobs` is empty) once in DAG order, up to `parallel` builds at a time.
  void RunOnce(Id pipeline_id, std::vector<std::string> jobs, int parallel,
               std::function<void(std::vector<JobOutcome>)> done);

  // Every resource of every active pipeline.
  std::vector<ActiveResource> ActiveResources() const;

  // At start, after ActivatePipeline: goes on with `build`, which this node (before it
  // restarted) left `started` with a journal (journal_builds): its engine replays what the
  // journal recorded and its open steps are adopted from their workers or started. Errors (the
  // pipeline, job or journal is gone) leave the build as it is: the caller errors it.
  Status ResumeBuild(const Build& build);
  // Whether `build` left a journal to resume it from (journal_builds).
  bool CanResume(const Build& build) const;

  // Aborts every running build (Ctrl-C of `baton run`, server shutdown).
  void AbortAll();

  // Number of builds running now.
  size_t running_builds() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace baton::runner
