#include "migrations.h"

#include <string>
#include <vector>

#include "sql_migrations.h"

namespace baton::runner::sqlite {
namespace {

using sql::Migration;

// Times are Unix milliseconds. JSON columns hold text.
constexpr const char* kInitialSchema = R"sql(
CREATE TABLE teams (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL
);
INSERT INTO teams (name, created_at) VALUES ('main', unixepoch() * 1000);

CREATE TABLE pipelines (
  id INTEGER PRIMARY KEY,
  team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  paused INTEGER NOT NULL DEFAULT 0,
  public INTEGER NOT NULL DEFAULT 0,
  config_version INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  UNIQUE (team_id, name)
);

CREATE TABLE pipeline_configs (
  pipeline_id INTEGER NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  yaml TEXT NOT NULL,
  config_json TEXT NOT NULL,
  vars_json TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (pipeline_id, version)
);

CREATE TABLE jobs (
  id INTEGER PRIMARY KEY,
  pipeline_id INTEGER NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  paused INTEGER NOT NULL DEFAULT 0,
  active INTEGER NOT NULL DEFAULT 1,
  next_build_number INTEGER NOT NULL DEFAULT 1,
  config_json TEXT NOT NULL,
  UNIQUE (pipeline_id, name)
);

CREATE TABLE resources (
  id INTEGER PRIMARY KEY,
  pipeline_id INTEGER NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  type TEXT NOT NULL,
  source_hash TEXT NOT NULL,
  active INTEGER NOT NULL DEFAULT 1,
  config_json TEXT NOT NULL,
  pinned_version_id INTEGER REFERENCES resource_versions(id) ON DELETE SET NULL,
  pin_comment TEXT NOT NULL DEFAULT '',
  check_error TEXT NOT NULL DEFAULT '',
  last_checked_at INTEGER,
  UNIQUE (pipeline_id, name)
);

CREATE TABLE resource_versions (
  id INTEGER PRIMARY KEY,
  resource_id INTEGER NOT NULL REFERENCES resources(id) ON DELETE CASCADE,
  source_hash TEXT NOT NULL,
  version_json TEXT NOT NULL,
  metadata_json TEXT NOT NULL,
  check_order INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (resource_id, source_hash, version_json)
);
CREATE INDEX resource_versions_by_order ON resource_versions (resource_id, source_hash, check_order);

CREATE TABLE builds (
  id INTEGER PRIMARY KEY,
  team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  pipeline_id INTEGER REFERENCES pipelines(id) ON DELETE CASCADE,
  job_id INTEGER REFERENCES jobs(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  status TEXT NOT NULL,
  plan_json TEXT NOT NULL,
  error TEXT NOT NULL DEFAULT '',
  created_at INTEGER NOT NULL,
  started_at INTEGER,
  finished_at INTEGER,
  UNIQUE (job_id, name)
);
CREATE INDEX builds_by_pipeline ON builds (pipeline_id, id);
CREATE INDEX builds_unfinished ON builds (status) WHERE status IN ('pending', 'started');

CREATE TABLE build_inputs (
  build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  resource_version_id INTEGER NOT NULL REFERENCES resource_versions(id) ON DELETE CASCADE,
  first_occurrence INTEGER NOT NULL,
  PRIMARY KEY (build_id, name)
);
CREATE INDEX build_inputs_by_version ON build_inputs (resource_version_id);

CREATE TABLE build_outputs (
  build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  resource_version_id INTEGER NOT NULL REFERENCES resource_versions(id) ON DELETE CASCADE,
  PRIMARY KEY (build_id, name)
);
CREATE INDEX build_outputs_by_version ON build_outputs (resource_version_id);

-- Build events, packed in chunks of consecutive seqs (see event_codec.h).
CREATE TABLE build_event_chunks (
  id INTEGER PRIMARY KEY,
  build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  event_count INTEGER NOT NULL,
  body BLOB NOT NULL
);
CREATE UNIQUE INDEX build_event_chunks_by_seq ON build_event_chunks (build_id, last_seq);

CREATE TABLE artifacts (
  id INTEGER PRIMARY KEY,
  build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  digest TEXT NOT NULL,
  size INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (build_id, name)
);
CREATE INDEX artifacts_by_digest ON artifacts (digest);

CREATE TABLE workers (
  name TEXT PRIMARY KEY,
  platform TEXT NOT NULL,
  tags_json TEXT NOT NULL,
  capacity INTEGER NOT NULL,
  state TEXT NOT NULL,
  last_heartbeat INTEGER NOT NULL,
  info_json TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
  id INTEGER PRIMARY KEY,
  provider TEXT NOT NULL,
  delivery_id TEXT NOT NULL,
  received_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  body_sha256 TEXT NOT NULL,
  UNIQUE (provider, delivery_id)
);

CREATE TABLE api_tokens (
  id INTEGER PRIMARY KEY,
  team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  token_sha256 TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  last_used_at INTEGER
);
)sql";

// Reruns (Concourse's "3.1"): the original build and the rerun's number among its reruns.
constexpr const char* kBuildReruns = R"sql(
ALTER TABLE builds ADD COLUMN rerun_of INTEGER REFERENCES builds(id) ON DELETE SET NULL;
ALTER TABLE builds ADD COLUMN rerun_number INTEGER NOT NULL DEFAULT 0;
CREATE INDEX builds_by_rerun_of ON builds (rerun_of) WHERE rerun_of IS NOT NULL;
CREATE INDEX builds_by_job ON builds (job_id, id);
)sql";

// Retention reaps a build's log and artifacts, as Concourse does, and keeps the build itself (its
// inputs and outputs still decide what the scheduler has built): the time it was reaped.
constexpr const char* kBuildLogsReaped = R"sql(
ALTER TABLE builds ADD COLUMN logs_reaped_at INTEGER;
)sql";

// Several web nodes on one database (cluster_store.h): who is up, and who holds which lease.
constexpr const char* kNodesAndLeases = R"sql(
CREATE TABLE nodes (
  name TEXT PRIMARY KEY,
  url TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  last_seen INTEGER NOT NULL
);
CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  holder TEXT NOT NULL,
  expires_at INTEGER NOT NULL
);
)sql";

// A build's inputs in one b-tree keyed by (build_id, name) instead of a rowid table beside its
// primary key's index: a created build with inputs writes one page fewer (issue 16). Nothing
// refers to build_inputs' rowids.
constexpr const char* kBuildInputsWithoutRowid = R"sql(
CREATE TABLE build_inputs_by_build (
  build_id INTEGER NOT NULL REFERENCES builds(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  resource_version_id INTEGER NOT NULL REFERENCES resource_versions(id) ON DELETE CASCADE,
  first_occurrence INTEGER NOT NULL,
  PRIMARY KEY (build_id, name)
) WITHOUT ROWID;
INSERT INTO build_inputs_by_build (build_id, name, resource_version_id, first_occurrence)
  SELECT build_id, name, resource_version_id, first_occurrence FROM build_inputs;
DROP TABLE build_inputs;
ALTER TABLE build_inputs_by_build RENAME TO build_inputs;
CREATE INDEX build_inputs_by_version ON build_inputs (resource_version_id);
)sql";

// A build's inputs carry its job: whether an input is the job's first use of that version
// (first_occurrence) is then one lookup in build_inputs_by_job, where it looked at every earlier
// use of the version, by any job (~6 ms for a version 100,000 builds used; issue 16).
constexpr const char* kBuildInputsByJob = R"sql(
ALTER TABLE build_inputs ADD COLUMN job_id INTEGER;
UPDATE build_inputs SET job_id = (SELECT b.job_id FROM builds b WHERE b.id = build_inputs.build_id);
CREATE INDEX build_inputs_by_job ON build_inputs (job_id, name, resource_version_id, build_id)
  WHERE job_id IS NOT NULL;
)sql";

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, kInitialSchema},           {2, kBuildReruns},
      {3, kBuildLogsReaped},         {4, kNodesAndLeases},
      {5, kBuildInputsWithoutRowid}, {6, kBuildInputsByJob},
  };
  return kMigrations;
}

std::string WriteUserVersion(int version) {
  return "PRAGMA user_version = " + std::to_string(version);
}

// The version is the database file's user_version; no lock around the run: each migration's
// write transaction re-reads it.
const sql::SchemaVersioning kVersioning = {"", "PRAGMA user_version", WriteUserVersion, "", ""};

}  // namespace

int LatestSchemaVersion() { return Migrations().back().version; }

Result<int> ReadSchemaVersion(sql::Connection& conn) {
  return sql::ReadSchemaVersion(conn, kVersioning);
}

Status Migrate(Connection& conn) { return sql::Migrate(conn, Migrations(), kVersioning); }

}  // namespace baton::runner::sqlite
