// SqlStore: reruns of a build with the same inputs, and the versions builds refer to.
#include "baton/runner/sql_store.h"
#include "rows.h"
#include "sql_db.h"

namespace baton::runner {

using sql::Connection;

namespace {

Result<Build> LoadBuild(Connection& conn, Id build_id) {
  return sql::QueryOne(conn, sql::ReadBuild, "build " + std::to_string(build_id),
                       std::string(sql::kBuildSelect) + "WHERE b.id = ?", build_id);
}

// The build a rerun of `build` reruns: the build itself, or the original of a rerun.
Result<Build> RerunTarget(Connection& conn, const Build& build) {
  if (build.rerun_of == 0) return build;
  return LoadBuild(conn, build.rerun_of);
}

}  // namespace

Result<Build> SqlStore::CreateRerunBuild(Id build_id, const Json& plan) {
  Build rerun;
  BATON_RETURN_IF_ERROR(Write([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(Build build, LoadBuild(conn, build_id));
    if (build.one_off()) {
      return FailedPrecondition("build " + std::to_string(build_id) +
                                " is a one-off build: only builds of a job can be rerun");
    }
    BATON_ASSIGN_OR_RETURN(Build original, RerunTarget(conn, build));
    BATON_ASSIGN_OR_RETURN(
        auto last,
        conn.QueryInt("SELECT max(rerun_number) FROM builds WHERE rerun_of = ?", original.id));
    const int64_t number = last.value_or(0) + 1;
    BATON_RETURN_IF_ERROR(conn.Run(
        "INSERT INTO builds (team_id, pipeline_id, job_id, name, status, plan_json, created_at, "
        "rerun_of, rerun_number) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
        original.team_id, original.pipeline_id, original.job_id,
        original.name + "." + std::to_string(number), sql::JsonText(plan),
        ToUnixMillis(clock_.Now()), original.id, number));
    const Id id = conn.LastInsertRowId();
    // The same versions under the same names; none is a first occurrence for the job.
    BATON_RETURN_IF_ERROR(
        conn.Run("INSERT INTO build_inputs (build_id, name, resource_version_id, first_occurrence, "
                 "job_id) SELECT CAST(? AS BIGINT), name, resource_version_id, 0, job_id "
                 "FROM build_inputs WHERE build_id = ?",
                 id, original.id));
    BATON_ASSIGN_OR_RETURN(rerun, LoadBuild(conn, id));
    return Status::Ok();
  }));
  NoteNewBuild(rerun.id);
  return rerun;
}

Result<std::vector<ResourceVersion>> SqlStore::ListVersionsUsedByBuilds(Id resource_id) {
  std::vector<ResourceVersion> versions;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(
        versions,
        sql::QueryRows(conn, sql::ReadVersion,
                       std::string(sql::kVersionSelect) +
                           "WHERE v.resource_id = ? AND (EXISTS (SELECT 1 FROM build_inputs i "
                           "JOIN builds b ON b.id = i.build_id WHERE i.resource_version_id = "
                           "v.id AND b.logs_reaped_at IS NULL) OR EXISTS (SELECT 1 FROM "
                           "build_outputs o JOIN builds b ON b.id = o.build_id WHERE "
                           "o.resource_version_id = v.id AND b.logs_reaped_at IS NULL)) "
                           "ORDER BY v.check_order DESC",
                       resource_id));
    return Status::Ok();
  }));
  return versions;
}

}  // namespace baton::runner
