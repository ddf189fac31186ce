// Live build event streams without polling.
//
// BuildEventHub hears from the store (runner::BuildEventListener) about every appended,
// committed and finished build's events. For each build that has at least one follower it
// keeps a short tail of the events appended but not yet committed (bounded: kTailMaxEvents
// events, kTailMaxBytes bytes; older ones are dropped and read from the store once committed),
// and wakes the followers at once. Builds nobody follows cost one map lookup per append.
//
// MakeBuildEventSource: an SSE EventSource over a build's event log that streams from any seq
// (Last-Event-ID): committed events come from the store, the newest from the hub's tail, and
// the stream ends once the build has finished and every event was sent. Without a hub (a store
// that cannot announce events) it falls back to polling the store every 25 ms.
//
// Thread-safety: everything here is thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "baton/runner/build_event_listener.h"
#include "baton/runner/store.h"
#include "baton/webapi/sse.h"

namespace baton::webapi::api {

class BuildEventHub final : public runner::BuildEventListener,
                            public std::enable_shared_from_this<BuildEventHub> {
 public:
  static constexpr size_t kTailMaxEvents = 4096;
  static constexpr size_t kTailMaxBytes = 512 * 1024;

  void OnEventsAppended(runner::Id build_id,
                        const std::vector<runner::BuildEvent>& events) override;
  void OnEventsCommitted(runner::Id build_id, int64_t last_seq) override;
  void OnBuildFinished(runner::Id build_id) override;

  // Calls `notify` whenever `build_id` has new events or finishes, and keeps the build's tail
  // while the subscription lives.
  std::unique_ptr<EventSubscription> Watch(runner::Id build_id, std::function<void()> notify);

  // Appends to `out` the uncommitted events of `build_id` that directly follow `after_seq`, at
  // most `max`. Returns how many it appended (0 when the tail does not reach back that far).
  size_t CopyTail(runner::Id build_id, int64_t after_seq, size_t max,
                  std::vector<runner::BuildEvent>* out);

 private:
  class Subscription;
  struct Followed {
    std::map<uint64_t, std::function<void()>> watchers;
    std::deque<runner::BuildEvent> tail;  // consecutive seqs
    size_t tail_bytes = 0;
  };
  void NotifyLocked(Followed& followed);
  void Unwatch(runner::Id build_id, uint64_t key);

  std::mutex mutex_;
  std::atomic<size_t> followed_count_{0};            // builds_.size(), read without the lock
  std::unordered_map<runner::Id, Followed> builds_;  // GUARDED_BY(mutex_)
  uint64_t next_key_ = 0;                            // GUARDED_BY(mutex_)
};

// The hub of `store`, created and registered with it by the first call; null when the store
// cannot announce events.
std::shared_ptr<BuildEventHub> BuildEventHubFor(runner::Store& store);

// Streams build `build_id` through BuildEventHubFor(store).
std::shared_ptr<EventSource> MakeBuildEventSource(runner::Store& store, runner::Id build_id);
// The same with an explicit hub; null polls the store every 25 ms.
std::shared_ptr<EventSource> MakeBuildEventSource(runner::Store& store,
                                                  std::shared_ptr<BuildEventHub> hub,
                                                  runner::Id build_id);

}  // namespace baton::webapi::api
