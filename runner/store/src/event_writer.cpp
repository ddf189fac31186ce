#include "event_writer.h"

#include <algorithm>
#include <limits>
#include <utility>

namespace baton::runner::sql {
namespace {

size_t ApproximateBytes(const QueuedEvent& e) {
  size_t bytes = sizeof(QueuedEvent) + e.event.origin.size() + e.event.type.size() +
                 e.event.stream.size() + e.event.payload.size();
  if (e.lines) {
    bytes += sizeof(LogLines) + e.lines->origin.size() + e.lines->stream.size();
    for (const std::string& text : e.lines->texts) bytes += sizeof(std::string) + text.size();
  }
  return bytes;
}

// Upper bound on one transaction, so a huge backlog is committed in steps readers can see.
constexpr size_t kMaxBatchFactor = 32;

}  // namespace

EventWriter::EventWriter(CommitFn commit, std::chrono::milliseconds interval, size_t batch,
                         size_t max_queued_bytes)
    : commit_(std::move(commit)),
      interval_(interval),
      batch_(batch),
      max_queued_bytes_(max_queued_bytes),
      thread_([this] { Run(); }) {}

EventWriter::~EventWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

Status EventWriter::Enqueue(std::vector<QueuedEvent> events, bool urgent) {
  std::unique_lock<std::mutex> lock(mu_);
  // Wake the writer for a first event only when it waits for one: while it gathers a batch
  // (the interval) a wake-up would only send it back to sleep. In W3 the queue empties at every
  // build's end (FinishBuild commits it) and the next build's first event woke the writer each
  // time, on the other core, for nothing.
  bool wake = false;
  for (QueuedEvent& event : events) {
    if (queued_bytes_ >= max_queued_bytes_) {
      work_cv_.notify_one();  // full: commit now rather than at the end of the interval
      // Always admit into an empty queue, so one huge event cannot block forever.
      space_cv_.wait(lock, [&] { return queued_bytes_ < max_queued_bytes_ || queue_.empty(); });
    }
    wake = wake || (queue_.empty() && idle_);
    queued_bytes_ += ApproximateBytes(event);
    const size_t count = event.count();
    const bool reaches_batch = queued_events_ < batch_ && queued_events_ + count >= batch_;
    queued_events_ += count;
    enqueued_ += count;
    queue_.push_back(std::move(event));
    if (reaches_batch) work_cv_.notify_one();
  }
  urgent_ = urgent_ || urgent;
  // Wake the writer only when it has something to do: a wake-up per event that it answers by
  // going back to sleep until the interval ends costs two context switches an event (W4).
  if (wake || ReadyToCommitLocked()) work_cv_.notify_one();
  return TakeErrorLocked();
}

Status EventWriter::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = enqueued_;
  ++flush_waiters_;
  work_cv_.notify_one();
  done_cv_.wait(lock, [&] { return committed_ >= target; });
  --flush_waiters_;
  return TakeErrorLocked();
}

Status EventWriter::CommitHere(const CommitHereFn& commit) {
  std::unique_lock<std::mutex> lock(mu_);
  // A batch the writer's thread took holds earlier events: it commits first.
  done_cv_.wait(lock, [&] { return !committing_; });
  committing_ = true;
  std::vector<QueuedEvent> batch = TakeBatchLocked(std::numeric_limits<size_t>::max());
  const Status unreported = TakeErrorLocked();
  space_cv_.notify_all();
  lock.unlock();
  Status status = commit(batch, unreported);
  lock.lock();
  CountCommittedLocked(batch);
  done_cv_.notify_all();
  if (!queue_.empty()) work_cv_.notify_one();  // the writer skipped what came meanwhile
  return status;
}

bool EventWriter::ReadyToCommitLocked() const {
  return stopping_ || urgent_ || flush_waiters_ > 0 || queued_events_ >= batch_ ||
         queued_bytes_ >= max_queued_bytes_;
}

// At most `limit` events, unless the first item alone is more (a run of lines is never split).
std::vector<QueuedEvent> EventWriter::TakeBatchLocked(size_t limit) {
  std::vector<QueuedEvent> batch;
  size_t taken = 0;
  while (!queue_.empty() && (taken == 0 || taken + queue_.front().count() <= limit)) {
    taken += queue_.front().count();
    queued_events_ -= queue_.front().count();
    queued_bytes_ -= ApproximateBytes(queue_.front());
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
  return batch;
}

void EventWriter::CountCommittedLocked(const std::vector<QueuedEvent>& batch) {
  for (const QueuedEvent& item : batch) committed_ += item.count();
  committing_ = false;
}

Status EventWriter::TakeErrorLocked() { return std::exchange(error_, Status::Ok()); }

void EventWriter::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    idle_ = true;
    work_cv_.wait(lock, [&] { return !committing_ && (stopping_ || !queue_.empty()); });
    idle_ = false;
    if (queue_.empty()) return;  // stopping with nothing left
    // Let a batch gather unless someone is waiting or it is big enough already.
    work_cv_.wait_for(lock, interval_, [&] { return ReadyToCommitLocked(); });
    if (committing_ || queue_.empty()) continue;  // CommitHere took it meanwhile
    committing_ = true;
    std::vector<QueuedEvent> batch = TakeBatchLocked(batch_ * kMaxBatchFactor);
    urgent_ = false;
    space_cv_.notify_all();
    lock.unlock();
    Status status = commit_(batch);
    lock.lock();
    CountCommittedLocked(batch);
    if (!status.ok()) error_ = status;
    done_cv_.notify_all();
  }
}

}  // namespace baton::runner::sql
