// BuildEventListener: lets a layer above the store (the SSE streams of web-api) hear about a
// build's events the moment the store takes them in, so live followers are woken instead of
// polling. Registered with Store::SetBuildEventListener.
//
// Thread-safety: implementations are called from any thread that appends events or finishes a
// build, and from the store's event writer thread, concurrently. Every call must be quick,
// must not block, and must not call back into the store.
#pragma once

#include <cstdint>

#include "baton/runner/store_types.h"

namespace baton::runner {

class BuildEventListener {
 public:
  virtual ~BuildEventListener() = default;

  // The events `seqs` were queued for `build_id`; ReadEvents does not return them yet. Calls for
  // one build arrive in seq order. Returns true when someone is waiting for this build's events:
  // the store then commits them at once instead of gathering a batch.
  virtual bool OnEventsAppended(Id build_id, SeqRange seqs) = 0;
  // Every event of `build_id` up to `last_seq` is committed: ReadEvents returns it now.
  virtual void OnEventsCommitted(Id build_id, int64_t last_seq) = 0;
  // `build_id` has finished (GetBuild shows its final status); its events are all committed.
  virtual void OnBuildFinished(Id build_id) = 0;
};

}  // namespace baton::runner
