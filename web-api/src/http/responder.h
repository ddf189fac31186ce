// MakeResponder: the Responder the server hands to an awaited response's work (Response::Await).
// It calls `deliver` exactly once: with the work's response, or, when every copy of it is
// dropped uncalled (the scheduler stopped before answering), with a 503 that says so.
// Thread-safe: call it from any thread.
#pragma once

#include "baton/webapi/http_types.h"

namespace baton::webapi {

Responder MakeResponder(std::function<void(Response)> deliver);

}  // namespace baton::webapi
