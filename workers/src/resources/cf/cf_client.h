// CfClient: an authenticated session with one Cloud Foundry API (Cloud Controller v3 + UAA).
//
// Login() reads the API root (GET {api}/ -> links.login, else links.uaa), then asks it for a token
// (password grant with the public client "cf", or client_credentials). Every later call sends
// `Authorization: bearer <token>`; on a 401 it refreshes the token once (refresh_token grant,
// or a new grant when there is no refresh token) and retries. Like the cf CLI, it retries
// requests other than POST that fail to connect or answer 500/502/503/504 (backing off), and any
// request answered 429 after its Retry-After. Non-2xx answers become errors
// carrying CF's `errors[]` (title, code, detail). Credentials and tokens never appear in the
// messages it returns: Redact() scrubs them from any text.
//
// Thread-compatible: one CfClient per push.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/workers/http_transport.h"
#include "baton/workers/worker.h"

namespace baton::workers::resources {

struct CfSource {
  std::string api;  // https://api.example.com (no trailing slash)
  std::string organization;
  std::string space;
  std::string username;
  std::string password;
  std::string client_id;
  std::string client_secret;
  bool skip_cert_check = false;
  std::string ca_cert;  // PEM: trust these certificates (the API's CA) instead of the system's
};

// Reads and checks `source` ("cf source: api is required", ...).
Result<CfSource> ParseCfSource(const Json& source);

// A CF API error: the HTTP status and the first of `errors[]`.
struct CfError {
  int http_status = 0;
  int code = 0;
  std::string title;  // "CF-AppMemoryQuotaExceeded"
  std::string detail;
};
// Parses `{"errors":[{"code":..,"title":..,"detail":..}]}` (or UAA's {"error",
// "error_description"}); falls back to the raw body.
CfError ParseCfError(int http_status, const std::string& body);
// True for CC's quota errors (title or detail mentions a quota).
bool IsQuotaError(const CfError& error);

class CfClient {
 public:
  CfClient(std::unique_ptr<HttpTransport> transport, CfSource source);

  // Discovers UAA and gets a token. Errors name the stage ("login: ...").
  Status Login();

  // JSON calls relative to the API (`path` starts with "/v3/...") or absolute URLs.
  Result<Json> Get(const std::string& path);
  // A list, every page of it (following pagination.next): {"resources": [...]}.
  Result<Json> GetAll(const std::string& path);
  Result<Json> SendJson(const std::string& method, const std::string& path, const Json& body);
  // A raw call with the given content type; returns the response on 2xx.
  Result<HttpResponse> Send(const std::string& method, const std::string& path, std::string body,
                            const std::string& content_type);

  // POSTs `head` + the file's bytes + `tail` streamed (see HttpRequest::body_file).
  Result<HttpResponse> Upload(const std::string& path, const std::string& content_type,
                              std::string head, const std::string& file, std::string tail,
                              std::chrono::milliseconds stall_timeout,
                              std::function<void(uint64_t, uint64_t)> on_progress);

  // `text` with every credential and token replaced by "((redacted))".
  std::string Redact(std::string text) const;
  // Another secret for Redact (e.g. a docker registry password).
  void AddSecret(std::string secret) { extra_secrets_.push_back(std::move(secret)); }
  // Where retries are reported (one line each); may be empty.
  void set_log(std::function<void(const std::string&)> log) { log_ = std::move(log); }
  // How many times a request is retried, and the first backoff (doubled each time, at most 8 s).
  void set_retries(int retries, std::chrono::milliseconds first_backoff) {
    retries_ = retries;
    first_backoff_ = first_backoff;
  }
  const CfSource& source() const { return source_; }
  const std::string& log_cache_url() const { return log_cache_url_; }
  int token_refreshes() const { return refreshes_; }

 private:
  Status RequestToken(bool refresh);
  Result<HttpResponse> Exchange(HttpRequest request);
  // transport_->Send with the retries described above; `attempts` receives how many were made.
  Result<HttpResponse> SendWithRetries(const HttpRequest& request, int* attempts = nullptr);
  std::string Url(const std::string& path) const;

  std::unique_ptr<HttpTransport> transport_;
  CfSource source_;
  std::string uaa_url_;
  std::string log_cache_url_;
  std::string access_token_;
  std::string refresh_token_;
  int refreshes_ = 0;
  std::vector<std::string> extra_secrets_;
  std::function<void(const std::string&)> log_;
  int retries_ = 4;
  std::chrono::milliseconds first_backoff_{250};
};

}  // namespace baton::workers::resources
