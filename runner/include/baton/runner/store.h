// Store: Baton's persistent state — pipelines and their config history, jobs, resources and
// versions, builds with their inputs/outputs, build event logs, artifacts index, workers,
// webhook deliveries and API tokens (DESIGN.md §5).
//
// The interface is value based (Result<T>) so another backend (PostgreSQL) can implement it.
// Every call that changes state is one transaction: it happens completely or not at all.
//
// Errors: kNotFound for a missing team/pipeline/job/build/..., kAlreadyExists for a duplicate
// name, kFailedPrecondition for a stale expected version or a forbidden build transition,
// kIoError when the database itself fails.
//
// Thread-safety: implementations are safe to call from any thread concurrently.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/runner/build_event_listener.h"
#include "baton/runner/store_types.h"

namespace baton::runner {

// Everything `set-pipeline` saves, in one transaction.
struct PipelineUpdate {
  std::string team = "main";
  std::string name;
  std::string yaml;
  Json config = Json::object();
  Json vars = Json::object();
  std::vector<JobSpec> jobs;            // jobs missing here become inactive
  std::vector<ResourceSpec> resources;  // resources missing here become inactive
  // Optimistic concurrency: the config version the caller based its change on (0 = "the
  // pipeline must not exist yet"). nullopt = save unconditionally.
  std::optional<int64_t> expected_version;
  bool paused_when_created = true;  // Concourse creates pipelines paused
};

class Store {
 public:
  virtual ~Store() = default;

  // ---- Teams. The team "main" always exists.
  virtual Result<Team> CreateTeam(const std::string& name) = 0;
  virtual Result<Team> GetTeam(const std::string& name) = 0;
  virtual Result<std::vector<Team>> ListTeams() = 0;

  // ---- Pipelines.
  // Creates or updates the pipeline: saves a new config version, upserts jobs and resources.
  // A stale expected_version -> kFailedPrecondition (nothing is written).
  virtual Result<PipelineRecord> SetPipeline(const PipelineUpdate& update) = 0;
  virtual Result<PipelineRecord> GetPipeline(const std::string& team, const std::string& name) = 0;
  virtual Result<PipelineRecord> GetPipelineById(Id pipeline_id) = 0;
  // All pipelines of `team` by name ("" = every team).
  virtual Result<std::vector<PipelineRecord>> ListPipelines(const std::string& team) = 0;
  // version 0 = the current one.
  virtual Result<PipelineConfigVersion> GetPipelineConfig(Id pipeline_id, int64_t version) = 0;
  // Deletes the pipeline with its jobs, resources, versions, builds and their events.
  virtual Status DestroyPipeline(const std::string& team, const std::string& name) = 0;
  virtual Status SetPipelinePaused(Id pipeline_id, bool paused) = 0;
  virtual Status SetPipelinePublic(Id pipeline_id, bool public_) = 0;

  // ---- Jobs.
  virtual Result<JobRecord> GetJob(Id pipeline_id, const std::string& name) = 0;
  virtual Result<JobRecord> GetJobById(Id job_id) = 0;
  // Active jobs, in config order of creation.
  virtual Result<std::vector<JobRecord>> ListJobs(Id pipeline_id) = 0;
  virtual Status SetJobPaused(Id job_id, bool paused) = 0;

  // ---- Resources and their versions.
  virtual Result<ResourceRecord> GetResource(Id pipeline_id, const std::string& name) = 0;
  virtual Result<ResourceRecord> GetResourceById(Id resource_id) = 0;
  virtual Result<std::vector<ResourceRecord>> ListResources(Id pipeline_id) = 0;
  // Saves what a check found (oldest first) under the resource's current source hash, records
  // a successful check now. Idempotent: known versions keep their order (metadata is updated),
  // new ones become the newest. Returns the stored versions in the order given.
  virtual Result<std::vector<ResourceVersion>> SaveResourceVersions(
      Id resource_id, const std::vector<VersionFound>& versions) = 0;
  // Records a failed check (message shown to users) at the current time.
  virtual Status RecordCheckError(Id resource_id, const std::string& error) = 0;
  // Versions for the current source hash, newest first.
  virtual Result<std::vector<ResourceVersion>> ListResourceVersions(Id resource_id,
                                                                    const VersionPage& page) = 0;
  virtual Result<ResourceVersion> GetResourceVersion(Id version_id) = 0;
  // The newest version whose fields include every field of `subset` ({"ref": "abc"}).
  virtual Result<ResourceVersion> FindResourceVersion(Id resource_id, const Json& subset) = 0;
  // version_id 0 unpins.
  virtual Status PinResourceVersion(Id resource_id, Id version_id, const std::string& comment) = 0;

  // ---- Builds.
  // A pending build of `job_id` named with the job's next build number (atomically).
  virtual Result<Build> CreateJobBuild(Id job_id, const Json& plan) = 0;
  // The same, saving its inputs (as SaveBuildInputs does) in the same transaction.
  virtual Result<Build> CreateJobBuildWithInputs(Id job_id, const Json& plan,
                                                 const std::vector<BuildInput>& inputs) = 0;
  // A pending rerun of the job build `build_id` with the same inputs (copied in the same
  // transaction), Concourse style: a rerun of build "3" is "3.1", then "3.2"; a rerun of a rerun
  // reruns its original. It takes no new build number. kFailedPrecondition for a one-off build.
  virtual Result<Build> CreateRerunBuild(Id build_id, const Json& plan) = 0;
  // A pending one-off build (`baton execute`); pipeline_id may be 0. Its name is its id.
  virtual Result<Build> CreateOneOffBuild(const std::string& team, Id pipeline_id,
                                          const Json& plan) = 0;
  virtual Result<Build> GetBuild(Id build_id) = 0;
  virtual Result<Build> GetJobBuild(Id job_id, const std::string& name) = 0;
  virtual Result<std::vector<Build>> ListBuilds(const BuildQuery& query) = 0;
  // pending -> started. Anything else is kFailedPrecondition.
  virtual Result<Build> StartBuild(Id build_id) = 0;
  // started -> succeeded|failed|errored|aborted; pending -> errored|aborted. Flushes the build's
  // events first, so a reader that sees a finished build can read its whole log. Finishing a
  // finished build is kFailedPrecondition.
  virtual Result<Build> FinishBuild(Id build_id, BuildStatus status,
                                    const std::string& error = {}) = 0;
  // Replaces the build's inputs; computes first_occurrence.
  virtual Status SaveBuildInputs(Id build_id, const std::vector<BuildInput>& inputs) = 0;
  virtual Result<std::vector<BuildInput>> ListBuildInputs(Id build_id) = 0;
  virtual Status SaveBuildOutputs(Id build_id, const std::vector<BuildOutput>& outputs) = 0;
  virtual Result<std::vector<BuildOutput>> ListBuildOutputs(Id build_id) = 0;
  // At startup: every pending or started build (left by a crash) becomes errored with
  // `message`; returns them as they are now.
  virtual Result<std::vector<Build>> MarkOrphanedBuildsErrored(const std::string& message) = 0;
  // Retention for one job. A finished build is reaped when it is not among the newest
  // `retention.builds` builds (if builds > 0) or finished more than `retention.days` days
  // before `now` (if days > 0) — unless it is one of the newest
  // `retention.minimum_succeeded_builds` succeeded builds. Running builds are never reaped.
  // As in Concourse, reaping deletes the build's events (its log) and artifact rows and marks
  // it `logs_reaped_at`; the build, its inputs and outputs stay, so scheduling is unchanged.
  virtual Result<ReapedBuilds> ReapBuilds(Id job_id, const pipelines::BuildLogRetention& retention,
                                          SystemTime now) = 0;

  // Versions of `resource_id` that some build (of any job) whose logs were not reaped used as an
  // input or produced as an output, newest first: what retention must keep.
  virtual Result<std::vector<ResourceVersion>> ListVersionsUsedByBuilds(Id resource_id) = 0;

  // ---- Build events (append-only per build).
  // Queues events for writing; cheap, returns at once unless the queue is full (backpressure).
  // Assigns consecutive seqs (ignoring events[i].seq); events become readable after the
  // background writer commits them (within ~50 ms) or after Flush(). Reports an earlier write
  // failure, if any.
  virtual Result<SeqRange> AppendEvents(Id build_id, std::vector<BuildEvent> events) = 0;
  // Waits until every event appended before the call is committed.
  virtual Status Flush() = 0;
  // Committed events with seq > after_seq, in seq order, at most `limit`. Readers never block
  // the writer, and never see a gap: seq N+1 is only visible once N is.
  virtual Result<std::vector<BuildEvent>> ReadEvents(Id build_id, int64_t after_seq, int limit) = 0;
  // Announces appended, committed and finished builds' events to `listener` (replacing any
  // earlier one; null stops announcing). Returns false when this store cannot announce them
  // (the default): readers must then poll ReadEvents.
  virtual bool SetBuildEventListener(std::shared_ptr<BuildEventListener> listener) {
    (void)listener;
    return false;
  }

  // ---- Artifacts index.
  virtual Result<Artifact> RecordArtifact(Id build_id, const std::string& name,
                                          const std::string& digest, int64_t size) = 0;
  virtual Result<std::vector<Artifact>> ListArtifacts(Id build_id) = 0;
  virtual Result<bool> IsDigestReferenced(const std::string& digest) = 0;

  // ---- Workers.
  virtual Status SaveWorker(const WorkerRecord& worker) = 0;  // insert or replace by name
  // By name. A "running" worker whose last heartbeat is older than the store's stall timeout is
  // reported as "stalled".
  virtual Result<std::vector<WorkerRecord>> ListWorkers() = 0;
  virtual Status DeleteWorker(const std::string& name) = 0;

  // ---- Webhook deliveries.
  // False when (provider, delivery_id) was seen before (nothing is written): redeliveries are
  // idempotent.
  virtual Result<bool> RecordWebhookDelivery(const WebhookDelivery& delivery) = 0;
  virtual Status SetWebhookDeliveryStatus(const std::string& provider,
                                          const std::string& delivery_id,
                                          const std::string& status) = 0;
  virtual Result<std::vector<WebhookDelivery>> ListWebhookDeliveries(int limit) = 0;

  // ---- API tokens. Only the SHA-256 of a token is stored.
  virtual Result<ApiToken> CreateApiToken(const std::string& team, const std::string& name,
                                          const std::string& plain_token,
                                          std::optional<SystemTime> expires_at) = 0;
  // The token whose hash matches, if not expired at `now`; records its use.
  // kPermissionDenied when unknown or expired.
  virtual Result<ApiToken> AuthenticateApiToken(const std::string& plain_token, SystemTime now) = 0;
  virtual Result<std::vector<ApiToken>> ListApiTokens(const std::string& team) = 0;
  virtual Status RevokeApiToken(Id token_id) = 0;
};

}  // namespace baton::runner
