// SqlStore: pipelines, their config versions, and jobs.
#include "baton/runner/sql_store.h"
#include "rows.h"
#include "sql_db.h"

namespace baton::runner {

using sql::Connection;

namespace {

std::string PipelineName(const std::string& team, const std::string& name) {
  return "pipeline " + team + "/" + name;
}

// The team's id, or kNotFound.
Result<Id> TeamId(Connection& conn, const std::string& team) {
  BATON_ASSIGN_OR_RETURN(auto id, conn.QueryInt("SELECT id FROM teams WHERE name = ?", team));
  if (!id) return NotFound("team " + team + " not found");
  return *id;
}

// Creates the pipeline row when missing; checks the expected version. Returns its id.
Result<Id> EnsurePipeline(Connection& conn, const PipelineUpdate& u, int64_t now_ms) {
  BATON_ASSIGN_OR_RETURN(Id team_id, TeamId(conn, u.team));
  BATON_ASSIGN_OR_RETURN(auto row, sql::QueryRows(conn, sql::ReadPipeline,
                                                  std::string(sql::kPipelineSelect) +
                                                      "WHERE p.team_id = ? AND p.name = ?",
                                                  team_id, u.name));
  int64_t current = row.empty() ? 0 : row[0].config_version;
  if (u.expected_version && *u.expected_version != current) {
    return FailedPrecondition(PipelineName(u.team, u.name) + " is at config version " +
                              std::to_string(current) + ", not " +
                              std::to_string(*u.expected_version) +
                              ": it was changed by someone else; fetch it and try again");
  }
  if (!row.empty()) return row[0].id;
  BATON_RETURN_IF_ERROR(
      conn.Run("INSERT INTO pipelines (team_id, name, paused, created_at) VALUES (?, ?, ?, ?)",
               team_id, u.name, u.paused_when_created, now_ms));
  return conn.LastInsertRowId();
}

Status UpsertJob(Connection& conn, Id pipeline_id, const JobSpec& job) {
  if (!job.old_name.empty() && job.old_name != job.name) {
    BATON_RETURN_IF_ERROR(
        conn.Run("UPDATE jobs SET name = ?1 WHERE pipeline_id = ?2 AND name = ?3 AND NOT EXISTS "
                 "(SELECT 1 FROM jobs WHERE pipeline_id = ?2 AND name = ?1)",
                 job.name, pipeline_id, job.old_name));
  }
  return conn.Run(
      "INSERT INTO jobs (pipeline_id, name, config_json) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (pipeline_id, name) DO UPDATE SET config_json = ?3, active = 1",
      pipeline_id, job.name, sql::JsonText(job.config));
}

Status UpsertResource(Connection& conn, Id pipeline_id, const ResourceSpec& r) {
  if (!r.old_name.empty() && r.old_name != r.name) {
    BATON_RETURN_IF_ERROR(conn.Run(
        "UPDATE resources SET name = ?1 WHERE pipeline_id = ?2 AND name = ?3 AND NOT EXISTS "
        "(SELECT 1 FROM resources WHERE pipeline_id = ?2 AND name = ?1)",
        r.name, pipeline_id, r.old_name));
  }
  // A new source means a new version history (Concourse's resource config scope).
  return conn.Run(
      "INSERT INTO resources (pipeline_id, name, type, source_hash, config_json) "
      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (pipeline_id, name) DO UPDATE SET "
      "type = ?3, config_json = ?5, active = 1, "
      "pinned_version_id = CASE WHEN resources.source_hash = ?4 "
      "THEN resources.pinned_version_id END, "
      "check_error = CASE WHEN resources.source_hash = ?4 THEN resources.check_error ELSE '' END, "
      "last_checked_at = CASE WHEN resources.source_hash = ?4 THEN resources.last_checked_at END, "
      "source_hash = ?4",
      pipeline_id, r.name, r.type, r.source_hash, sql::JsonText(r.config));
}

// Marks every job/resource of the pipeline inactive, so the upserts reactivate the current ones.
Status DeactivateAll(Connection& conn, Id pipeline_id) {
  BATON_RETURN_IF_ERROR(conn.Run("UPDATE jobs SET active = 0 WHERE pipeline_id = ?", pipeline_id));
  return conn.Run("UPDATE resources SET active = 0 WHERE pipeline_id = ?", pipeline_id);
}

Status SaveConfigVersion(Connection& conn, Id pipeline_id, const PipelineUpdate& u,
                         int64_t now_ms) {
  BATON_RETURN_IF_ERROR(conn.Run(
      "UPDATE pipelines SET config_version = config_version + 1 WHERE id = ?", pipeline_id));
  return conn.Run(
      "INSERT INTO pipeline_configs (pipeline_id, version, yaml, config_json, vars_json, "
      "created_at) SELECT id, config_version, CAST(? AS TEXT), CAST(? AS TEXT), CAST(? AS TEXT), "
      "CAST(? AS BIGINT) FROM pipelines WHERE id = ?",
      u.yaml, sql::JsonText(u.config), sql::JsonText(u.vars), now_ms, pipeline_id);
}

Status RequireChange(Connection& conn, const std::string& what) {
  if (conn.Changes() == 0) return NotFound(what + " not found");
  return Status::Ok();
}

}  // namespace

Result<PipelineRecord> SqlStore::SetPipeline(const PipelineUpdate& u) {
  if (u.name.empty()) return InvalidArgument("a pipeline needs a name");
  PipelineRecord saved;
  BATON_RETURN_IF_ERROR(Write([&](Connection& conn) -> Status {
    const int64_t now_ms = ToUnixMillis(clock_.Now());
    BATON_ASSIGN_OR_RETURN(Id pipeline_id, EnsurePipeline(conn, u, now_ms));
    BATON_RETURN_IF_ERROR(SaveConfigVersion(conn, pipeline_id, u, now_ms));
    BATON_RETURN_IF_ERROR(DeactivateAll(conn, pipeline_id));
    for (const JobSpec& job : u.jobs) BATON_RETURN_IF_ERROR(UpsertJob(conn, pipeline_id, job));
    for (const ResourceSpec& r : u.resources) {
      BATON_RETURN_IF_ERROR(UpsertResource(conn, pipeline_id, r));
    }
    BATON_ASSIGN_OR_RETURN(
        saved, sql::QueryOne(conn, sql::ReadPipeline, "pipeline",
                             std::string(sql::kPipelineSelect) + "WHERE p.id = ?", pipeline_id));
    return Status::Ok();
  }));
  return saved;
}

Result<PipelineRecord> SqlStore::GetPipeline(const std::string& team, const std::string& name) {
  PipelineRecord p;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(
        p, sql::QueryOne(conn, sql::ReadPipeline, PipelineName(team, name),
                         std::string(sql::kPipelineSelect) + "WHERE t.name = ? AND p.name = ?",
                         team, name));
    return Status::Ok();
  }));
  return p;
}

Result<PipelineRecord> SqlStore::GetPipelineById(Id pipeline_id) {
  PipelineRecord p;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(
        p, sql::QueryOne(conn, sql::ReadPipeline, "pipeline " + std::to_string(pipeline_id),
                         std::string(sql::kPipelineSelect) + "WHERE p.id = ?", pipeline_id));
    return Status::Ok();
  }));
  return p;
}

Result<std::vector<PipelineRecord>> SqlStore::ListPipelines(const std::string& team) {
  std::vector<PipelineRecord> pipelines;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(
        pipelines, sql::QueryRows(conn, sql::ReadPipeline,
                                  std::string(sql::kPipelineSelect) +
                                      "WHERE ?1 = '' OR t.name = ?1 ORDER BY t.name, p.name",
                                  team));
    return Status::Ok();
  }));
  return pipelines;
}

Result<PipelineConfigVersion> SqlStore::GetPipelineConfig(Id pipeline_id, int64_t version) {
  PipelineConfigVersion config;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(
        auto stmt,
        conn.Prepare("SELECT c.version, c.yaml, c.config_json, c.vars_json, c.created_at "
                     "FROM pipeline_configs c JOIN pipelines p ON p.id = c.pipeline_id "
                     "WHERE c.pipeline_id = ?1 AND c.version = "
                     "CASE WHEN ?2 = 0 THEN p.config_version ELSE ?2 END"));
    stmt->BindAll(pipeline_id, version);
    BATON_ASSIGN_OR_RETURN(bool found, stmt->Step());
    if (!found) {
      return NotFound("config version " + std::to_string(version) + " of pipeline " +
                      std::to_string(pipeline_id) + " not found");
    }
    config = PipelineConfigVersion{pipeline_id,
                                   stmt->Int(0),
                                   stmt->Text(1),
                                   sql::ParseJson(stmt->Text(2)),
                                   sql::ParseJson(stmt->Text(3)),
                                   FromUnixMillis(stmt->Int(4))};
    return Status::Ok();
  }));
  return config;
}

Status SqlStore::DestroyPipeline(const std::string& team, const std::string& name) {
  return Write([&](Connection& conn) -> Status {
    BATON_RETURN_IF_ERROR(conn.Run(
        "DELETE FROM pipelines WHERE name = ? AND team_id = (SELECT id FROM teams WHERE name = ?)",
        name, team));
    return RequireChange(conn, PipelineName(team, name));
  });
}

Status SqlStore::SetPipelinePaused(Id pipeline_id, bool paused) {
  return Write([&](Connection& conn) -> Status {
    BATON_RETURN_IF_ERROR(
        conn.Run("UPDATE pipelines SET paused = ? WHERE id = ?", paused, pipeline_id));
    return RequireChange(conn, "pipeline " + std::to_string(pipeline_id));
  });
}

Status SqlStore::SetPipelinePublic(Id pipeline_id, bool public_) {
  return Write([&](Connection& conn) -> Status {
    BATON_RETURN_IF_ERROR(
        conn.Run("UPDATE pipelines SET public = ? WHERE id = ?", public_, pipeline_id));
    return RequireChange(conn, "pipeline " + std::to_string(pipeline_id));
  });
}

Result<JobRecord> SqlStore::GetJob(Id pipeline_id, const std::string& name) {
  JobRecord job;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(
        job, sql::QueryOne(conn, sql::ReadJob, "job " + name,
                           std::string(sql::kJobSelect) + "WHERE pipeline_id = ? AND name = ?",
                           pipeline_id, name));
    return Status::Ok();
  }));
  return job;
}

Result<JobRecord> SqlStore::GetJobById(Id job_id) {
  JobRecord job;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(job,
                           sql::QueryOne(conn, sql::ReadJob, "job " + std::to_string(job_id),
                                         std::string(sql::kJobSelect) + "WHERE id = ?", job_id));
    return Status::Ok();
  }));
  return job;
}

Result<std::vector<JobRecord>> SqlStore::ListJobs(Id pipeline_id) {
  std::vector<JobRecord> jobs;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(
        jobs, sql::QueryRows(conn, sql::ReadJob,
                             std::string(sql::kJobSelect) + "WHERE pipeline_id = ? AND active = 1 "
                                                            "ORDER BY id",
                             pipeline_id));
    return Status::Ok();
  }));
  return jobs;
}

Status SqlStore::SetJobPaused(Id job_id, bool paused) {
  return Write([&](Connection& conn) -> Status {
    BATON_RETURN_IF_ERROR(conn.Run("UPDATE jobs SET paused = ? WHERE id = ?", paused, job_id));
    return RequireChange(conn, "job " + std::to_string(job_id));
  });
}

}  // namespace baton::runner
