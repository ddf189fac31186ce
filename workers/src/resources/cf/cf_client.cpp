#include "resources/cf/cf_client.h"

#include <algorithm>
#include <cctype>
#include <thread>

#include "baton/common/base64.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

constexpr const char* kRedacted = "((redacted))";

std::string FormEncode(std::string_view text) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string TrimSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string Describe(const CfError& e) {
  std::string out = e.title.empty() ? "HTTP " + std::to_string(e.http_status) : e.title;
  if (e.code != 0) out += " (" + std::to_string(e.code) + ")";
  if (!e.detail.empty()) out += ": " + e.detail;
  return out;
}

HttpRequest Request(std::string method, std::string url, HttpHeaderList headers, std::string body) {
  HttpRequest r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

std::string PathOf(const HttpRequest& request) {
  size_t path = request.url.find('/', request.url.find("://") + 3);
  return path == std::string::npos ? std::string("/") : request.url.substr(path);
}

Status ErrorFor(const HttpRequest& request, const HttpResponse& response, int attempts = 1) {
  CfError e = ParseCfError(response.status, response.body);
  std::string what = request.method + " " + PathOf(request) + " answered " +
                     std::to_string(response.status) + " " + Describe(e);
  if (attempts > 1) what += " (after " + std::to_string(attempts) + " attempts)";
  if (IsQuotaError(e)) return FailedPrecondition("quota exceeded: " + what);
  if (response.status == 401 || response.status == 403) return PermissionDenied(what);
  if (response.status == 404) return NotFound(what);
  if (response.status >= 500) return Unavailable(what);
  return FailedPrecondition(what);
}

}  // namespace

Result<CfSource> ParseCfSource(const Json& source) {
  if (!source.is_object()) return InvalidArgument("cf source: must be a map");
  CfSource s;
  BATON_ASSIGN_OR_RETURN(s.api, StringField(source, "api", "cf source: api"));
  BATON_ASSIGN_OR_RETURN(s.organization, StringField(source, "organization", "cf source"));
  if (s.organization.empty()) {
    BATON_ASSIGN_OR_RETURN(s.organization, StringField(source, "organisation", "cf source"));
  }
  BATON_ASSIGN_OR_RETURN(s.space, StringField(source, "space", "cf source: space"));
  BATON_ASSIGN_OR_RETURN(s.username, StringField(source, "username", "cf source: username"));
  BATON_ASSIGN_OR_RETURN(s.password, StringField(source, "password", "cf source: password"));
  BATON_ASSIGN_OR_RETURN(s.client_id, StringField(source, "client_id", "cf source: client_id"));
  BATON_ASSIGN_OR_RETURN(s.client_secret,
                         StringField(source, "client_secret", "cf source: client_secret"));
  BATON_ASSIGN_OR_RETURN(s.skip_cert_check,
                         BoolField(source, "skip_cert_check", "cf source: skip_cert_check"));
  BATON_ASSIGN_OR_RETURN(s.ca_cert, StringField(source, "ca_cert", "cf source: ca_cert"));
  if (!s.ca_cert.empty() && s.ca_cert.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return InvalidArgument(
        "cf source: ca_cert must hold PEM certificates (-----BEGIN CERTIFICATE-----)");
  }
  s.api = TrimSlash(s.api);
  if (s.api.empty()) return InvalidArgument("cf source: api is required");
  if (s.api.rfind("http://", 0) != 0 && s.api.rfind("https://", 0) != 0) {
    return InvalidArgument("cf source: api must be an http(s) URL, got '" + s.api + "'");
  }
  if (s.organization.empty()) return InvalidArgument("cf source: organization is required");
  if (s.space.empty()) return InvalidArgument("cf source: space is required");
  bool user = !s.username.empty() || !s.password.empty();
  bool client = !s.client_id.empty() || !s.client_secret.empty();
  if (user == client || (user && (s.username.empty() || s.password.empty())) ||
      (client && (s.client_id.empty() || s.client_secret.empty()))) {
    return InvalidArgument(
        "cf source: give either username and password, or client_id and client_secret");
  }
  return s;
}

CfError ParseCfError(int http_status, const std::string& body) {
  CfError e;
  e.http_status = http_status;
  Json j = Json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object() && j.contains("errors") && j["errors"].is_array() && !j["errors"].empty()) {
    const Json& first = j["errors"][0];
    e.code = first.value("code", 0);
    e.title = first.value("title", "");
    e.detail = first.value("detail", "");
  } else if (j.is_object() && j.contains("error")) {  // UAA
    e.title = j.value("error", "");
    e.detail = j.value("error_description", "");
  } else {
    e.detail = body.substr(0, 300);
  }
  return e;
}

bool IsQuotaError(const CfError& error) {
  auto lower = [](std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
    return s;
  };
  return lower(error.title).find("quota") != std::string::npos ||
         lower(error.detail).find("quota") != std::string::npos;
}

CfClient::CfClient(std::unique_ptr<HttpTransport> transport, CfSource source)
    : transport_(std::move(transport)), source_(std::move(source)) {}

std::string CfClient::Url(const std::string& path) const {
  if (path.rfind("http://", 0) == 0 || path.rfind("https://", 0) == 0) return path;
  return source_.api + path;
}

Status CfClient::Login() {
  HttpRequest root = Request("GET", source_.api + "/", {{"Accept", "application/json"}}, "");
  auto r = SendWithRetries(root);
  if (!r.ok()) {
    std::string advice;
    if (r.status().message().find("certificate") != std::string::npos) {
      advice =
          "; if the API's certificate is signed by a private CA, give it as source.ca_cert "
          "(or set skip_cert_check: true)";
    }
    return Status(r.status().code(), "cannot reach the API: " + r.status().message() + advice);
  }
  if (r->status != 200) return ErrorFor(root, *r);
  Json j = Json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("links")) {
    return FailedPrecondition("GET " + source_.api + "/ is not a Cloud Foundry API root");
  }
  const Json& links = j["links"];
  for (const char* key : {"login", "uaa"}) {  // the cf CLI gets tokens from links.login
    if (uaa_url_.empty() && links.contains(key) && links[key].is_object()) {
      uaa_url_ = TrimSlash(links[key].value("href", ""));
    }
  }
  if (links.contains("log_cache") && links["log_cache"].is_object()) {
    log_cache_url_ = TrimSlash(links["log_cache"].value("href", ""));
  }
  if (uaa_url_.empty()) return FailedPrecondition("the API root has no links.uaa or links.login");
  return RequestToken(/*refresh=*/false);
}

Status CfClient::RequestToken(bool refresh) {
  bool password_grant = !source_.username.empty();
  std::string client = password_grant ? "cf" : source_.client_id;
  std::string secret = password_grant ? "" : source_.client_secret;
  std::string body;
  if (refresh && !refresh_token_.empty()) {
    body = "grant_type=refresh_token&refresh_token=" + FormEncode(refresh_token_);
  } else if (password_grant) {
    body = "grant_type=password&username=" + FormEncode(source_.username) +
           "&password=" + FormEncode(source_.password);
  } else {
    body = "grant_type=client_credentials";
  }
  HttpRequest req = Request("POST", uaa_url_ + "/oauth/token",
                            {{"Content-Type", "application/x-www-form-urlencoded"},
                             {"Accept", "application/json"},
                             {"Authorization", "Basic " + Base64Encode(client + ":" + secret)}},
                            std::move(body));
  auto r = SendWithRetries(req);
  if (!r.ok()) return Status(r.status().code(), "token request: " + r.status().message());
  if (r->status != 200) {
    CfError e = ParseCfError(r->status, r->body);
    return PermissionDenied("UAA refused the credentials (" + std::to_string(r->status) + " " +
                            Describe(e) + ")");
  }
  Json j = Json::parse(r->body, nullptr, false);
  if (!j.is_object() || !j.contains("access_token") || !j["access_token"].is_string()) {
    return FailedPrecondition("UAA answered without an access_token");
  }
  access_token_ = j["access_token"].get<std::string>();
  refresh_token_ = j.value("refresh_token", "");
  if (refresh) ++refreshes_;
  return Status::Ok();
}

Result<HttpResponse> CfClient::Exchange(HttpRequest request) {
  request.headers.emplace_back("Authorization", "bearer " + access_token_);
  int attempts = 1;
  auto r = SendWithRetries(request, &attempts);
  if (r.ok() && r->status == 401) {
    BATON_RETURN_IF_ERROR(RequestToken(/*refresh=*/true));
    request.headers.back().second = "bearer " + access_token_;
    r = SendWithRetries(request, &attempts);
  }
  if (!r.ok()) return Status(r.status().code(), Redact(r.status().message()));
  if (r->status < 200 || r->status >= 300) return ErrorFor(request, *r, attempts);
  return r;
}

namespace {

// The wait a 429 asks for: Retry-After in seconds (at most a minute), else `fallback`.
std::chrono::milliseconds RetryAfter(const HttpResponse& r, std::chrono::milliseconds fallback) {
  auto header = r.Header("Retry-After");
  if (!header || header->empty() || header->find_first_not_of("0123456789") != std::string::npos ||
      header->size() > 4) {
    return fallback;
  }
  return std::chrono::seconds(std::min(std::stoi(*header), 60));
}

bool RetriedStatus(int status) {
  return status == 500 || status == 502 || status == 503 || status == 504;
}

}  // namespace

// Like the cf CLI's retry wrapper: a POST may have been carried out before a 5xx or a broken
// connection (creating a second package or build), so only other methods retry those; a 429
// means the request was not processed at all, so every method retries it.
Result<HttpResponse> CfClient::SendWithRetries(const HttpRequest& request, int* attempts) {
  bool idempotent = request.method != "POST";
  std::chrono::milliseconds backoff = first_backoff_;
  for (int attempt = 1;; ++attempt) {
    if (attempts) *attempts = attempt;
    auto r = transport_->Send(request);
    std::chrono::milliseconds wait{0};
    std::string why;
    if (attempt > retries_) return r;
    // A refused certificate or a timeout will not change on a retry.
    bool transient = !r.ok() && r.status().code() != StatusCode::kDeadlineExceeded &&
                     r.status().message().find("TLS handshake") == std::string::npos;
    if (transient && idempotent) {
      why = r.status().message();
      wait = backoff;
    } else if (r.ok() && r->status == 429) {
      why = "answered 429 (rate limited)";
      wait = RetryAfter(*r, backoff);
    } else if (r.ok() && idempotent && RetriedStatus(r->status)) {
      why = "answered " + std::to_string(r->status);
      wait = backoff;
    } else {
      return r;
    }
    if (log_) {
      log_("cf: " + request.method + " " + PathOf(request) + " " + Redact(why) + "; retrying in " +
           std::to_string(wait.count()) + " ms (retry " + std::to_string(attempt) + " of " +
           std::to_string(retries_) + ")");
    }
    std::this_thread::sleep_for(wait);  // CC offers nothing to wait on
    backoff = std::min(backoff * 2, std::chrono::milliseconds(8000));
  }
}

Result<HttpResponse> CfClient::Send(const std::string& method, const std::string& path,
                                    std::string body, const std::string& content_type) {
  HttpRequest req = Request(method, Url(path), {{"Accept", "application/json"}}, std::move(body));
  if (!content_type.empty()) req.headers.emplace_back("Content-Type", content_type);
  return Exchange(std::move(req));
}

Result<HttpResponse> CfClient::Upload(const std::string& path, const std::string& content_type,
                                      std::string head, const std::string& file, std::string tail,
                                      std::chrono::milliseconds stall_timeout,
                                      std::function<void(uint64_t, uint64_t)> on_progress) {
  HttpRequest req = Request("POST", Url(path), {{"Accept", "application/json"}}, std::move(head));
  req.headers.emplace_back("Content-Type", content_type);
  req.body_file = file;
  req.body_tail = std::move(tail);
  req.stall_timeout = stall_timeout;
  req.on_progress = std::move(on_progress);
  return Exchange(std::move(req));
}

Result<Json> CfClient::Get(const std::string& path) {
  BATON_ASSIGN_OR_RETURN(HttpResponse r, Send("GET", path, "", ""));
  Json j = Json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return FailedPrecondition("GET " + path + " answered with invalid JSON");
  return j;
}

Result<Json> CfClient::GetAll(const std::string& path) {
  Json all = Json::array();
  std::string next = path;
  for (int pages = 1; !next.empty(); ++pages) {
    if (pages > 1000) return FailedPrecondition("GET " + path + " has more than 1000 pages");
    BATON_ASSIGN_OR_RETURN(Json page, Get(next));
    for (const Json& r : page.value("resources", Json::array())) all.push_back(r);
    Json pagination = page.value("pagination", Json::object());
    Json link = pagination.is_object() ? pagination.value("next", Json()) : Json();
    next = link.is_object() ? link.value("href", "") : "";
  }
  return Json{{"resources", std::move(all)}};
}

Result<Json> CfClient::SendJson(const std::string& method, const std::string& path,
                                const Json& body) {
  BATON_ASSIGN_OR_RETURN(HttpResponse r, Send(method, path, body.dump(), "application/json"));
  if (r.body.empty()) return Json::object();
  Json j = Json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return FailedPrecondition(method + " " + path + " answered invalid JSON");
  return j;
}

std::string CfClient::Redact(std::string text) const {
  std::vector<const std::string*> secrets = {&source_.password, &source_.client_secret,
                                             &access_token_, &refresh_token_};
  for (const auto& s : extra_secrets_) secrets.push_back(&s);
  for (const std::string* secret : secrets) {
    if (secret->size() < 3) continue;
    for (size_t at = text.find(*secret); at != std::string::npos; at = text.find(*secret, at)) {
      text.replace(at, secret->size(), kRedacted);
      at += std::string_view(kRedacted).size();
    }
  }
  return text;
}

}  // namespace baton::workers::resources
