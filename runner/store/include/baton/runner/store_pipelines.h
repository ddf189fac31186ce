// PipelineStore: the store role for what `set-pipeline` and checks write — teams, pipelines and
// their config history, jobs, resources and their versions, pins (DESIGN.md §4, §5).
//
// Consumers: the scheduler and checker (which change them), the API's pipeline, job and resource
// handlers (which read them).
//
// Every call that changes state is one transaction. Errors: kNotFound for a missing
// team/pipeline/job/resource/version, kAlreadyExists for a duplicate name, kFailedPrecondition
// for a stale expected version, kIoError when the database itself fails.
//
// Thread-safety: implementations are safe to call from any thread concurrently.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "baton/common/status.h"
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

class PipelineStore {
 public:
  virtual ~PipelineStore() = default;

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
};

}  // namespace baton::runner
