// EventLog: the store role for builds' event logs — append-only per build, written in batches
// by a background writer, read a page at a time, announced to live followers (DESIGN.md §5).
//
// Consumers: the BuildRecorder (which appends), the API's SSE streams (which read and listen).
//
// Errors: kNotFound for an unknown build, kIoError when the database itself fails.
//
// Thread-safety: implementations are safe to call from any thread concurrently.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "baton/common/status.h"
#include "baton/runner/build_event_listener.h"
#include "baton/runner/store_types.h"

namespace baton::runner {

class EventLog {
 public:
  virtual ~EventLog() = default;

  // Queues events for writing; cheap, returns at once unless the queue is full (backpressure).
  // Assigns consecutive seqs (ignoring events[i].seq); events become readable after the
  // background writer commits them (within ~50 ms) or after Flush(). Reports an earlier write
  // failure, if any.
  virtual Result<SeqRange> AppendEvents(Id build_id, std::vector<BuildEvent> events) = 0;
  // As AppendEvents with one "log" event per entry of `lines` (origin, stream and time shared;
  // an entry may be a run of lines, BuildEvent::payload): the form a task's output takes,
  // queued as one piece.
  virtual Result<SeqRange> AppendLogLines(Id build_id, LogLines lines) = 0;
  // Waits until every event appended before the call is committed.
  virtual Status Flush() = 0;
  // Committed events with seq > after_seq, in seq order, at most `limit`, and no more once
  // their payloads reach `max_bytes` (the first event always comes; a `log` event may hold a
  // run of lines up to 64 KiB, so a count alone does not bound a page's memory). Readers never
  // block the writer, and never see a gap: seq N+1 is only visible once N is.
  virtual Result<std::vector<BuildEvent>> ReadEvents(Id build_id, int64_t after_seq, int limit,
                                                     size_t max_bytes) = 0;
  Result<std::vector<BuildEvent>> ReadEvents(Id build_id, int64_t after_seq, int limit) {
    return ReadEvents(build_id, after_seq, limit, SIZE_MAX);
  }
  // Announces appended, committed and finished builds' events to `listener` (replacing any
  // earlier one; null stops announcing). Returns false when this log cannot announce them
  // (the default): readers must then poll ReadEvents.
  virtual bool SetBuildEventListener(std::shared_ptr<BuildEventListener> listener) {
    (void)listener;
    return false;
  }
};

}  // namespace baton::runner
