// The values an HTTP handler sees and returns: Request, Response (Headers and the URL helpers
// are net's, baton/net/http_types.h).
//
// These are plain values with no knowledge of sockets or of Beast, so handlers can be unit-tested
// by building a Request by hand. Not thread-safe to mutate concurrently (they are values).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "baton/common/status.h"
#include "baton/net/http_types.h"

namespace baton::webapi {

class EventSource;  // sse.h

// The shared HTTP values, under the names handlers have always used.
using net::CaseInsensitiveLess;
using net::Headers;
using net::ParseQuery;
using net::PercentDecode;
using net::PercentEncode;
using net::QueryParams;
using net::ReasonPhrase;

// An HTTP request as a handler sees it.
struct Request {
  std::string method;  // upper case: "GET", "POST", ...
  std::string target;  // raw request target, e.g. "/api/v1/builds?limit=5"
  std::string path;    // percent-decoded path without the query: "/api/v1/builds"
  std::map<std::string, std::string, std::less<>> params;  // ":name" segments of the route
  QueryParams query;
  Headers headers;
  std::string body;
  std::string remote_address;  // "127.0.0.1:53412"
  // The principal the auth validator returned for a token-protected route; empty otherwise.
  std::string principal;

  // The first value of query parameter `name`, if present.
  std::optional<std::string> Query(std::string_view name) const;
  // The route parameter `name`; empty if the route has no such parameter.
  std::string Param(std::string_view name) const;
  // The `Last-Event-ID` header (for SSE resume), or "" when absent.
  std::string LastEventId() const;
};

// Handed to work a handler offloads (Response::Offload), which runs on the server's work
// threads with a deadline. Thread-safe.
class WorkClaim {
 public:
  // Call right before the work's first side effect (a store write, a scheduler command). True:
  // go ahead, the client will get this work's response. False: the deadline passed and the
  // client was already answered 503; return without side effects.
  bool Commit();
  // The server's side, when the deadline passes: true if the work had not committed (the client
  // gets the 503), false if it had (the server waits for its response).
  bool Abandon();

 private:
  enum : int { kRunning, kCommitted, kAbandoned };
  std::atomic<int> state_{kRunning};
};

struct Response;
using OffloadedWork = std::function<Response(WorkClaim&)>;
// Answers an awaited request (Response::Await). Call it once, from any thread; when every copy
// is dropped uncalled, the client gets a 503 that says so.
using Responder = std::function<void(Response)>;
using AwaitedWork = std::function<void(Responder)>;

// An HTTP response. A handler either fills status/headers/body, or returns a streaming response
// built by Response::EventStream (see sse.h), in which case the server pulls events from the
// source until it is finished, the client goes away or the server stops.
struct Response {
  int status = 200;
  Headers headers;
  std::string content_type = "application/json";
  std::string body;

  // Set only for server-sent-event streams.
  std::shared_ptr<EventSource> event_source;
  std::string resume_after;  // the id the stream starts after ("" = from the start)

  // A JSON response from already-serialised text.
  static Response Json(int status, std::string json_text);
  static Response Json(int status, const nlohmann::json& value);
  static Response Text(int status, std::string text, std::string content_type = "text/plain");
  // A `text/event-stream` response that pulls from `source`, starting after `resume_after`
  // (normally request.LastEventId()).
  static Response EventStream(std::shared_ptr<EventSource> source, std::string resume_after);

  // Set only for offloaded responses: work too heavy for an I/O thread (parsing and
  // validating a pipeline). The server runs it on its work threads and sends what it returns,
  // or a 503 when ServerOptions::work_deadline passes first; I/O threads serve other requests
  // meanwhile. Exceptions it throws become a 500 JSON error.
  std::shared_ptr<OffloadedWork> offloaded;
  static Response Offload(OffloadedWork work);
  bool is_offloaded() const { return offloaded != nullptr; }

  // Set only for awaited responses: the handler asked another thread (the scheduler) to act
  // and answers when it has. The server starts `awaited` with a Responder and serves other
  // requests until it is called; no thread waits. Offloaded work may return one too.
  std::shared_ptr<AwaitedWork> awaited;
  static Response Await(AwaitedWork work);
  bool is_awaited() const { return awaited != nullptr; }

  // Runs an offloaded response's work here and now, and waits for an awaited one's answer
  // (tests, or callers without a server); other responses are returned as they are.
  static Response Resolve(Response response);

  bool is_stream() const { return event_source != nullptr; }
};

// `{"error": "<error>", "detail": "<detail>"}` with the given status. `detail` is omitted if
// empty. Use for every error a handler returns so clients can rely on the shape.
Response JsonError(int status, std::string_view error, std::string_view detail = {});

// The HTTP status that best describes `code` (kNotFound -> 404, kInvalidArgument -> 400, ...).
int HttpStatusFor(StatusCode code);

// JsonError for a non-OK Status: status from HttpStatusFor, error from the code, detail from
// status.ToString().
Response JsonError(const Status& status);

}  // namespace baton::webapi
