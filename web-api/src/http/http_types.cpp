#include "baton/webapi/http_types.h"

#include <strings.h>

#include <nlohmann/json.hpp>

#include "baton/webapi/sse.h"

namespace baton::webapi {

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const {
  size_t n = std::min(a.size(), b.size());
  int c = n == 0 ? 0 : strncasecmp(a.data(), b.data(), n);
  return c < 0 || (c == 0 && a.size() < b.size());
}

std::optional<std::string> Headers::Get(std::string_view name) const {
  auto it = fields_.find(name);
  if (it == fields_.end()) return std::nullopt;
  return it->second;
}

void Headers::Set(std::string_view name, std::string value) {
  Remove(name);
  Add(name, std::move(value));
}

void Headers::Add(std::string_view name, std::string value) {
  fields_.emplace(std::string(name), std::move(value));
}

void Headers::Remove(std::string_view name) {
  auto range = fields_.equal_range(name);
  fields_.erase(range.first, range.second);
}

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

Response Response::Resolve(Response response) {
  if (!response.is_offloaded()) return response;
  WorkClaim claim;
  return (*response.offloaded)(claim);
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

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return "";
  }
}

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else if (c != '%') {
      out.push_back(c);
    } else {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = HexValue(text[i + 1]), lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    }
  }
  return out;
}

std::string PercentEncode(std::string_view text) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::optional<QueryParams> ParseQuery(std::string_view query) {
  QueryParams params;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto name = PercentDecode(pair.substr(0, eq), true);
    auto value = PercentDecode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!name || !value) return std::nullopt;
    params.emplace(std::move(*name), std::move(*value));
  }
  return params;
}

}  // namespace baton::webapi
