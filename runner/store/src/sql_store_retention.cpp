// SqlStore: recovery after a crash (orphaned builds) and build retention.
#include <algorithm>
#include <set>

#include "baton/runner/sql_store.h"
#include "rows.h"
#include "sql_db.h"

namespace baton::runner {

using sql::Connection;

namespace {

// Which of `finished` (newest first) the retention policy reaps. Every finished build counts
// towards `builds`, whether or not its log is already gone; those already reaped are skipped.
std::vector<Id> BuildsToReap(const std::vector<Build>& finished,
                             const pipelines::BuildLogRetention& retention, SystemTime now) {
  const auto max_age = std::chrono::hours(24) * retention.days;
  std::vector<Id> reap;
  int succeeded_kept = 0;
  for (size_t rank = 0; rank < finished.size(); ++rank) {
    const Build& b = finished[rank];
    const bool succeeded = b.status == BuildStatus::kSucceeded;
    const bool protected_success = succeeded && succeeded_kept < retention.minimum_succeeded_builds;
    if (protected_success) ++succeeded_kept;
    const bool too_many = retention.builds > 0 && rank >= static_cast<size_t>(retention.builds);
    const bool too_old = retention.days > 0 && b.finished_at && now - *b.finished_at > max_age;
    if ((too_many || too_old) && !protected_success && !b.logs_reaped_at) reap.push_back(b.id);
  }
  return reap;
}

// Deletes the builds' events and artifact rows and marks them reaped at `now_ms`; returns the
// digests of deleted artifacts no other build refers to.
Result<std::vector<std::string>> ReapLogs(Connection& conn, const std::vector<Id>& ids,
                                          int64_t now_ms) {
  std::set<std::string> digests;
  for (Id id : ids) {
    BATON_ASSIGN_OR_RETURN(
        auto artifacts,
        sql::QueryRows(conn, sql::ReadArtifact,
                       std::string(sql::kArtifactSelect) + "WHERE build_id = ?", id));
    for (const Artifact& a : artifacts) digests.insert(a.digest);
    BATON_RETURN_IF_ERROR(conn.Run("DELETE FROM artifacts WHERE build_id = ?", id));
    BATON_RETURN_IF_ERROR(conn.Run("DELETE FROM build_event_chunks WHERE build_id = ?", id));
    BATON_RETURN_IF_ERROR(
        conn.Run("UPDATE builds SET logs_reaped_at = ? WHERE id = ?", now_ms, id));
  }
  std::vector<std::string> unreferenced;
  for (const std::string& digest : digests) {
    BATON_ASSIGN_OR_RETURN(
        auto used, conn.QueryInt("SELECT 1 FROM artifacts WHERE digest = ? LIMIT 1", digest));
    if (!used) unreferenced.push_back(digest);
  }
  return unreferenced;
}

}  // namespace

Result<std::vector<Build>> SqlStore::MarkOrphanedBuildsErrored(const std::string& message) {
  std::vector<Build> orphans;
  BATON_RETURN_IF_ERROR(Write([&](Connection& conn) -> Status {
    const std::string where = "WHERE b.status IN ('pending', 'started') ";
    BATON_ASSIGN_OR_RETURN(std::vector<Build> found, sql::QueryRows(conn, sql::ReadBuild,
                                                                    std::string(sql::kBuildSelect) +
                                                                        where + "ORDER BY b.id"));
    const int64_t now_ms = ToUnixMillis(clock_.Now());
    for (const Build& b : found) {
      BATON_RETURN_IF_ERROR(
          conn.Run("UPDATE builds SET status = 'errored', error = ?, finished_at = ? WHERE id = ?",
                   message, now_ms, b.id));
      BATON_ASSIGN_OR_RETURN(
          Build updated, sql::QueryOne(conn, sql::ReadBuild, "build",
                                       std::string(sql::kBuildSelect) + "WHERE b.id = ?", b.id));
      orphans.push_back(std::move(updated));
    }
    return Status::Ok();
  }));
  // Tell anyone reading the build's log why it stopped.
  for (const Build& b : orphans) {
    BuildEvent event;
    event.type = "error";
    event.payload = sql::JsonText(Json{{"message", message}});
    BATON_RETURN_IF_ERROR(AppendEvents(b.id, {event}).status());
  }
  BATON_RETURN_IF_ERROR(Flush());
  for (const Build& b : orphans) ForgetBuildEvents(b.id);
  return orphans;
}

Result<ReapedBuilds> SqlStore::ReapBuilds(Id job_id, const pipelines::BuildLogRetention& retention,
                                          SystemTime now) {
  ReapedBuilds reaped;
  if (retention.builds <= 0 && retention.days <= 0) return reaped;
  BATON_RETURN_IF_ERROR(Write([&](Connection& conn) -> Status {
    // Only the builds whose logs are still there, without their plans: every finished build of
    // the job, each plan parsed, was read at each build's end, in the writer's transaction (a job
    // with retention keeps its builds, so that grew with its history). The builds reaped before
    // are older than the ones kept (the newest by count, the newest successes), so ranking what
    // is left reaps what ranking them all would, or, in corners (a retention changed since), less.
    BATON_ASSIGN_OR_RETURN(
        std::vector<Build> finished,
        sql::QueryRows(conn, sql::ReadBuild,
                       std::string(sql::kBuildSummarySelect) +
                           "WHERE b.job_id = ? AND b.status NOT IN ('pending', 'started') "
                           "AND b.logs_reaped_at IS NULL ORDER BY b.id DESC",
                       job_id));
    std::vector<Id> ids = BuildsToReap(finished, retention, now);
    const int64_t now_ms = ToUnixMillis(now);
    for (Build& b : finished) {
      if (std::find(ids.begin(), ids.end(), b.id) == ids.end()) continue;
      b.logs_reaped_at = FromUnixMillis(now_ms);
      reaped.builds.push_back(std::move(b));
    }
    BATON_ASSIGN_OR_RETURN(reaped.unreferenced_digests, ReapLogs(conn, ids, now_ms));
    return Status::Ok();
  }));
  for (const Build& b : reaped.builds) ForgetBuildEvents(b.id);
  return reaped;
}

}  // namespace baton::runner
