// Live build event streams without polling.
//
// BuildEventHub hears from the store (runner::BuildEventListener) about every appended,
// committed and finished build's events. When a build someone follows gets events it asks the
// store to commit them at once (not after the writer's ~50 ms batching interval), and wakes the
// followers as soon as they are committed. Followers only ever see committed events, so what a
// watcher saw survives a kill -9. Builds nobody follows cost one atomic load per append.
//
// MakeBuildEventSource: an SSE EventSource over a build's stored event log that streams from any
// seq (Last-Event-ID) and ends once the build has finished and every event was sent. Streams of
// one build write the same formatted bytes (BuildFrames, through the hub). Without a
// hub (a store that cannot announce events) it falls back to polling the store every 25 ms.
//
// Thread-safety: everything here is thread-safe.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "baton/runner/build_event_listener.h"
#include "baton/runner/store_builds.h"
#include "baton/runner/store_events.h"
#include "baton/webapi/build_frames.h"
#include "baton/webapi/sse.h"

namespace baton::webapi::api {

class BuildEventHub final : public runner::BuildEventListener,
                            public std::enable_shared_from_this<BuildEventHub> {
 public:
  bool OnEventsAppended(runner::Id build_id, runner::SeqRange seqs) override;
  void OnEventsCommitted(runner::Id build_id, int64_t last_seq) override;
  void OnBuildFinished(runner::Id build_id) override;

  // Calls `notify` whenever `build_id` has newly committed events or finishes, and makes the
  // store commit the build's events at once while the subscription lives.
  std::unique_ptr<EventSubscription> Watch(runner::Id build_id, std::function<void()> notify);
  // The formatted frames of `build_id`, shared by every stream of the build that holds them
  // (created by the first, freed with the last).
  std::shared_ptr<BuildFrames> FramesFor(runner::Id build_id);

 private:
  class Subscription;
  using Watchers = std::map<uint64_t, std::function<void()>>;
  void Notify(runner::Id build_id);
  void Unwatch(runner::Id build_id, uint64_t key);

  std::mutex mutex_;
  std::atomic<size_t> followed_count_{0};            // builds_.size(), read without the lock
  std::unordered_map<runner::Id, Watchers> builds_;  // GUARDED_BY(mutex_)
  uint64_t next_key_ = 0;                            // GUARDED_BY(mutex_)
  std::unordered_map<runner::Id, std::weak_ptr<BuildFrames>> frames_;  // GUARDED_BY(mutex_)
};

// The hub of `log`, created and registered with it by the first call; null when the store
// cannot announce events.
std::shared_ptr<BuildEventHub> BuildEventHubFor(runner::EventLog& log);

// Streams build `build_id` (its status from `builds`, its events from `log`) through
// BuildEventHubFor(log).
std::shared_ptr<EventSource> MakeBuildEventSource(runner::BuildStore& builds, runner::EventLog& log,
                                                  runner::Id build_id);
// The same with an explicit hub; null polls the store every 25 ms.
std::shared_ptr<EventSource> MakeBuildEventSource(runner::BuildStore& builds, runner::EventLog& log,
                                                  std::shared_ptr<BuildEventHub> hub,
                                                  runner::Id build_id);

}  // namespace baton::webapi::api
