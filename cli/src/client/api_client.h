// ApiClient: the CLI's view of a Baton server's /api/v1, over net::HttpClient.
//
// Every call returns the response body as JSON or a Status whose message is what the user
// should read: the server's `{"error", "detail"}` ("409 conflict: the pipeline changed since
// version 3"), or why the server could not be reached. Paths are relative to /api/v1 and to the
// target's team where they say so. Not thread-safe (one HttpClient); use one per thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "baton/common/json.h"
#include "baton/common/status.h"
#include "baton/net/http_client.h"
#include "client/targets.h"

namespace baton::cli {

// A failed exchange: the HTTP status (0 when no answer came) and the message to print.
struct ApiError {
  int http_status = 0;
  std::string message;
};

class ApiClient {
 public:
  explicit ApiClient(Target target);

  const Target& target() const { return target_; }

  // "/api/v1" + path, e.g. Url("/builds/3") -> "http://host:port/api/v1/builds/3".
  std::string Url(std::string_view path) const;
  // "/teams/<team>/pipelines/<pipeline>" + rest, with each name percent-encoded.
  std::string PipelinePath(std::string_view pipeline, std::string_view rest = {}) const;

  Result<Json> Get(std::string_view path);
  Result<Json> Put(std::string_view path, const Json& body = Json::object());
  Result<Json> Post(std::string_view path, const Json& body = Json::object());
  Result<Json> Delete(std::string_view path);
  // The response body as it came (files, not JSON); errors as for Get.
  Result<std::string> GetBytes(std::string_view path);
  // GET with `Range: bytes=first-last`: the part (206 Partial Content, checked against its
  // Content-Range). A server that ignores ranges answers 200 with the whole body: then the
  // whole body is returned and `*whole` is set.
  Result<std::string> GetRange(std::string_view path, uint64_t first, uint64_t last, bool* whole);

  // The last non-2xx HTTP status seen (0 when the last call succeeded or got no answer).
  int last_http_status() const { return last_http_status_; }

  // Follows /builds/<id>/events from after event `after_seq` (0 = the start);
  // `on_event(type, data)` returns false to stop. OK when the build's stream ended.
  Status StreamBuildEvents(int64_t build_id, int64_t after_seq,
                           const std::function<bool(const std::string&, const Json&)>& on_event);

 private:
  Result<Json> Send(std::string_view method, std::string_view path, std::string body);
  Result<std::string> SendRaw(std::string_view method, std::string_view path, std::string body);
  net::Headers AuthHeaders() const;

  Target target_;
  std::unique_ptr<net::HttpClient> http_;
  int last_http_status_ = 0;
};

// "404 not found: pipeline `x` does not exist" from an error response.
std::string DescribeErrorResponse(int http_status, const std::string& body);

}  // namespace baton::cli
