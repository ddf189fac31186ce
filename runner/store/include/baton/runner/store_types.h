// Records the Store keeps: teams, pipelines and their config versions, jobs, resources and their
// versions, builds with their inputs/outputs/events, artifacts, workers, webhook deliveries and
// API tokens. Concourse's concepts and words (DESIGN.md §3).
//
// Plain values; thread-compatible. Ids are database ids (> 0); 0 means "none".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "baton/common/clock.h"
#include "baton/common/json.h"
#include "baton/pipelines/pipeline_config.h"
#include "baton/runner/build_status.h"

namespace baton::runner {

using Id = int64_t;

struct Team {
  Id id = 0;
  std::string name;
  SystemTime created_at;
};

struct PipelineRecord {
  Id id = 0;
  Id team_id = 0;
  std::string team;
  std::string name;
  bool paused = false;
  bool public_ = false;        // exposed: visible without logging in
  int64_t config_version = 0;  // the current pipeline_configs version (1, 2, ...)
  SystemTime created_at;
};

// One saved version of a pipeline's configuration.
struct PipelineConfigVersion {
  Id pipeline_id = 0;
  int64_t version = 0;
  std::string yaml;              // the file as the user wrote it
  Json config = Json::object();  // the loaded config as JSON (what the scheduler runs)
  Json vars = Json::object();    // the ((vars)) used to interpolate it
  SystemTime created_at;
};

// A job as the pipeline config declares it (input of SetPipeline).
struct JobSpec {
  std::string name;
  std::string old_name;  // rename: keeps the history of the job called old_name
  Json config = Json::object();
};

struct JobRecord {
  Id id = 0;
  Id pipeline_id = 0;
  std::string name;
  bool paused = false;
  bool active = true;  // false once removed from the pipeline config (history is kept)
  int64_t next_build_number = 1;
  Json config = Json::object();
};

// A resource as the pipeline config declares it (input of SetPipeline).
struct ResourceSpec {
  std::string name;
  std::string old_name;
  std::string type;
  std::string source_hash;  // versions are kept per (resource, source_hash), as Concourse does
  Json config = Json::object();
};

struct ResourceRecord {
  Id id = 0;
  Id pipeline_id = 0;
  std::string name;
  std::string type;
  std::string source_hash;
  bool active = true;
  Json config = Json::object();
  Id pinned_version_id = 0;  // 0 = not pinned
  std::string pin_comment;
  std::string check_error;  // empty when the last check succeeded
  std::optional<SystemTime> last_checked_at;
};

// A version found by a check, oldest first (input of SaveResourceVersions).
struct VersionFound {
  Json version = Json::object();  // e.g. {"ref": "<sha>"}
  Json metadata = Json::array();  // [{"name": "author", "value": "..."}]
};

struct ResourceVersion {
  Id id = 0;
  Id resource_id = 0;
  Json version = Json::object();
  Json metadata = Json::array();
  int64_t check_order = 0;  // larger = newer
  SystemTime created_at;
};

// Newest first. `before_check_order` pages backwards (0 = from the newest).
struct VersionPage {
  int64_t before_check_order = 0;
  int limit = 100;
};

struct Build {
  Id id = 0;
  Id team_id = 0;
  std::string team;
  Id pipeline_id = 0;  // 0 for a one-off build outside a pipeline
  std::string pipeline;
  Id job_id = 0;  // 0 for a one-off build
  std::string job;
  std::string name;  // per-job number ("1", "2", ...) or the id for one-off builds
  BuildStatus status = BuildStatus::kPending;
  Json plan = Json::object();
  std::string error;  // why it errored, when the store or the runner knows
  SystemTime created_at;
  std::optional<SystemTime> started_at;
  std::optional<SystemTime> finished_at;
  // A rerun (Concourse's "3.1"): the build it reruns with the same inputs (0 = not a rerun, or
  // the original was reaped) and its number among that build's reruns (1, 2, ...; 0 = none).
  Id rerun_of = 0;
  int rerun_number = 0;
  // When build_log_retention deleted this build's log and artifacts (the build itself stays).
  std::optional<SystemTime> logs_reaped_at;

  bool one_off() const { return job_id == 0; }
};

// Which builds to list: newest first, ids in (since_id, until_id), at most `limit`.
struct BuildQuery {
  Id team_id = 0;                     // 0 = any
  Id pipeline_id = 0;                 // 0 = any
  Id job_id = 0;                      // 0 = any
  std::vector<BuildStatus> statuses;  // empty = any
  Id since_id = 0;                    // only ids > since_id (0 = no bound)
  Id until_id = 0;                    // only ids < until_id (0 = no bound)
  int limit = 50;
  bool with_plan = true;  // false: each build's plan reads as null (lists that do not show it)
};

struct BuildInput {
  std::string name;  // the get step's name
  Id resource_version_id = 0;
  Id resource_id = 0;             // filled on read
  Json version = Json::object();  // filled on read
  // True when no earlier build of the same job used this version under this name. Computed by
  // the store when the inputs are saved.
  bool first_occurrence = false;
};

struct BuildOutput {
  std::string name;  // the put step's name
  Id resource_version_id = 0;
  Id resource_id = 0;             // filled on read
  Json version = Json::object();  // filled on read
};

// One entry of a build's event log. Logs are events of type "log" with a stream
// ("stdout"/"stderr") and the text in `payload`: one or more whole lines joined by '\n', without
// a trailing newline (a run of one read of a step's output; logs written before runs were kept
// together hold one line each, the same format); structured events (status, step-start,
// step-finish, ...) carry JSON text in `payload`.
struct BuildEvent {
  int64_t seq = 0;     // 1, 2, 3, ... per build; assigned by the store
  SystemTime time;     // the epoch means "now" when appending
  std::string origin;  // step id or name
  std::string type;
  std::string stream;
  std::string payload;
};

// Log texts of one step, stream and moment, as EventLog::AppendLogLines takes them: each becomes
// a "log" event, without an event object per entry on its way to the store. An entry is one
// line or a run of whole lines joined by '\n' (BuildEvent::payload), kept as its own string: a
// run's text is moved, not copied, from the executor to the store (issue 16, W4).
struct LogLines {
  std::string origin;              // the step's id
  std::string stream;              // "stdout", "stderr", ...
  SystemTime time;                 // of every line; the epoch means "now" when appending
  std::vector<std::string> texts;  // the entries in order

  void Add(std::string text) { texts.push_back(std::move(text)); }
  size_t size() const { return texts.size(); }
  std::string_view line(size_t i) const { return texts[i]; }
};

// Seqs given to appended events: [first, last].
struct SeqRange {
  int64_t first = 0;
  int64_t last = 0;
};

struct Artifact {
  Id id = 0;
  Id build_id = 0;
  std::string name;
  std::string digest;  // "sha256:<hex>" of the stored content
  int64_t size = 0;
  SystemTime created_at;
};

// What ReapBuilds deleted.
struct ReapedBuilds {
  std::vector<Build> builds;  // whose logs and artifacts were deleted
  // Digests of deleted artifact rows that no remaining build refers to: the artifact store may
  // remove their files.
  std::vector<std::string> unreferenced_digests;
};

struct WorkerRecord {
  std::string name;
  std::string platform;
  std::vector<std::string> tags;
  int capacity = 0;
  std::string state;  // "running", "stalled", "landing", ...
  SystemTime last_heartbeat;
  Json info = Json::object();
};

struct WebhookDelivery {
  Id id = 0;
  std::string provider;     // github, gitlab, gitea, bitbucket, resource
  std::string delivery_id;  // the provider's id (X-GitHub-Delivery, ...)
  SystemTime received_at;
  std::string status;       // "accepted", "rejected: bad signature", ...
  std::string body_sha256;  // hex
};

struct ApiToken {
  Id id = 0;
  Id team_id = 0;
  std::string team;
  std::string name;
  std::string token_sha256;  // hex; the plain token is never stored
  SystemTime created_at;
  std::optional<SystemTime> expires_at;
  std::optional<SystemTime> last_used_at;
};

}  // namespace baton::runner
