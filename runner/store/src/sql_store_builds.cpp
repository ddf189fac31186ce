// SqlStore: builds, their lifecycle, inputs and outputs.
#include <algorithm>

#include "baton/runner/sql_store.h"
#include "event_writer.h"
#include "rows.h"
#include "sql_db.h"

namespace baton::runner {

using sql::Connection;

namespace {

std::string BuildName(Id id) { return "build " + std::to_string(id); }

Result<Build> LoadBuild(Connection& conn, Id build_id) {
  return sql::QueryOne(conn, sql::ReadBuild, BuildName(build_id),
                       std::string(sql::kBuildSelect) + "WHERE b.id = ?", build_id);
}

// The build without its plan (which reads as null).
Result<Build> LoadBuildSummary(Connection& conn, Id build_id) {
  return sql::QueryOne(conn, sql::ReadBuild, BuildName(build_id),
                       std::string(sql::kBuildSummarySelect) + "WHERE b.id = ?", build_id);
}

// A pending build; started at `now_ms` too when `started`.
Result<Id> InsertBuild(Connection& conn, Id team_id, std::optional<int64_t> pipeline_id,
                       std::optional<int64_t> job_id, const std::string& name, const Json& plan,
                       int64_t now_ms, bool started = false) {
  std::optional<int64_t> started_at;
  if (started) started_at = now_ms;
  BATON_RETURN_IF_ERROR(
      conn.Run("INSERT INTO builds (team_id, pipeline_id, job_id, name, status, plan_json, "
               "created_at, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
               team_id, pipeline_id, job_id, name, started ? "started" : "pending",
               sql::JsonText(plan), now_ms, started_at));
  return conn.LastInsertRowId();
}

// Inserts the inputs of build `build_id` of job `job_id` (none: a one-off build, whose inputs are
// all new), computing whether each is new to the job: one lookup in build_inputs_by_job (job_id,
// name, resource_version_id, build_id).
Status InsertInputs(Connection& conn, Id build_id, std::optional<int64_t> job_id,
                    const std::vector<BuildInput>& inputs) {
  for (const BuildInput& input : inputs) {
    BATON_RETURN_IF_ERROR(conn.Run(
        "INSERT INTO build_inputs (build_id, name, resource_version_id, first_occurrence, job_id) "
        "SELECT CAST(?1 AS BIGINT), CAST(?2 AS TEXT), CAST(?3 AS BIGINT), "
        "CASE WHEN EXISTS (SELECT 1 FROM build_inputs i WHERE i.job_id = CAST(?4 AS BIGINT) "
        "AND i.name = ?2 AND i.resource_version_id = ?3 AND i.build_id < ?1) THEN 0 ELSE 1 END, "
        "CAST(?4 AS BIGINT)",
        build_id, input.name, input.resource_version_id, job_id));
  }
  return Status::Ok();
}

// Whether `from` may move to the finished status `to`.
// The statuses a build may become `to` from: a started build may finish any way, a pending one
// only as errored or aborted (it never ran).
std::vector<BuildStatus> FinishableFrom(BuildStatus to) {
  if (to == BuildStatus::kErrored || to == BuildStatus::kAborted) {
    return {BuildStatus::kStarted, BuildStatus::kPending};
  }
  return {BuildStatus::kStarted};
}

Status CheckFinish(const Build& build, BuildStatus to) {
  if (!IsFinished(to)) {
    return InvalidArgument(std::string("a build cannot finish as ") + ToString(to));
  }
  const std::vector<BuildStatus> from = FinishableFrom(to);
  if (std::find(from.begin(), from.end(), build.status) != from.end()) return Status::Ok();
  return FailedPrecondition(BuildName(build.id) + " is " + ToString(build.status) +
                            " and cannot become " + ToString(to));
}

// " AND <column> IN ('succeeded', 'failed')"; "" when `statuses` is empty.
std::string StatusIn(const std::string& column, const std::vector<BuildStatus>& statuses) {
  if (statuses.empty()) return "";
  std::string in = " AND " + column + " IN (";
  for (size_t i = 0; i < statuses.size(); ++i) {
    in += std::string(i ? ", " : "") + "'" + ToString(statuses[i]) + "'";
  }
  return in + ")";
}

std::string BuildQueryWhere(const BuildQuery& q) {
  std::string where = "WHERE 1 = 1";
  if (q.team_id) where += " AND b.team_id = " + std::to_string(q.team_id);
  if (q.pipeline_id) where += " AND b.pipeline_id = " + std::to_string(q.pipeline_id);
  if (q.job_id) where += " AND b.job_id = " + std::to_string(q.job_id);
  if (q.since_id) where += " AND b.id > " + std::to_string(q.since_id);
  if (q.until_id) where += " AND b.id < " + std::to_string(q.until_id);
  return where + StatusIn("b.status", q.statuses);
}

}  // namespace

Result<Build> SqlStore::CreateJobBuild(Id job_id, const Json& plan) {
  return CreateJobBuildWithInputs(job_id, plan, {});
}

Result<Build> SqlStore::CreateJobBuildWithInputs(Id job_id, const Json& plan,
                                                 const std::vector<BuildInput>& inputs) {
  return InsertJobBuild(job_id, plan, inputs, /*started=*/false);
}

Result<Build> SqlStore::CreateStartedJobBuild(Id job_id, const Json& plan,
                                              const std::vector<BuildInput>& inputs) {
  return InsertJobBuild(job_id, plan, inputs, /*started=*/true);
}

Result<Build> SqlStore::InsertJobBuild(Id job_id, const Json& plan,
                                       const std::vector<BuildInput>& inputs, bool started) {
  Build build;
  BATON_RETURN_IF_ERROR(Write([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(auto stmt,
                           conn.Prepare("SELECT j.next_build_number, p.id, p.team_id FROM jobs j "
                                        "JOIN pipelines p ON p.id = j.pipeline_id WHERE j.id = ?"));
    stmt->BindAll(job_id);
    BATON_ASSIGN_OR_RETURN(bool found, stmt->Step());
    if (!found) return NotFound("job " + std::to_string(job_id) + " not found");
    const int64_t number = stmt->Int(0), pipeline_id = stmt->Int(1), team_id = stmt->Int(2);
    BATON_RETURN_IF_ERROR(
        conn.Run("UPDATE jobs SET next_build_number = next_build_number + 1 WHERE id = ?", job_id));
    BATON_ASSIGN_OR_RETURN(
        Id id, InsertBuild(conn, team_id, pipeline_id, job_id, std::to_string(number), plan,
                           ToUnixMillis(clock_.Now()), started));
    BATON_RETURN_IF_ERROR(InsertInputs(conn, id, job_id, inputs));
    // The plan is the one just written: read the row without it and parse nothing back.
    BATON_ASSIGN_OR_RETURN(build, LoadBuildSummary(conn, id));
    build.plan = plan;
    return Status::Ok();
  }));
  // A build created started is run by this store's scheduler, which finishes it here; a pending
  // one may be claimed by another node, so its plan is not kept.
  NoteNewBuild(build.id, started ? &build.plan : nullptr);
  return build;
}

Result<Build> SqlStore::CreateOneOffBuild(const std::string& team, Id pipeline_id,
                                          const Json& plan) {
  Build build;
  BATON_RETURN_IF_ERROR(Write([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(auto team_id,
                           conn.QueryInt("SELECT id FROM teams WHERE name = ?", team));
    if (!team_id) return NotFound("team " + team + " not found");
    std::optional<int64_t> pipeline;
    if (pipeline_id != 0) pipeline = pipeline_id;
    BATON_ASSIGN_OR_RETURN(Id id, InsertBuild(conn, *team_id, pipeline, std::nullopt, "", plan,
                                              ToUnixMillis(clock_.Now())));
    BATON_RETURN_IF_ERROR(conn.Run("UPDATE builds SET name = CAST(id AS TEXT) WHERE id = ?", id));
    BATON_ASSIGN_OR_RETURN(build, LoadBuild(conn, id));
    return Status::Ok();
  }));
  NoteNewBuild(build.id);
  return build;
}

Result<Build> SqlStore::GetBuild(Id build_id) {
  Build build;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(build, LoadBuild(conn, build_id));
    return Status::Ok();
  }));
  return build;
}

Result<Build> SqlStore::GetJobBuild(Id job_id, const std::string& name) {
  Build build;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(
        build, sql::QueryOne(conn, sql::ReadBuild, "build " + name,
                             std::string(sql::kBuildSelect) + "WHERE b.job_id = ? AND b.name = ?",
                             job_id, name));
    return Status::Ok();
  }));
  return build;
}

Result<std::vector<Build>> SqlStore::ListBuilds(const BuildQuery& query) {
  std::vector<Build> builds;
  const std::string sql =
      std::string(query.with_plan ? sql::kBuildSelect : sql::kBuildSummarySelect) +
      BuildQueryWhere(query) + " ORDER BY b.id DESC LIMIT ?";
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(builds, sql::QueryRows(conn, sql::ReadBuild, sql, query.limit));
    return Status::Ok();
  }));
  return builds;
}

Result<std::map<Id, Build>> SqlStore::NewestJobBuilds(Id pipeline_id,
                                                      const std::vector<BuildStatus>& statuses) {
  // Per job of the pipeline, not over the pipeline's builds: MAX(id) GROUP BY job_id read every
  // build the pipeline ever had (27 ms with 100,000, for each GET .../jobs). The newest build of
  // a status that finishes (or of any status) is found walking builds_by_job (job_id, id) back
  // from the job's newest, which is mostly it. One unfinished is found in the few builds of
  // builds_unfinished (status) instead: walking back would read a job's whole history when it
  // has none. The planner is handed that index through the subquery that can use nothing else.
  const bool only_unfinished =
      !statuses.empty() && std::all_of(statuses.begin(), statuses.end(), [](BuildStatus s) {
        return s == BuildStatus::kPending || s == BuildStatus::kStarted;
      });
  const std::string newest =
      only_unfinished
          ? "SELECT MAX(u.id) FROM builds u WHERE u.id IN (SELECT id FROM builds WHERE status "
            "IN ('pending', 'started')) AND u.pipeline_id = ? AND u.job_id IS NOT NULL" +
                StatusIn("u.status", statuses) + " GROUP BY u.job_id"
          : "SELECT (SELECT x.id FROM builds x WHERE x.job_id = j.id" +
                StatusIn("x.status", statuses) +
                " ORDER BY x.id DESC LIMIT 1) FROM jobs j WHERE j.pipeline_id = ?";
  const std::string sql = std::string(sql::kBuildSummarySelect) + "WHERE b.id IN (" + newest + ")";
  std::vector<Build> builds;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(builds, sql::QueryRows(conn, sql::ReadBuild, sql, pipeline_id));
    return Status::Ok();
  }));
  std::map<Id, Build> by_job;
  for (Build& b : builds) by_job.emplace(b.job_id, std::move(b));
  return by_job;
}

Result<Build> SqlStore::StartBuild(Id build_id) {
  Build build;
  BATON_RETURN_IF_ERROR(Write([&](Connection& conn) -> Status {
    BATON_RETURN_IF_ERROR(conn.Run(
        "UPDATE builds SET status = 'started', started_at = ? WHERE id = ? AND status = 'pending'",
        ToUnixMillis(clock_.Now()), build_id));
    const bool started = conn.Changes() > 0;
    BATON_ASSIGN_OR_RETURN(build, LoadBuild(conn, build_id));
    if (!started) {
      return FailedPrecondition(BuildName(build_id) + " is " + ToString(build.status) +
                                " and cannot start");
    }
    return Status::Ok();
  }));
  return build;
}

Result<Build> SqlStore::FinishBuild(Id build_id, BuildStatus status, const std::string& error) {
  Build build;
  if (!IsFinished(status)) {
    return InvalidArgument(std::string("a build cannot finish as ") + ToString(status));
  }
  // One statement changes the row only from a status it may finish from (FinishableFrom); the
  // build is read once, after it, unless it did not change (for the reason).
  const std::string finishable = StatusIn("status", FinishableFrom(status));
  // A build this store created comes back with the plan it was created with (plans do not
  // change), not one parsed from the row again.
  std::optional<Json> plan = TakeNewBuildPlan(build_id);
  auto finish = [&](Connection& conn) -> Status {
    BATON_RETURN_IF_ERROR(conn.Run(
        "UPDATE builds SET status = ?, error = ?, finished_at = ? WHERE id = ?" + finishable,
        ToString(status), error, ToUnixMillis(clock_.Now()), build_id));
    const bool finished = conn.Changes() > 0;
    if (plan) {
      BATON_ASSIGN_OR_RETURN(build, LoadBuildSummary(conn, build_id));
      build.plan = std::move(*plan);
    } else {
      BATON_ASSIGN_OR_RETURN(build, LoadBuild(conn, build_id));
    }
    if (finished) return Status::Ok();
    Status refused = CheckFinish(build, status);
    return refused.ok() ? Internal(BuildName(build_id) + " did not finish") : refused;
  };
  // What is queued (the build's last events among it) and the finishing row commit in one
  // transaction on this thread: a reader that sees the build finished reads its whole log, and
  // the caller does not wait for the writer's thread to wake and commit.
  BATON_RETURN_IF_ERROR(events_->CommitHere(
      [&](const std::vector<sql::QueuedEvent>& batch, const Status& unreported) -> Status {
        // An earlier batch failed: the build's log may miss events, so it does not finish (the
        // others' events still go in).
        if (!unreported.ok()) {
          (void)CommitEventBatch(batch);
          return unreported;
        }
        return CommitEventsAnd(batch, finish);
      }));
  ForgetBuildEvents(build_id);
  if (auto listener = listener_.load()) listener->OnBuildFinished(build_id);
  return build;
}

Status SqlStore::SaveBuildInputs(Id build_id, const std::vector<BuildInput>& inputs) {
  return Write([&](Connection& conn) -> Status {
    BATON_RETURN_IF_ERROR(conn.Run("DELETE FROM build_inputs WHERE build_id = ?", build_id));
    BATON_ASSIGN_OR_RETURN(std::optional<int64_t> job_id,
                           conn.QueryInt("SELECT job_id FROM builds WHERE id = ?", build_id));
    return InsertInputs(conn, build_id, job_id, inputs);
  });
}

Result<std::vector<BuildInput>> SqlStore::ListBuildInputs(Id build_id) {
  std::vector<BuildInput> inputs;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(auto stmt,
                           conn.Prepare("SELECT i.name, i.resource_version_id, v.resource_id, "
                                        "v.version_json, i.first_occurrence FROM build_inputs i "
                                        "JOIN resource_versions v ON v.id = i.resource_version_id "
                                        "WHERE i.build_id = ? ORDER BY i.name"));
    stmt->BindAll(build_id);
    while (true) {
      BATON_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) return Status::Ok();
      inputs.push_back(BuildInput{stmt->Text(0), stmt->Int(1), stmt->Int(2),
                                  sql::ParseJson(stmt->Text(3)), stmt->Int(4) != 0});
    }
  }));
  return inputs;
}

Status SqlStore::SaveBuildOutputs(Id build_id, const std::vector<BuildOutput>& outputs) {
  return Write([&](Connection& conn) -> Status {
    BATON_RETURN_IF_ERROR(conn.Run("DELETE FROM build_outputs WHERE build_id = ?", build_id));
    for (const BuildOutput& output : outputs) {
      BATON_RETURN_IF_ERROR(conn.Run(
          "INSERT INTO build_outputs (build_id, name, resource_version_id) VALUES (?, ?, ?)",
          build_id, output.name, output.resource_version_id));
    }
    return Status::Ok();
  });
}

Result<std::vector<BuildOutput>> SqlStore::ListBuildOutputs(Id build_id) {
  std::vector<BuildOutput> outputs;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(auto stmt,
                           conn.Prepare("SELECT o.name, o.resource_version_id, v.resource_id, "
                                        "v.version_json FROM build_outputs o "
                                        "JOIN resource_versions v ON v.id = o.resource_version_id "
                                        "WHERE o.build_id = ? ORDER BY o.name"));
    stmt->BindAll(build_id);
    while (true) {
      BATON_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) return Status::Ok();
      outputs.push_back(
          BuildOutput{stmt->Text(0), stmt->Int(1), stmt->Int(2), sql::ParseJson(stmt->Text(3))});
    }
  }));
  return outputs;
}

}  // namespace baton::runner
