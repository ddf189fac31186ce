#include "baton/webapi/http_types.h"

#include <future>

#include <nlohmann/json.hpp>

#include "baton/webapi/sse.h"
#include "responder.h"

namespace baton::webapi {

std::optional<std::string> Request::Query(std::string_view name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

std::string Request::Param(std::string_view name) const {
  auto it = params.find(name);
  return it == params.end() ? std::string() : it->second;
}

std::string Request::LastEventId() const { return headers.Get("Last-Event-ID").value_or(""); }

Response Response::Json(int status, std::string json_text) {
  Response r;
  r.status = status;
  r.body = std::move(json_text);
  return r;
}

Response Response::Json(int status, const nlohmann::json& value) {
  return Json(status, value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Response Response::Text(int status, std::string text, std::string content_type) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(text);
  return r;
}

bool WorkClaim::Commit() {
  int expected = kRunning;
  return state_.compare_exchange_strong(expected, kCommitted) || expected == kCommitted;
}

bool WorkClaim::Abandon() {
  int expected = kRunning;
  return state_.compare_exchange_strong(expected, kAbandoned) || expected == kAbandoned;
}

Response Response::Offload(OffloadedWork work) {
  Response r;
  r.offloaded = std::make_shared<OffloadedWork>(std::move(work));
  return r;
}

Response Response::Await(AwaitedWork work) {
  Response r;
  r.awaited = std::make_shared<AwaitedWork>(std::move(work));
  return r;
}

Response Response::Resolve(Response response) {
  if (response.is_offloaded()) {
    WorkClaim claim;
    return Resolve((*response.offloaded)(claim));
  }
  if (!response.is_awaited()) return response;
  auto answer = std::make_shared<std::promise<Response>>();
  std::future<Response> result = answer->get_future();
  (*response.awaited)(MakeResponder([answer](Response r) { answer->set_value(std::move(r)); }));
  return result.get();  // callers without a server only: a server never waits here
}

Response Response::EventStream(std::shared_ptr<EventSource> source, std::string resume_after) {
  Response r;
  r.content_type = "text/event-stream";
  r.event_source = std::move(source);
  r.resume_after = std::move(resume_after);
  return r;
}

Response JsonError(int status, std::string_view error, std::string_view detail) {
  nlohmann::json body = {{"error", error}};
  if (!detail.empty()) body["detail"] = detail;
  return Response::Json(status, body);
}

int HttpStatusFor(StatusCode code) {
  switch (code) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return 400;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
      return 409;
    case StatusCode::kFailedPrecondition:
      return 409;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kUnavailable:
      return 503;
    case StatusCode::kDeadlineExceeded:
      return 504;
    case StatusCode::kCancelled:
      return 409;
    case StatusCode::kIoError:
      return 500;
    case StatusCode::kInternal:
      return 500;
  }
  return 500;
}

Response JsonError(const Status& status) {
  return JsonError(HttpStatusFor(status.code()), ToString(status.code()), status.ToString());
}

}  // namespace baton::webapi
