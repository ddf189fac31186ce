#include "pg_migrations.h"

#include <string>
#include <vector>

#include "sql_migrations.h"

namespace baton::runner::pg {
namespace {

using sql::Migration;

// The advisory lock key held while migrating ("baton-mg").
constexpr const char* kMigrationLock = "SELECT pg_advisory_lock(7089066110338934631)";
constexpr const char* kMigrationUnlock = "SELECT pg_advisory_unlock(7089066110338934631)";

// Times are Unix milliseconds, booleans integers, JSON text: as on SQLite, so one SQL serves
// both. Names compare bytewise (COLLATE "C"), as SQLite's do.
constexpr const char* kInitialSchema = R"sql(
CREATE TABLE teams (
  id BIGSERIAL PRIMARY KEY,
  name TEXT COLLATE "C" NOT NULL UNIQUE,
  created_at BIGINT NOT NULL
);
INSERT INTO teams (name, created_at)
  VALUES ('main', (extract(epoch FROM now()) * 1000)::BIGINT);

CREATE TABLE pipelines (
  id BIGSERIAL PRIMARY KEY,
  team_id BIGINT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  name TEXT COLLATE "C" NOT NULL,
  paused INTEGER NOT NULL DEFAULT 0,
  public INTEGER NOT NULL DEFAULT 0,
  config_version BIGINT NOT NULL DEFAULT 0,
  created_at BIGINT NOT NULL,
  UNIQUE (team_id, name)
);

CREATE TABLE pipeline_configs (
  pipeline_id BIGINT NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
  version BIGINT NOT NULL,
  yaml TEXT NOT NULL,
  config_json TEXT NOT NULL,
  vars_json TEXT NOT NULL,
  created_at BIGINT NOT NULL,
  PRIMARY KEY (pipeline_id, version)
);

CREATE TABLE jobs (
  id BIGSERIAL PRIMARY KEY,
  pipeline_id BIGINT NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
  name TEXT COLLATE "C" NOT NULL,
  paused INTEGER NOT NULL DEFAULT 0,
  active INTEGER NOT NULL DEFAULT 1,
  next_build_number BIGINT NOT NULL DEFAULT 1,
  config_json TEXT NOT NULL,
  UNIQUE (pipeline_id, name)
);

CREATE TABLE resources (
  id BIGSERIAL PRIMARY KEY,
  pipeline_id BIGINT NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
  name TEXT COLLATE "C" NOT NULL,
  type TEXT NOT NULL,
  source_hash TEXT NOT NULL,
  active INTEGER NOT NULL DEFAULT 1,
  config_json TEXT NOT NULL,
  pinned_version_id BIGINT,
  pin_comment TEXT NOT NULL DEFAULT '',
  check_error TEXT NOT NULL DEFAULT '',
  last_checked_at BIGINT,
  UNIQUE (pipeline_id, name)
);

CREATE TABLE resource_versions (
  id BIGSERIAL PRIMARY KEY,
  resource_id BIGINT NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
  source_hash TEXT NOT NULL,
  version_json TEXT NOT NULL,
  metadata_json TEXT NOT NULL,
  check_order BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (resource_id, source_hash, version_json)
);
CREATE INDEX resource_versions_by_order ON resource_versions (resource_id, source_hash, check_order);
ALTER TABLE resources ADD FOREIGN KEY (pinned_version_id) REFERENCES resource_versions(id)
  ON DELETE SET NULL;

CREATE TABLE builds (
  id BIGSERIAL PRIMARY KEY,
  team_id BIGINT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  pipeline_id BIGINT REFERENCES pipelines(id) ON DELETE CASCADE,
  job_id BIGINT REFERENCES jobs(id) ON DELETE CASCADE,
  name TEXT COLLATE "C" NOT NULL,
  status TEXT NOT NULL,
  plan_json TEXT NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  started_at BIGINT,
  finished_at BIGINT,
  UNIQUE (job_id, name)
);
CREATE INDEX builds_by_pipeline ON builds (pipeline_id, id);
CREATE INDEX builds_unfinished ON builds (status) WHERE status IN ('pending', 'started');

CREATE TABLE build_inputs (
  build_id BIGINT NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  name TEXT COLLATE "C" NOT NULL,
  resource_version_id BIGINT NOT NULL REFERENCES resource_versions(id) ON DELETE CASCADE,
  first_occurrence INTEGER NOT NULL,
  PRIMARY KEY (build_id, name)
);
CREATE INDEX build_inputs_by_version ON build_inputs (resource_version_id);

CREATE TABLE build_outputs (
  build_id BIGINT NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  name TEXT COLLATE "C" NOT NULL,
  resource_version_id BIGINT NOT NULL REFERENCES resource_versions(id) ON DELETE CASCADE,
  PRIMARY KEY (build_id, name)
);
CREATE INDEX build_outputs_by_version ON build_outputs (resource_version_id);

-- Build events, packed in chunks of consecutive seqs (see event_codec.h); retention deletes
-- whole chunks.
CREATE TABLE build_event_chunks (
  id BIGSERIAL PRIMARY KEY,
  build_id BIGINT NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  first_seq BIGINT NOT NULL,
  last_seq BIGINT NOT NULL,
  event_count BIGINT NOT NULL,
  body BYTEA NOT NULL
);
CREATE UNIQUE INDEX build_event_chunks_by_seq ON build_event_chunks (build_id, last_seq);

CREATE TABLE artifacts (
  id BIGSERIAL PRIMARY KEY,
  build_id BIGINT NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  name TEXT COLLATE "C" NOT NULL,
  digest TEXT NOT NULL,
  size BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  UNIQUE (build_id, name)
);
CREATE INDEX artifacts_by_digest ON artifacts (digest);

CREATE TABLE workers (
  name TEXT COLLATE "C" PRIMARY KEY,
  platform TEXT NOT NULL,
  tags_json TEXT NOT NULL,
  capacity INTEGER NOT NULL,
  state TEXT NOT NULL,
  last_heartbeat BIGINT NOT NULL,
  info_json TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
  id BIGSERIAL PRIMARY KEY,
  provider TEXT NOT NULL,
  delivery_id TEXT NOT NULL,
  received_at BIGINT NOT NULL,
  status TEXT NOT NULL,
  body_sha256 TEXT NOT NULL,
  UNIQUE (provider, delivery_id)
);

CREATE TABLE api_tokens (
  id BIGSERIAL PRIMARY KEY,
  team_id BIGINT NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  token_sha256 TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  expires_at BIGINT,
  last_used_at BIGINT
);
)sql";

constexpr const char* kBuildReruns = R"sql(
ALTER TABLE builds ADD COLUMN rerun_of BIGINT REFERENCES builds(id) ON DELETE SET NULL;
ALTER TABLE builds ADD COLUMN rerun_number INTEGER NOT NULL DEFAULT 0;
CREATE INDEX builds_by_rerun_of ON builds (rerun_of) WHERE rerun_of IS NOT NULL;
CREATE INDEX builds_by_job ON builds (job_id, id);
)sql";

constexpr const char* kBuildLogsReaped = R"sql(
ALTER TABLE builds ADD COLUMN logs_reaped_at BIGINT;
)sql";

// Several web nodes on one database (cluster_store.h): who is up, and who holds which lease.
constexpr const char* kNodesAndLeases = R"sql(
CREATE TABLE nodes (
  name TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  started_at BIGINT NOT NULL,
  last_seen BIGINT NOT NULL
);
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at BIGINT NOT NULL
);
)sql";

// A build's inputs carry its job: whether an input is the job's first use of that version
// (first_occurrence) is then one lookup in build_inputs_by_job, where it looked at every earlier
// use of the version, by any job (issue 16).
constexpr const char* kBuildInputsByJob = R"sql(
ALTER TABLE build_inputs ADD COLUMN job_id BIGINT;
UPDATE build_inputs SET job_id = (SELECT b.job_id FROM builds b WHERE b.id = build_inputs.build_id);
CREATE INDEX build_inputs_by_job ON build_inputs (job_id, name, resource_version_id, build_id)
  WHERE job_id IS NOT NULL;
)sql";

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, kInitialSchema},  {2, kBuildReruns},      {3, kBuildLogsReaped},
      {4, kNodesAndLeases}, {5, kBuildInputsByJob},
  };
  return kMigrations;
}

std::string WriteVersion(int version) {
  return "UPDATE baton_schema_version SET version = " + std::to_string(version);
}

// The version lives in a table of one row; nodes starting together take turns on an advisory
// lock: the first migrates, the others then find nothing left to do.
const sql::SchemaVersioning kVersioning = {
    "CREATE TABLE IF NOT EXISTS baton_schema_version (version INTEGER NOT NULL);"
    "INSERT INTO baton_schema_version SELECT 0 WHERE NOT EXISTS "
    "(SELECT 1 FROM baton_schema_version)",
    "SELECT max(version) FROM baton_schema_version", WriteVersion, kMigrationLock,
    kMigrationUnlock};

}  // namespace

int LatestSchemaVersion() { return Migrations().back().version; }

Result<int> ReadSchemaVersion(Connection& conn) {
  return sql::ReadSchemaVersion(conn, kVersioning);
}

Status Migrate(Connection& conn) { return sql::Migrate(conn, Migrations(), kVersioning); }

}  // namespace baton::runner::pg
