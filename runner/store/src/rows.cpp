#include "rows.h"

namespace baton::runner::sql {

const char* const kTeamSelect = "SELECT id, name, created_at FROM teams ";

const char* const kPipelineSelect =
    "SELECT p.id, p.team_id, t.name, p.name, p.paused, p.public, p.config_version, "
    "p.created_at FROM pipelines p JOIN teams t ON t.id = p.team_id ";

const char* const kJobSelect =
    "SELECT id, pipeline_id, name, paused, active, next_build_number, config_json FROM jobs ";

const char* const kResourceSelect =
    "SELECT id, pipeline_id, name, type, source_hash, active, config_json, pinned_version_id, "
    "pin_comment, check_error, last_checked_at FROM resources ";

const char* const kVersionSelect =
    "SELECT v.id, v.resource_id, v.version_json, v.metadata_json, v.check_order, v.created_at "
    "FROM resource_versions v ";

const char* const kBuildSelect =
    "SELECT b.id, b.team_id, t.name, b.pipeline_id, p.name, b.job_id, j.name, b.name, b.status, "
    "b.plan_json, b.error, b.created_at, b.started_at, b.finished_at, b.rerun_of, "
    "b.rerun_number, b.logs_reaped_at FROM builds b "
    "JOIN teams t ON t.id = b.team_id LEFT JOIN pipelines p ON p.id = b.pipeline_id "
    "LEFT JOIN jobs j ON j.id = b.job_id ";

const char* const kArtifactSelect =
    "SELECT id, build_id, name, digest, size, created_at FROM artifacts ";

const char* const kTokenSelect =
    "SELECT k.id, k.team_id, t.name, k.name, k.token_sha256, k.created_at, k.expires_at, "
    "k.last_used_at FROM api_tokens k JOIN teams t ON t.id = k.team_id ";

std::string JsonText(const Json& json) {
  return json.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Json ParseJson(const std::string& text) {
  Json json = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return json.is_discarded() ? Json() : json;
}

std::optional<SystemTime> OptionalTime(const Statement& row, int col) {
  if (row.IsNull(col)) return std::nullopt;
  return FromUnixMillis(row.Int(col));
}

std::optional<int64_t> OptionalMillis(const std::optional<SystemTime>& t) {
  if (!t) return std::nullopt;
  return ToUnixMillis(*t);
}

Team ReadTeam(const Statement& row) {
  return Team{row.Int(0), row.Text(1), FromUnixMillis(row.Int(2))};
}

PipelineRecord ReadPipeline(const Statement& row) {
  PipelineRecord p;
  p.id = row.Int(0);
  p.team_id = row.Int(1);
  p.team = row.Text(2);
  p.name = row.Text(3);
  p.paused = row.Int(4) != 0;
  p.public_ = row.Int(5) != 0;
  p.config_version = row.Int(6);
  p.created_at = FromUnixMillis(row.Int(7));
  return p;
}

JobRecord ReadJob(const Statement& row) {
  JobRecord j;
  j.id = row.Int(0);
  j.pipeline_id = row.Int(1);
  j.name = row.Text(2);
  j.paused = row.Int(3) != 0;
  j.active = row.Int(4) != 0;
  j.next_build_number = row.Int(5);
  j.config = ParseJson(row.Text(6));
  return j;
}

ResourceRecord ReadResource(const Statement& row) {
  ResourceRecord r;
  r.id = row.Int(0);
  r.pipeline_id = row.Int(1);
  r.name = row.Text(2);
  r.type = row.Text(3);
  r.source_hash = row.Text(4);
  r.active = row.Int(5) != 0;
  r.config = ParseJson(row.Text(6));
  r.pinned_version_id = row.IsNull(7) ? 0 : row.Int(7);
  r.pin_comment = row.Text(8);
  r.check_error = row.Text(9);
  r.last_checked_at = OptionalTime(row, 10);
  return r;
}

ResourceVersion ReadVersion(const Statement& row) {
  ResourceVersion v;
  v.id = row.Int(0);
  v.resource_id = row.Int(1);
  v.version = ParseJson(row.Text(2));
  v.metadata = ParseJson(row.Text(3));
  v.check_order = row.Int(4);
  v.created_at = FromUnixMillis(row.Int(5));
  return v;
}

Build ReadBuild(const Statement& row) {
  Build b;
  b.id = row.Int(0);
  b.team_id = row.Int(1);
  b.team = row.Text(2);
  b.pipeline_id = row.IsNull(3) ? 0 : row.Int(3);
  b.pipeline = row.Text(4);
  b.job_id = row.IsNull(5) ? 0 : row.Int(5);
  b.job = row.Text(6);
  b.name = row.Text(7);
  b.status = ParseBuildStatus(row.Text(8)).value_or(BuildStatus::kErrored);
  b.plan = ParseJson(row.Text(9));
  b.error = row.Text(10);
  b.created_at = FromUnixMillis(row.Int(11));
  b.started_at = OptionalTime(row, 12);
  b.finished_at = OptionalTime(row, 13);
  b.rerun_of = row.IsNull(14) ? 0 : row.Int(14);
  b.rerun_number = static_cast<int>(row.Int(15));
  b.logs_reaped_at = OptionalTime(row, 16);
  return b;
}

Artifact ReadArtifact(const Statement& row) {
  return Artifact{row.Int(0),  row.Int(1), row.Text(2),
                  row.Text(3), row.Int(4), FromUnixMillis(row.Int(5))};
}

ApiToken ReadToken(const Statement& row) {
  ApiToken k;
  k.id = row.Int(0);
  k.team_id = row.Int(1);
  k.team = row.Text(2);
  k.name = row.Text(3);
  k.token_sha256 = row.Text(4);
  k.created_at = FromUnixMillis(row.Int(5));
  k.expires_at = OptionalTime(row, 6);
  k.last_used_at = OptionalTime(row, 7);
  return k;
}

}  // namespace baton::runner::sql
