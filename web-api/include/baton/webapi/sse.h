// Server-sent events (text/event-stream), the server side: the source a stream pulls from. The
// event value and the wire format are net's (baton/net/sse.h).
//
// Design (bounded buffering by pulling): a stream does not receive pushed events. It asks its
// EventSource for the next events after the last id it sent, at most `max_events` at a time,
// already formatted (NextFrames), writes them, and only when that write has completed asks
// again. So per client
// the server holds at most one formatted batch (capped at ServerOptions::sse_max_batch_bytes;
// events past the cap are dropped from the batch and pulled again later, except that a single
// event larger than the cap is sent alone). A client that stops reading stalls only its own
// write: the producer (the event bus, the build log) keeps its own history and is never told to
// buffer on the client's behalf, other clients and requests are unaffected, and the stream
// resumes exactly where it stopped once the client reads again. A client whose write makes no
// progress for ServerOptions::write_timeout is disconnected; it can reconnect with
// Last-Event-ID and resume without gaps or duplicates.
//
// When NextEvents returns nothing the stream waits for the source's notification (Watch), or
// sends a keep-alive comment (": keep-alive") every ServerOptions::sse_keepalive_interval.
// The stream ends cleanly (terminating chunk) when the source reports `finished` and has no more
// events, or when the server stops.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "baton/net/sse.h"

namespace baton::webapi {

using net::SseEvent;

// What a source returns for one pull.
struct SseBatch {
  std::vector<SseEvent> events;  // in order, all after the requested id
  bool finished = false;         // true when no event will ever follow the last one returned
};

// Formatted events, ready to write as they are: whole frames ("id: ..\nevent: ..\ndata: ..\n\n")
// in `bytes`, which points into `storage`. `storage` is never changed once handed out, so many
// streams may write the same bytes at once; holding it keeps `bytes` valid.
struct SseFrames {
  std::shared_ptr<const std::string> storage;
  std::string_view bytes;
  std::string last_id;    // the id of the last event in `bytes` (empty when there is none)
  bool finished = false;  // as SseBatch::finished
};

// Keeps a notification callback registered; destroying it unregisters the callback. After the
// destructor returns, the callback is not running and will not be called again.
class EventSubscription {
 public:
  virtual ~EventSubscription() = default;
};

// Where a stream pulls its events from. Implementations must be thread-safe: NextEvents and
// Watch are called from server io threads, one stream at a time per call but many streams may
// share one source.
class EventSource {
 public:
  virtual ~EventSource() = default;

  // Up to `max_events` events after `after_id` ("" = from the beginning), without blocking.
  // Returning fewer (or none) is fine; `finished` says whether more can ever come.
  virtual SseBatch NextEvents(const std::string& after_id, size_t max_events) = 0;

  // The next events after `after_id` formatted for the wire: at most `max_events`, and no more
  // than `max_bytes` unless the first event alone is larger. What a stream writes. The default
  // formats NextEvents' events for this call alone; a source that many streams follow at once
  // overrides it to format each event once and hand every stream the same bytes.
  virtual SseFrames NextFrames(const std::string& after_id, size_t max_events, size_t max_bytes);

  // Registers `notify`, to be called from any thread whenever NextEvents may return something
  // new or the source finishes. Spurious calls are harmless. `notify` is cheap and never blocks.
  virtual std::unique_ptr<EventSubscription> Watch(std::function<void()> notify) = 0;
};

// An in-memory, append-only event log that is an EventSource: ids are "1", "2", ... in order
// of Append. For tests and for small live logs. Thread-safe.
class MemoryEventSource final : public EventSource {
 public:
  // Appends an event (its id is assigned) and notifies watchers. Returns the id.
  std::string Append(std::string event, std::string data);
  // No events follow; streams end after sending what is there.
  void Finish();
  size_t size() const;

  SseBatch NextEvents(const std::string& after_id, size_t max_events) override;
  std::unique_ptr<EventSubscription> Watch(std::function<void()> notify) override;

 private:
  class Subscription;
  void NotifyAll();
  void Unwatch(size_t key);

  mutable std::mutex mutex_;
  std::vector<SseEvent> events_;                                    // GUARDED_BY(mutex_)
  bool finished_ = false;                                           // GUARDED_BY(mutex_)
  size_t next_key_ = 0;                                             // GUARDED_BY(mutex_)
  std::vector<std::pair<size_t, std::function<void()>>> watchers_;  // GUARDED_BY(mutex_)
};

}  // namespace baton::webapi
