// EventWriter: the background writer for build events. AppendEvents queues; a thread commits
// what is queued every `interval` or as soon as `batch` events wait, through a commit function
// that writes one batch in one transaction. The queue is bounded in bytes: Enqueue blocks while
// it is full (backpressure), so a runaway log cannot take the server's memory.
//
// Thread-safe. Batches are committed in queue order, by the writer's thread or by a caller
// that commits what is queued with its own write (CommitHere).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "baton/common/status.h"
#include "baton/runner/store_types.h"

namespace baton::runner::sql {

// One event, or a run of log lines (AppendLogLines) whose first seq is event.seq.
struct QueuedEvent {
  Id build_id = 0;
  BuildEvent event;
  std::unique_ptr<LogLines> lines;  // when set, the item is lines->size() "log" events

  size_t count() const { return lines ? lines->size() : 1; }
};

class EventWriter {
 public:
  using CommitFn = std::function<Status(const std::vector<QueuedEvent>&)>;
  // Commits `batch` and whatever else its caller writes in the same transaction; `unreported`
  // is a commit failure of the writer's since the last report (the caller decides what it means
  // for its own write, and reports it).
  using CommitHereFn =
      std::function<Status(const std::vector<QueuedEvent>& batch, const Status& unreported)>;

  EventWriter(CommitFn commit, std::chrono::milliseconds interval, size_t batch,
              size_t max_queued_bytes);
  // Commits everything still queued, then stops the thread.
  ~EventWriter();

  // Queues events (blocking while the queue is full). Returns the last commit failure not yet
  // reported, if any (the events are queued regardless). `urgent`: commit without waiting for
  // the interval (someone follows these events live).
  Status Enqueue(std::vector<QueuedEvent> events, bool urgent = false);
  // Waits until everything queued before the call is committed; reports a commit failure since
  // the last report.
  Status Flush();
  // Flush's guarantee without the round trip to the writer's thread: commits everything queued
  // before the call through `commit`, on the calling thread, once the batch the writer's thread
  // may be committing is done (batches stay in queue order). Returns what `commit` returns.
  Status CommitHere(const CommitHereFn& commit);

 private:
  void Run();
  bool ReadyToCommitLocked() const;
  std::vector<QueuedEvent> TakeBatchLocked(size_t limit);
  void CountCommittedLocked(const std::vector<QueuedEvent>& batch);
  Status TakeErrorLocked();

  const CommitFn commit_;
  const std::chrono::milliseconds interval_;
  const size_t batch_;
  const size_t max_queued_bytes_;

  std::mutex mu_;
  std::condition_variable work_cv_;   // the writer waits for work
  std::condition_variable space_cv_;  // producers wait for room
  std::condition_variable done_cv_;   // Flush waits for commits
  std::deque<QueuedEvent> queue_;     // GUARDED_BY(mu_)
  size_t queued_events_ = 0;  // GUARDED_BY(mu_) events in queue_ (a run of lines counts each)
  size_t queued_bytes_ = 0;   // GUARDED_BY(mu_)
  uint64_t enqueued_ = 0;     // GUARDED_BY(mu_) events ever queued
  uint64_t committed_ = 0;    // GUARDED_BY(mu_) events ever handed to commit_
  int flush_waiters_ = 0;     // GUARDED_BY(mu_)
  bool committing_ = false;   // GUARDED_BY(mu_) a taken batch is being committed (by anyone)
  bool stopping_ = false;     // GUARDED_BY(mu_)
  bool urgent_ = false;       // GUARDED_BY(mu_) commit what is queued at once
  bool idle_ = false;         // GUARDED_BY(mu_) the writer's thread waits for a first event
  Status error_;              // GUARDED_BY(mu_) unreported failure
  std::thread thread_;
};

}  // namespace baton::runner::sql
