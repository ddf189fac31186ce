// SqlStore: every store role (store.h) and the cluster's nodes and leases (cluster_store.h)
// written once in SQL that SQLite and PostgreSQL both run,
// over the sql:: connection layer (runner/src/store/sql_db.h). SqliteStore and PostgresStore
// derive from it and supply the connections: how a write transaction is serialized, how reads
// get a consistent snapshot, and the schema's migrations.
//
// Writes: one at a time per process (a mutex), each one transaction on the writer connection;
// PostgresStore also takes a database-wide lock, so writes from several nodes are serialized as
// SQLite's are. Build events go through a bounded queue to a background writer thread that
// commits every `event_commit_interval` or `event_commit_batch` events, packed into chunks of up
// to `event_chunk_bytes` per row, so a 1 GB log is ~16k rows read a page at a time.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "baton/common/clock.h"
#include "baton/runner/cluster_store.h"
#include "baton/runner/store.h"

namespace baton::runner {

namespace sql {
class Connection;
class EventWriter;
class EventChunker;
struct QueuedEvent;
}  // namespace sql

struct SqlStoreOptions {
  std::chrono::milliseconds event_commit_interval{50};
  size_t event_commit_batch = 1000;  // commit at once when this many are queued
  // AppendEvents blocks beyond this. 2 MiB keeps a 200,000-line log (W4) ~20 MB lower at its
  // peak than 16 MiB did, and the writer no slower (docs/benchmarks.md).
  size_t event_queue_max_bytes = 2 << 20;
  size_t event_chunk_bytes = 64 << 10;  // target size of one stored chunk of events
  size_t max_idle_readers = 4;
  // ListWorkers reports a running worker as "stalled" after this long without a heartbeat.
  std::chrono::milliseconds worker_stall_after{30000};
};

class SqlStore : public Store, public ClusterStore {
 public:
  ~SqlStore() override;
  SqlStore(const SqlStore&) = delete;
  SqlStore& operator=(const SqlStore&) = delete;

  Result<Team> CreateTeam(const std::string& name) override;
  Result<Team> GetTeam(const std::string& name) override;
  Result<std::vector<Team>> ListTeams() override;

  Result<PipelineRecord> SetPipeline(const PipelineUpdate& update) override;
  Result<PipelineRecord> GetPipeline(const std::string& team, const std::string& name) override;
  Result<PipelineRecord> GetPipelineById(Id pipeline_id) override;
  Result<std::vector<PipelineRecord>> ListPipelines(const std::string& team) override;
  Result<PipelineConfigVersion> GetPipelineConfig(Id pipeline_id, int64_t version) override;
  Status DestroyPipeline(const std::string& team, const std::string& name) override;
  Status SetPipelinePaused(Id pipeline_id, bool paused) override;
  Status SetPipelinePublic(Id pipeline_id, bool public_) override;

  Result<JobRecord> GetJob(Id pipeline_id, const std::string& name) override;
  Result<JobRecord> GetJobById(Id job_id) override;
  Result<std::vector<JobRecord>> ListJobs(Id pipeline_id) override;
  Status SetJobPaused(Id job_id, bool paused) override;

  Result<ResourceRecord> GetResource(Id pipeline_id, const std::string& name) override;
  Result<ResourceRecord> GetResourceById(Id resource_id) override;
  Result<std::vector<ResourceRecord>> ListResources(Id pipeline_id) override;
  Result<std::vector<ResourceVersion>> SaveResourceVersions(
      Id resource_id, const std::vector<VersionFound>& versions) override;
  Status RecordCheckError(Id resource_id, const std::string& error) override;
  Result<std::vector<ResourceVersion>> ListResourceVersions(Id resource_id,
                                                            const VersionPage& page) override;
  Result<ResourceVersion> GetResourceVersion(Id version_id) override;
  Result<ResourceVersion> FindResourceVersion(Id resource_id, const Json& subset) override;
  Status PinResourceVersion(Id resource_id, Id version_id, const std::string& comment) override;

  Result<Build> CreateJobBuild(Id job_id, const Json& plan) override;
  Result<Build> CreateJobBuildWithInputs(Id job_id, const Json& plan,
                                         const std::vector<BuildInput>& inputs) override;
  Result<Build> CreateStartedJobBuild(Id job_id, const Json& plan,
                                      const std::vector<BuildInput>& inputs) override;
  Result<Build> CreateRerunBuild(Id build_id, const Json& plan) override;
  Result<Build> CreateOneOffBuild(const std::string& team, Id pipeline_id,
                                  const Json& plan) override;
  Result<Build> GetBuild(Id build_id) override;
  Result<Build> GetJobBuild(Id job_id, const std::string& name) override;
  Result<std::vector<Build>> ListBuilds(const BuildQuery& query) override;
  Result<std::map<Id, Build>> NewestJobBuilds(Id pipeline_id,
                                              const std::vector<BuildStatus>& statuses) override;
  Result<Build> StartBuild(Id build_id) override;
  Result<Build> FinishBuild(Id build_id, BuildStatus status,
                            const std::string& error = {}) override;
  Status SaveBuildInputs(Id build_id, const std::vector<BuildInput>& inputs) override;
  Result<std::vector<BuildInput>> ListBuildInputs(Id build_id) override;
  Status SaveBuildOutputs(Id build_id, const std::vector<BuildOutput>& outputs) override;
  Result<std::vector<BuildOutput>> ListBuildOutputs(Id build_id) override;
  Result<std::vector<Build>> MarkOrphanedBuildsErrored(const std::string& message) override;
  Result<ReapedBuilds> ReapBuilds(Id job_id, const pipelines::BuildLogRetention& retention,
                                  SystemTime now) override;
  Result<std::vector<ResourceVersion>> ListVersionsUsedByBuilds(Id resource_id) override;

  Result<SeqRange> AppendEvents(Id build_id, std::vector<BuildEvent> events) override;
  Result<SeqRange> AppendLogLines(Id build_id, LogLines lines) override;
  Status Flush() override;
  using EventLog::ReadEvents;
  Result<std::vector<BuildEvent>> ReadEvents(Id build_id, int64_t after_seq, int limit,
                                             size_t max_bytes) override;
  bool SetBuildEventListener(std::shared_ptr<BuildEventListener> listener) override;

  Result<Artifact> RecordArtifact(Id build_id, const std::string& name, const std::string& digest,
                                  int64_t size) override;
  Result<std::vector<Artifact>> ListArtifacts(Id build_id) override;
  Result<bool> IsDigestReferenced(const std::string& digest) override;

  Status SaveWorker(const WorkerRecord& worker) override;
  Result<std::vector<WorkerRecord>> ListWorkers() override;
  Status DeleteWorker(const std::string& name) override;

  Result<bool> RecordWebhookDelivery(const WebhookDelivery& delivery) override;
  Status SetWebhookDeliveryStatus(const std::string& provider, const std::string& delivery_id,
                                  const std::string& status) override;
  Result<std::vector<WebhookDelivery>> ListWebhookDeliveries(int limit) override;

  Result<ApiToken> CreateApiToken(const std::string& team, const std::string& name,
                                  const std::string& plain_token,
                                  std::optional<SystemTime> expires_at) override;
  Result<ApiToken> AuthenticateApiToken(const std::string& plain_token, SystemTime now) override;
  Result<std::vector<ApiToken>> ListApiTokens(const std::string& team) override;
  Status RevokeApiToken(Id token_id) override;

  Status HeartbeatNode(const NodeRecord& node, SystemTime now) override;
  Result<std::vector<NodeRecord>> ListNodes(SystemTime since) override;
  Status RemoveNode(const std::string& name) override;
  Result<std::string> AcquireLease(const std::string& lease, const std::string& holder,
                                   SystemTime now, std::chrono::milliseconds ttl) override;
  Status ReleaseLease(const std::string& lease, const std::string& holder) override;
  // In this process only (one node on SQLite); PostgresStore carries them between nodes.
  Status Publish(const std::string& payload) override;
  Status Subscribe(std::function<void(const std::string& payload)> on_message) override;

  // The event chunker's compression context, and the connections' (ReleaseConnectionCachesLocked).
  void ReleaseCaches() override;

 protected:
  using Body = std::function<Status(sql::Connection&)>;

  SqlStore(const Clock& clock, SqlStoreOptions options);

  // Runs `body` in one write transaction: commits when it returns OK, rolls back otherwise.
  Status Write(const Body& body);
  // The same, with write_mu_ held by the caller.
  virtual Status WriteLocked(const Body& body) = 0;
  // Runs `body` in one read transaction (a consistent snapshot) that never blocks the writer.
  virtual Status Read(const Body& body) = 0;
  // Frees what the connections cache (the writer's with write_mu_ held by the caller).
  virtual void ReleaseConnectionCachesLocked() {}
  // The write mutex if no one holds it (this thread included), else a lock that owns nothing.
  std::unique_lock<std::mutex> TryWriteLock() {
    return std::unique_lock<std::mutex>(write_mu_, std::try_to_lock);
  }

  // Starts the background event writer (once the schema is there). A derived class calls
  // StopEventWriter() first thing in its destructor: the writer's last commit needs the
  // derived class's connections.
  void StartEventWriter();
  void StopEventWriter();

  const Clock& clock_;
  const SqlStoreOptions options_;

 private:
  // Called on the event writer's thread (or FinishBuild's) with a batch in queue order.
  Status CommitEventBatch(const std::vector<sql::QueuedEvent>& batch);
  // Commits `batch` and then `then` (if any) in one transaction; when `then` fails, the events
  // still commit. `then` is skipped when some build's events cannot be written. Returns the
  // first failure.
  Status CommitEventsAnd(const std::vector<sql::QueuedEvent>& batch, const Body& then);
  Result<int64_t> NextSeqLocked(Id build_id);
  // CreateJobBuildWithInputs, the build started too when `started`.
  Result<Build> InsertJobBuild(Id job_id, const Json& plan, const std::vector<BuildInput>& inputs,
                               bool started);
  // Tells the listener `range` was appended to `build_id` and queues `queued` (those events) for
  // the writer. REQUIRES: seq_mu_ held; `range` starts at NextSeqLocked(build_id).
  Status QueueLocked(Id build_id, SeqRange range, std::vector<sql::QueuedEvent> queued);
  // Remembers that a just-created build has no events yet, and its plan (when given; up to 1,024
  // builds) for the Build that FinishBuild returns, which then parses nothing back.
  void NoteNewBuild(Id build_id, const Json* plan = nullptr);
  // The plan NoteNewBuild kept for `build_id`, taken; nullopt if none was kept.
  std::optional<Json> TakeNewBuildPlan(Id build_id);
  void ForgetBuildEvents(Id build_id);

  std::mutex write_mu_;
  std::unique_ptr<sql::EventChunker> chunker_;  // GUARDED_BY(write_mu_)
  std::mutex seq_mu_;  // held while assigning seqs and queueing, so seq order = queue order
  std::unordered_map<Id, int64_t> next_seq_;                   // GUARDED_BY(seq_mu_)
  std::unordered_map<Id, Json> new_build_plans_;               // GUARDED_BY(seq_mu_)
  std::atomic<std::shared_ptr<BuildEventListener>> listener_;  // may be null
  std::unique_ptr<sql::EventWriter> events_;
  std::mutex subscriber_mu_;
  std::function<void(const std::string&)> subscriber_;  // GUARDED_BY(subscriber_mu_)
};

}  // namespace baton::runner
