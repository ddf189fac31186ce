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

#define BATON_BUILD_SELECT(plan)                                                      \
  "SELECT b.id, b.team_id, t.name, b.pipeline_id, p.name, b.job_id, j.name, b.name, " \
  "b.status, " plan                                                                   \
  ", b.error, b.created_at, b.started_at, b.finished_at, b.rerun_of, "                \
  "b.rerun_number, b.logs_reaped_at FROM builds b "                                   \
  "JOIN teams t ON t.id = b.team_id LEFT JOIN pipelines p ON p.id = b.pipeline_id "   \
  "LEFT JOIN jobs j ON j.id = b.job_id "
const char* const kBuildSelect = BATON_BUILD_SELECT("b.plan_json");
// NULL reads as an empty text, and that as a null plan, without parsing anything.
const char* const kBuildSummarySelect = BATON_BUILD_SELECT("NULL");
#undef BATON_BUILD_SELECT

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

std::optional<SystemTime> Columns::OptionalTime() { return sql::OptionalTime(row_, next_++); }

Json Columns::JsonValue() {
  std::string text = Text();
  return text.empty() ? Json() : ParseJson(text);
}

Team ReadTeam(const Statement& row) {
  Columns c(row);
  Team t;
  t.id = c.Int();
  t.name = c.Text();
  t.created_at = c.Time();
  return t;
}

PipelineRecord ReadPipeline(const Statement& row) {
  Columns c(row);
  PipelineRecord p;
  p.id = c.Int();
  p.team_id = c.Int();
  p.team = c.Text();
  p.name = c.Text();
  p.paused = c.Bool();
  p.public_ = c.Bool();
  p.config_version = c.Int();
  p.created_at = c.Time();
  return p;
}

JobRecord ReadJob(const Statement& row) {
  Columns c(row);
  JobRecord j;
  j.id = c.Int();
  j.pipeline_id = c.Int();
  j.name = c.Text();
  j.paused = c.Bool();
  j.active = c.Bool();
  j.next_build_number = c.Int();
  j.config = c.JsonValue();
  return j;
}

ResourceRecord ReadResource(const Statement& row) {
  Columns c(row);
  ResourceRecord r;
  r.id = c.Int();
  r.pipeline_id = c.Int();
  r.name = c.Text();
  r.type = c.Text();
  r.source_hash = c.Text();
  r.active = c.Bool();
  r.config = c.JsonValue();
  r.pinned_version_id = c.IdOrZero();
  r.pin_comment = c.Text();
  r.check_error = c.Text();
  r.last_checked_at = c.OptionalTime();
  return r;
}

ResourceVersion ReadVersion(const Statement& row) {
  Columns c(row);
  ResourceVersion v;
  v.id = c.Int();
  v.resource_id = c.Int();
  v.version = c.JsonValue();
  v.metadata = c.JsonValue();
  v.check_order = c.Int();
  v.created_at = c.Time();
  return v;
}

Build ReadBuild(const Statement& row) {
  Columns c(row);
  Build b;
  b.id = c.Int();
  b.team_id = c.Int();
  b.team = c.Text();
  b.pipeline_id = c.IdOrZero();
  b.pipeline = c.Text();
  b.job_id = c.IdOrZero();
  b.job = c.Text();
  b.name = c.Text();
  b.status = ParseBuildStatus(c.Text()).value_or(BuildStatus::kErrored);
  b.plan = c.JsonValue();
  b.error = c.Text();
  b.created_at = c.Time();
  b.started_at = c.OptionalTime();
  b.finished_at = c.OptionalTime();
  b.rerun_of = c.IdOrZero();
  b.rerun_number = static_cast<int>(c.Int());
  b.logs_reaped_at = c.OptionalTime();
  return b;
}

Artifact ReadArtifact(const Statement& row) {
  Columns c(row);
  Artifact a;
  a.id = c.Int();
  a.build_id = c.Int();
  a.name = c.Text();
  a.digest = c.Text();
  a.size = c.Int();
  a.created_at = c.Time();
  return a;
}

ApiToken ReadToken(const Statement& row) {
  Columns c(row);
  ApiToken k;
  k.id = c.Int();
  k.team_id = c.Int();
  k.team = c.Text();
  k.name = c.Text();
  k.token_sha256 = c.Text();
  k.created_at = c.Time();
  k.expires_at = c.OptionalTime();
  k.last_used_at = c.OptionalTime();
  return k;
}

}  // namespace baton::runner::sql
