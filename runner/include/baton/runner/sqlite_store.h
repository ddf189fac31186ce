// SqliteStore: the Store on one SQLite file (WAL mode, synchronous=NORMAL, foreign keys on),
// schema created by numbered migrations (PRAGMA user_version).
//
// Connections: one writer connection guarded by a mutex (every state change is one
// BEGIN IMMEDIATE transaction) and a pool of read-only connections, so readers (SSE followers,
// the API) never block the writer and always see committed state.
//
// Build events go through a bounded queue to a background writer thread that commits every
// ~50 ms or 1000 events. Events are stored in chunks of up to 64 KiB per row (a compact binary
// encoding with per-event seq, time, origin, type and stream), so a 1 GB log is ~1 GB on disk in
// ~16k rows and is only ever read a page at a time.
//
// Crash safety: committed transactions survive kill -9 (WAL); builds left pending/started are
// found by MarkOrphanedBuildsErrored on the next start.
//
// Thread-safety: every method may be called from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "baton/common/clock.h"
#include "baton/runner/store.h"

namespace baton::runner {

namespace sqlite {
class Connection;
class ReaderPool;
class EventWriter;
class EventChunker;
struct QueuedEvent;
}  // namespace sqlite

struct SqliteStoreOptions {
  std::chrono::milliseconds event_commit_interval{50};
  size_t event_commit_batch = 1000;         // commit at once when this many are queued
  size_t event_queue_max_bytes = 16 << 20;  // AppendEvents blocks beyond this
  size_t event_chunk_bytes = 64 << 10;      // target size of one stored chunk of events
  std::chrono::milliseconds busy_timeout{10000};
  size_t max_idle_readers = 4;
  // ListWorkers reports a running worker as "stalled" after this long without a heartbeat.
  std::chrono::milliseconds worker_stall_after{30000};
};

class SqliteStore final : public Store {
 public:
  // Opens (creating if needed) the database file and migrates it to the current schema.
  // A database written by a newer Baton is kFailedPrecondition. `clock` must outlive the store.
  static Result<std::unique_ptr<SqliteStore>> Open(const std::filesystem::path& db_file,
                                                   const Clock& clock,
                                                   SqliteStoreOptions options = {});
  // Opens <data_dir>/baton.db, creating data_dir.
  static Result<std::unique_ptr<SqliteStore>> OpenDataDir(const std::filesystem::path& data_dir,
                                                          const Clock& clock,
                                                          SqliteStoreOptions options = {});
  // The schema version this Baton writes.
  static int LatestSchemaVersion();

  ~SqliteStore() override;  // commits queued events, then closes
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  // PRAGMA integrity_check; OK when the file is sound.
  Status CheckIntegrity();
  Result<int> SchemaVersion();

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
  Result<Build> CreateRerunBuild(Id build_id, const Json& plan) override;
  Result<Build> CreateOneOffBuild(const std::string& team, Id pipeline_id,
                                  const Json& plan) override;
  Result<Build> GetBuild(Id build_id) override;
  Result<Build> GetJobBuild(Id job_id, const std::string& name) override;
  Result<std::vector<Build>> ListBuilds(const BuildQuery& query) override;
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
  Status Flush() override;
  Result<std::vector<BuildEvent>> ReadEvents(Id build_id, int64_t after_seq, int limit) override;
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

 private:
  using WriteBody = std::function<Status(sqlite::Connection&)>;
  using ReadBody = std::function<Status(sqlite::Connection&)>;

  SqliteStore(const Clock& clock, SqliteStoreOptions options);
  Status Initialize(const std::filesystem::path& db_file);
  // Runs `body` in one BEGIN IMMEDIATE transaction on the writer connection; commits when it
  // returns OK, rolls back otherwise.
  Status Write(const WriteBody& body);
  // Runs `body` in one read transaction on a pooled read-only connection.
  Status Read(const ReadBody& body);
  // Called on the event writer thread with a batch in queue order.
  Status CommitEventBatch(const std::vector<sqlite::QueuedEvent>& batch);
  Result<int64_t> NextSeqLocked(Id build_id);
  // Remembers that a just-created build has no events yet.
  void NoteNewBuild(Id build_id);
  void ForgetBuildEvents(Id build_id);

  const Clock& clock_;
  const SqliteStoreOptions options_;
  std::mutex write_mu_;
  std::unique_ptr<sqlite::Connection> writer_;     // GUARDED_BY(write_mu_)
  std::unique_ptr<sqlite::EventChunker> chunker_;  // GUARDED_BY(write_mu_)
  std::unique_ptr<sqlite::ReaderPool> readers_;
  std::mutex seq_mu_;  // held while assigning seqs and queueing, so seq order = queue order
  std::unordered_map<Id, int64_t> next_seq_;                   // GUARDED_BY(seq_mu_)
  std::atomic<std::shared_ptr<BuildEventListener>> listener_;  // may be null
  std::unique_ptr<sqlite::EventWriter> events_;                // destroyed first (declared last)
};

}  // namespace baton::runner
