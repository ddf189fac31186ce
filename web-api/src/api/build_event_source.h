// An SSE EventSource over a build's stored event log: streams from any seq (Last-Event-ID),
// ends once the build has finished and every event has been sent. New events are noticed by a
// shared 25 ms ticker (the store commits events in the background, so there is no commit hook
// to wait on). Thread-safe.
#pragma once

#include <memory>

#include "baton/runner/store.h"
#include "baton/webapi/sse.h"

namespace baton::webapi::api {

std::shared_ptr<EventSource> MakeBuildEventSource(runner::Store& store, runner::Id build_id);

}  // namespace baton::webapi::api
