// BuildStore: the store role for builds — their creation (numbered per job, reruns, one-offs),
// their status transitions, their inputs and outputs, retention, and the index of the artifacts
// they stored (DESIGN.md §4, §5).
//
// Consumers: the scheduler and executor (which create, start and finish builds), the API's build
// and artifact handlers (which read them), the artifact resource (which indexes artifacts).
//
// Every call that changes state is one transaction. Errors: kNotFound for a missing job or
// build, kFailedPrecondition for a forbidden build transition or a rerun of a one-off build,
// kIoError when the database itself fails.
//
// Thread-safety: implementations are safe to call from any thread concurrently.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/runner/store_types.h"

namespace baton::runner {

class BuildStore {
 public:
  virtual ~BuildStore() = default;

  // A pending build of `job_id` named with the job's next build number (atomically).
  virtual Result<Build> CreateJobBuild(Id job_id, const Json& plan) = 0;
  // The same, saving its inputs (as SaveBuildInputs does) in the same transaction.
  virtual Result<Build> CreateJobBuildWithInputs(Id job_id, const Json& plan,
                                                 const std::vector<BuildInput>& inputs) = 0;
  // The same, started: CreateJobBuildWithInputs and StartBuild in one transaction, for the
  // scheduler that runs the build it creates (no other node sees it pending, so none claims it).
  virtual Result<Build> CreateStartedJobBuild(Id job_id, const Json& plan,
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
  // The newest build (highest id, as ListBuilds orders them) of each job of the pipeline whose
  // status is one of `statuses` (any status when empty), by job id; a job with no such build is
  // absent. One query for every job of the pipeline (the jobs page), where ListBuilds costs one
  // per job. One-off builds belong to no job and are left out. Their plans read as null (the
  // jobs page polled by a dashboard does not show them, and parsing them was most of its cost).
  virtual Result<std::map<Id, Build>> NewestJobBuilds(Id pipeline_id,
                                                      const std::vector<BuildStatus>& statuses) = 0;
  // pending -> started. Anything else is kFailedPrecondition.
  virtual Result<Build> StartBuild(Id build_id) = 0;
  // started -> succeeded|failed|errored|aborted; pending -> errored|aborted. The build's queued
  // events are committed first or with it, so a reader that sees a finished build can read its
  // whole log. Finishing a finished build is kFailedPrecondition.
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

  // ---- The artifacts index (the files live in the ArtifactStore, by digest).
  virtual Result<Artifact> RecordArtifact(Id build_id, const std::string& name,
                                          const std::string& digest, int64_t size) = 0;
  virtual Result<std::vector<Artifact>> ListArtifacts(Id build_id) = 0;
  virtual Result<bool> IsDigestReferenced(const std::string& digest) = 0;
};

}  // namespace baton::runner
