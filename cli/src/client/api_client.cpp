#include "client/api_client.h"

#include "baton/webapi/http_types.h"

namespace baton::cli {
namespace {

StatusCode CodeForHttp(int status) {
  switch (status) {
    case 400:
      return StatusCode::kInvalidArgument;
    case 401:
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 409:
    case 412:
      return StatusCode::kFailedPrecondition;
    case 503:
      return StatusCode::kUnavailable;
    case 504:
      return StatusCode::kDeadlineExceeded;
    default:
      return StatusCode::kInternal;
  }
}

// Options for talking to `url` (the client loads the CA bundle only for https).
net::ClientOptions OptionsFor(const std::string& url) {
  net::ClientOptions options;
  return options;
}

}  // namespace

std::string DescribeErrorResponse(int http_status, const std::string& body) {
  std::string text = std::to_string(http_status);
  Json j = Json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_string()) {
    text += " " + j["error"].get<std::string>();
    if (j.contains("detail") && j["detail"].is_string() && !j["detail"].get<std::string>().empty())
      text += ": " + j["detail"].get<std::string>();
  } else {
    text += " " + std::string(net::ReasonPhrase(http_status));
    if (!body.empty()) text += ": " + body.substr(0, 500);
  }
  if (http_status == 401) text += " (log in again: baton login -c URL --token TOKEN)";
  return text;
}

ApiClient::ApiClient(Target target)
    : target_(std::move(target)),
      http_(std::make_unique<net::HttpClient>(OptionsFor(target_.url))) {}

std::string ApiClient::Url(std::string_view path) const {
  return target_.url + "/api/v1" + std::string(path);
}

std::string ApiClient::PipelinePath(std::string_view pipeline, std::string_view rest) const {
  return "/teams/" + net::PercentEncode(target_.team) + "/pipelines/" +
         net::PercentEncode(pipeline) + std::string(rest);
}

net::Headers ApiClient::AuthHeaders() const {
  net::Headers h;
  if (!target_.token.empty()) h.Set("Authorization", "Bearer " + target_.token);
  return h;
}

Result<std::string> ApiClient::SendRaw(std::string_view method, std::string_view path,
                                       std::string body) {
  net::Headers headers = AuthHeaders();
  if (!body.empty()) headers.Set("Content-Type", "application/json");
  auto r = http_->Send(method, Url(path), std::move(body), headers);
  if (!r.ok()) {
    last_http_status_ = 0;
    return Unavailable("cannot reach " + target_.url + ": " + r.status().message());
  }
  if (r->status < 200 || r->status >= 300) {
    last_http_status_ = r->status;
    return Status(CodeForHttp(r->status), DescribeErrorResponse(r->status, r->body));
  }
  last_http_status_ = 0;
  return std::move(r->body);
}

Result<Json> ApiClient::Send(std::string_view method, std::string_view path, std::string body) {
  BATON_ASSIGN_OR_RETURN(std::string text, SendRaw(method, path, std::move(body)));
  if (text.empty()) return Json::object();
  Json j = Json::parse(text, nullptr, false);
  if (j.is_discarded()) return Internal("the server answered with something that is not JSON");
  return j;
}

Result<std::string> ApiClient::GetRange(std::string_view path, uint64_t first, uint64_t last,
                                        bool* whole) {
  net::Headers headers = AuthHeaders();
  headers.Set("Range", "bytes=" + std::to_string(first) + "-" + std::to_string(last));
  auto r = http_->Send("GET", Url(path), "", headers);
  if (!r.ok()) {
    last_http_status_ = 0;
    return Unavailable("cannot reach " + target_.url + ": " + r.status().message());
  }
  if (r->status != 200 && r->status != 206) {
    last_http_status_ = r->status;
    return Status(CodeForHttp(r->status), DescribeErrorResponse(r->status, r->body));
  }
  last_http_status_ = 0;
  *whole = r->status == 200;
  std::string expected = "bytes " + std::to_string(first) + "-";
  std::string range = r->headers.Get("Content-Range").value_or("");
  if (!*whole && range.rfind(expected, 0) != 0) {
    return Internal("asked " + target_.url + " for bytes " + std::to_string(first) + "-" +
                    std::to_string(last) + " and got Content-Range `" + range + "`");
  }
  return std::move(r->body);
}

Result<Json> ApiClient::Get(std::string_view path) { return Send("GET", path, ""); }
Result<std::string> ApiClient::GetBytes(std::string_view path) { return SendRaw("GET", path, ""); }
Result<Json> ApiClient::Put(std::string_view path, const Json& body) {
  return Send("PUT", path, body.dump());
}
Result<Json> ApiClient::Post(std::string_view path, const Json& body) {
  return Send("POST", path, body.dump());
}
Result<Json> ApiClient::Delete(std::string_view path) { return Send("DELETE", path, ""); }

Status ApiClient::StreamBuildEvents(
    int64_t build_id, int64_t after_seq,
    const std::function<bool(const std::string&, const Json&)>& on_event) {
  net::ClientOptions options = OptionsFor(target_.url);
  options.stream_idle_timeout = std::chrono::minutes(10);
  net::HttpClient stream_client(options);
  std::string url = Url("/builds/" + std::to_string(build_id) + "/events");
  net::Headers headers = AuthHeaders();
  if (after_seq > 0) headers.Set("Last-Event-ID", std::to_string(after_seq));
  return stream_client.StreamEvents(url, headers, [&](const net::SseEvent& e) {
    Json data = Json::parse(e.data, nullptr, false);
    if (data.is_discarded()) data = Json::object();
    return on_event(e.event, data);
  });
}

}  // namespace baton::cli
