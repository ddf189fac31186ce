// SqlStore: build events — seq assignment, the batched writer's commit, paged reads.
#include <map>

#include "baton/runner/sql_store.h"
#include "chunk_compression.h"
#include "event_chunker.h"
#include "event_codec.h"
#include "event_writer.h"
#include "rows.h"
#include "sql_db.h"

namespace baton::runner {

using sql::Connection;

namespace {

// Groups a batch by build, keeping each build's events in queue (= seq) order.
std::map<Id, std::vector<const sql::QueuedEvent*>> ByBuild(
    const std::vector<sql::QueuedEvent>& batch) {
  std::map<Id, std::vector<const sql::QueuedEvent*>> groups;
  for (const sql::QueuedEvent& queued : batch) groups[queued.build_id].push_back(&queued);
  return groups;
}

int64_t LastSeq(const sql::QueuedEvent& item) {
  return item.event.seq + static_cast<int64_t>(item.count()) - 1;
}

}  // namespace

Result<int64_t> SqlStore::NextSeqLocked(Id build_id) {
  auto it = next_seq_.find(build_id);
  if (it != next_seq_.end()) return it->second;
  int64_t next = 0;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(auto exists,
                           conn.QueryInt("SELECT 1 FROM builds WHERE id = ?", build_id));
    if (!exists) return NotFound("build " + std::to_string(build_id) + " not found");
    BATON_ASSIGN_OR_RETURN(auto last, conn.QueryInt("SELECT max(last_seq) FROM build_event_chunks "
                                                    "WHERE build_id = ?",
                                                    build_id));
    next = last.value_or(0) + 1;
    return Status::Ok();
  }));
  next_seq_[build_id] = next;
  return next;
}

Status SqlStore::QueueLocked(Id build_id, SeqRange range, std::vector<sql::QueuedEvent> queued) {
  auto listener = listener_.load();
  const bool urgent = listener && listener->OnEventsAppended(build_id, range);
  next_seq_[build_id] = range.last + 1;
  return events_->Enqueue(std::move(queued), urgent);
}

Result<SeqRange> SqlStore::AppendEvents(Id build_id, std::vector<BuildEvent> events) {
  if (events.empty()) return SeqRange{};
  const SystemTime now = clock_.Now();
  std::lock_guard<std::mutex> lock(seq_mu_);
  BATON_ASSIGN_OR_RETURN(int64_t seq, NextSeqLocked(build_id));
  SeqRange range{seq, seq + static_cast<int64_t>(events.size()) - 1};
  std::vector<sql::QueuedEvent> queued;
  queued.reserve(events.size());
  for (BuildEvent& event : events) {
    event.seq = seq++;
    if (event.time == SystemTime()) event.time = now;
    queued.push_back(sql::QueuedEvent{build_id, std::move(event), nullptr});
  }
  BATON_RETURN_IF_ERROR(QueueLocked(build_id, range, std::move(queued)));
  return range;
}

// One queue item for the whole run: the chunker encodes its lines as events seq, seq + 1, ...
Result<SeqRange> SqlStore::AppendLogLines(Id build_id, LogLines lines) {
  if (lines.size() == 0) return SeqRange{};
  if (lines.time == SystemTime()) lines.time = clock_.Now();
  std::lock_guard<std::mutex> lock(seq_mu_);
  BATON_ASSIGN_OR_RETURN(int64_t seq, NextSeqLocked(build_id));
  SeqRange range{seq, seq + static_cast<int64_t>(lines.size()) - 1};
  std::vector<sql::QueuedEvent> queued(1);
  queued[0].build_id = build_id;
  queued[0].event.seq = seq;
  queued[0].lines = std::make_unique<LogLines>(std::move(lines));
  BATON_RETURN_IF_ERROR(QueueLocked(build_id, range, std::move(queued)));
  return range;
}

void SqlStore::NoteNewBuild(Id build_id, const Json* plan) {
  if (build_id == 0) return;
  std::lock_guard<std::mutex> lock(seq_mu_);
  next_seq_.emplace(build_id, 1);  // a new build has no events: no need to read the last seq
  // Bounded: builds finished elsewhere (another node) would otherwise leave theirs here.
  constexpr size_t kMaxKeptPlans = 1024;
  if (plan && new_build_plans_.size() < kMaxKeptPlans) new_build_plans_.emplace(build_id, *plan);
}

std::optional<Json> SqlStore::TakeNewBuildPlan(Id build_id) {
  std::lock_guard<std::mutex> lock(seq_mu_);
  auto it = new_build_plans_.find(build_id);
  if (it == new_build_plans_.end()) return std::nullopt;
  std::optional<Json> plan = std::move(it->second);
  new_build_plans_.erase(it);
  return plan;
}

Status SqlStore::Flush() { return events_->Flush(); }

Status SqlStore::CommitEventBatch(const std::vector<sql::QueuedEvent>& batch) {
  return CommitEventsAnd(batch, nullptr);
}

Status SqlStore::CommitEventsAnd(const std::vector<sql::QueuedEvent>& batch, const Body& then) {
  std::lock_guard<std::mutex> lock(write_mu_);
  Status first_error, then_status;
  const auto by_build = ByBuild(batch);
  Status status = WriteLocked([&](Connection& conn) -> Status {
    for (const auto& [build_id, events] : by_build) {
      // A savepoint per build: one bad build (deleted meanwhile) does not lose the others' logs.
      BATON_RETURN_IF_ERROR(conn.RunControl("SAVEPOINT build_events"));
      Status written = chunker_->Write(conn, build_id, events);
      if (!written.ok()) {
        BATON_RETURN_IF_ERROR(conn.RunControl("ROLLBACK TO build_events"));
        chunker_->Forget(build_id);
        if (first_error.ok()) {
          first_error = written.WithContext("events of build " + std::to_string(build_id));
        }
      }
      BATON_RETURN_IF_ERROR(conn.RunControl("RELEASE build_events"));
    }
    if (!then || !first_error.ok()) return Status::Ok();
    if (by_build.empty()) return then_status = then(conn);  // nothing else to keep
    // Its own savepoint too: when `then` fails, the events still commit.
    BATON_RETURN_IF_ERROR(conn.RunControl("SAVEPOINT then_write"));
    then_status = then(conn);
    if (!then_status.ok()) BATON_RETURN_IF_ERROR(conn.RunControl("ROLLBACK TO then_write"));
    return conn.RunControl("RELEASE then_write");
  });
  if (!status.ok()) {
    // The open chunks may not match the database any more (none were open for an empty batch).
    if (!by_build.empty()) chunker_->Reset();
    return then_status.ok() ? status : then_status;
  }
  if (auto listener = listener_.load()) {
    for (const auto& [build_id, events] : by_build) {
      listener->OnEventsCommitted(build_id, LastSeq(*events.back()));
    }
  }
  return first_error.ok() ? then_status : first_error;
}

bool SqlStore::SetBuildEventListener(std::shared_ptr<BuildEventListener> listener) {
  listener_.store(std::move(listener));
  return true;
}

void SqlStore::ForgetBuildEvents(Id build_id) {
  {
    std::lock_guard<std::mutex> lock(seq_mu_);
    next_seq_.erase(build_id);
    new_build_plans_.erase(build_id);
  }
  std::lock_guard<std::mutex> lock(write_mu_);
  chunker_->Forget(build_id);
}

Result<std::vector<BuildEvent>> SqlStore::ReadEvents(Id build_id, int64_t after_seq, int limit,
                                                     size_t max_bytes) {
  if (limit <= 0) return InvalidArgument("reading events needs a positive limit");
  std::vector<BuildEvent> page;
  size_t bytes = 0;
  BATON_RETURN_IF_ERROR(Read([&](Connection& conn) -> Status {
    BATON_ASSIGN_OR_RETURN(auto stmt,
                           conn.Prepare("SELECT body FROM build_event_chunks WHERE build_id = ? "
                                        "AND last_seq > ? ORDER BY last_seq"));
    stmt->BindAll(build_id, after_seq);
    std::string scratch;
    while (static_cast<int>(page.size()) < limit && bytes < max_bytes) {
      BATON_ASSIGN_OR_RETURN(bool row, stmt->Step());
      if (!row) break;
      BATON_ASSIGN_OR_RETURN(std::string_view body, sql::UnpackChunk(stmt->Blob(0), scratch));
      BATON_ASSIGN_OR_RETURN(std::vector<BuildEvent> chunk, sql::DecodeChunk(body));
      for (BuildEvent& event : chunk) {
        if (event.seq <= after_seq) continue;
        if (static_cast<int>(page.size()) == limit || bytes >= max_bytes) break;
        bytes += event.payload.size();
        page.push_back(std::move(event));
      }
    }
    return Status::Ok();
  }));
  return page;
}

}  // namespace baton::runner
