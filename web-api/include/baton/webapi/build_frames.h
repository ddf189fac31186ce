// The formatted SSE frames of one build's events, shared by every stream that follows the build.
//
// Ten followers of a 200,000-line build used to build, dump and frame the same JSON 200,000 times
// each. Here the stream at the front reads a run of up to `run_events` events from the store in
// one call, formats it once into one string, and the other streams write slices of that same
// string (no JSON, no copy per follower). The front is the fastest stream, not the store's head.
// Runs are kept while a registered stream (AddStream) has yet to send them, up to
// `hard_max_bytes`; past `max_bytes` a run goes as soon as every registered stream has sent it
// (the oldest run goes first, never the newest). So the followers of one build share each run
// however far the slowest trails the fastest, within `hard_max_bytes`. A stream further behind
// than the kept runs, or one that resumes past the newest run, formats its own events uncached.
//
// Thread-safety: thread-safe. A stream at the front reads the store under the lock, so the
// others wait for that one read and then share it instead of reading the same events again.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/runner/store_types.h"
#include "baton/webapi/sse.h"

namespace baton::webapi {

// One event as /api/v1/builds/:id/events sends it: id the seq, event the type, data the event
// as JSON.
SseEvent BuildEventToSse(const runner::BuildEvent& event);
// Appends the wire form of one event, byte for byte net::FormatSseEvent(BuildEventToSse(event)),
// without building a JSON object: the data's JSON is written field by field, and a string that
// needs no escaping (printable ASCII without '"' or '\\', most log lines) is copied as it is;
// any other string is escaped by nlohmann, which also throws on invalid UTF-8 as before.
void AppendBuildEventFrame(const runner::BuildEvent& event, std::string* out);

class BuildFrames {
 public:
  // Reads up to `limit` events after seq `after` from the store.
  using ReadEvents = std::function<Result<std::vector<runner::BuildEvent>>(int64_t, int)>;

  // How many runs of events were formatted, and the events in them: shared (at the front, kept
  // for every stream) or for one stream alone (behind the kept runs or past them).
  struct Counts {
    uint64_t shared_runs = 0;
    uint64_t shared_events = 0;
    uint64_t own_runs = 0;
    uint64_t own_events = 0;
    size_t peak_kept_bytes = 0;  // the most cached_bytes() has been
  };

  explicit BuildFrames(size_t max_bytes = 4 << 20, size_t run_events = 1024,
                       size_t hard_max_bytes = 16 << 20);
  // Logs the counts at debug level.
  ~BuildFrames();
  BuildFrames(const BuildFrames&) = delete;
  BuildFrames& operator=(const BuildFrames&) = delete;

  // Registers a live stream, whose place is the `after` of its latest Cached or Next call: the
  // runs past it are kept (up to hard_max_bytes) until it has sent them or is removed.
  uint64_t AddStream();
  void RemoveStream(uint64_t stream);

  // The frames after seq `after` if they are cached: at most `max_events`, and no more than
  // `max_bytes` unless the first event alone is larger. nullopt when not cached. `stream` is
  // AddStream's key, or 0 for a stream that is not registered.
  std::optional<SseFrames> Cached(int64_t after, size_t max_events, size_t max_bytes,
                                  uint64_t stream = 0);
  // The frames after seq `after`, read through `read` when not cached (empty `bytes` when the
  // store has none yet). Errors are `read`'s.
  Result<SseFrames> Next(int64_t after, size_t max_events, size_t max_bytes, const ReadEvents& read,
                         uint64_t stream = 0);

  size_t cached_bytes() const;
  Counts counts() const;

 private:
  // Formatted events with consecutive seqs: `ends[i]` is where event `seqs[i]` ends in `bytes`.
  struct Run {
    std::shared_ptr<const std::string> bytes;
    std::vector<int64_t> seqs;
    std::vector<size_t> ends;
  };
  static Run Format(const std::vector<runner::BuildEvent>& events);
  static SseFrames Slice(const Run& run, size_t first, size_t max_events, size_t max_bytes);
  std::optional<SseFrames> CachedLocked(int64_t after, size_t max_events, size_t max_bytes);
  void Keep(Run run, int64_t after);
  void Place(uint64_t stream, int64_t after);
  void Evict();

  const size_t max_bytes_;
  const size_t run_events_;
  const size_t hard_max_bytes_;
  mutable std::mutex mutex_;
  std::deque<Run> runs_;                   // GUARDED_BY(mutex_); cover the seqs in (from_, last_]
  int64_t from_ = 0;                       // GUARDED_BY(mutex_)
  int64_t last_ = 0;                       // GUARDED_BY(mutex_)
  size_t bytes_ = 0;                       // GUARDED_BY(mutex_)
  Counts counts_;                          // GUARDED_BY(mutex_)
  uint64_t next_stream_ = 0;               // GUARDED_BY(mutex_)
  std::map<uint64_t, int64_t> positions_;  // GUARDED_BY(mutex_); registered stream -> after
};

}  // namespace baton::webapi
