#include "resources/registry_image/registry_client.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "baton/common/base64.h"
#include "baton/common/sha256.h"
#include "baton/common/strings.h"
#include "baton/net/http_types.h"
#include "resources/registry_image/registry_auth.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

// Retry-After is a number of seconds or an HTTP date (RFC 9110 10.2.3).
std::string RetryAdvice(const std::string& retry_after) {
  if (retry_after.empty()) return "retry later";
  bool seconds = std::all_of(retry_after.begin(), retry_after.end(),
                             [](unsigned char c) { return std::isdigit(c) != 0; });
  return "retry after " + retry_after + (seconds ? " seconds" : "");
}

}  // namespace

bool IsSha256Digest(const std::string& digest) {
  if (digest.size() != 71 || !StartsWith(digest, "sha256:")) return false;
  for (size_t i = 7; i < digest.size(); ++i) {
    char c = digest[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

const char* const kManifestAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

RegistryClient::RegistryClient(const HttpTransportFactory& transports, const ImageSource& source,
                               std::string what)
    : transports_(transports), source_(source), what_(std::move(what)) {}

RegistryClient::~RegistryClient() {
  std::error_code ec;
  if (!ca_file_.empty()) fs::remove(ca_file_, ec);
}

std::string RegistryClient::ImageName() const {
  return source_.where.registry + "/" + source_.where.name;
}

std::string RegistryClient::Url(const std::string& path) const {
  return scheme_ + "://" + source_.where.registry + path;
}

bool RegistryClient::OwnUrl(const std::string& url) const {
  return StartsWith(url, scheme_ + "://" + source_.where.registry + "/");
}

Status RegistryClient::Connect(const std::string& stage) {
  if (transport_) return Status::Ok();
  HttpTransportOptions options;
  options.insecure_skip_verify = source_.insecure;
  if (!source_.ca_certs.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "baton-registry-ca-XXXXXX").string();
    int fd = mkstemp(tmpl.data());
    if (fd < 0) return IoError(what_ + ": cannot write source.ca_certs: " + strerror(errno));
    close(fd);
    ca_file_ = tmpl;
    BATON_RETURN_IF_ERROR(WriteFile(ca_file_, Join(source_.ca_certs, "\n") + "\n"));
    options.ca_file = ca_file_;
  }
  options.request_timeout = std::chrono::minutes(10);  // a whole layer is one exchange
  transport_ = transports_(options);
  // The API's base answers 200, or 401 with the challenge to answer before anything else.
  scheme_ = "https";
  HttpRequest ping{"GET", Url("/v2/"), {}, ""};
  Result<HttpResponse> r = transport_->Send(ping);
  if (!r.ok() && source_.insecure) {
    scheme_ = "http";  // `insecure` also means a plain-http registry, as registry-image has it
    ping.url = Url("/v2/");
    r = transport_->Send(ping);
  }
  if (!r.ok()) {
    return Unavailable(what_ + ": " + stage + " " + ImageName() +
                       ": cannot reach the registry: " + r.status().message() +
                       (source_.insecure ? ""
                                         : " (for a plain-http or self-signed registry set "
                                           "source.insecure: true, or give source.ca_certs)"));
  }
  if (r->status == 401) return Authenticate(*r, stage);
  return Status::Ok();
}

Status RegistryClient::Authenticate(const HttpResponse& challenge, const std::string& stage) {
  Challenge c = ParseChallenge(challenge.Header("WWW-Authenticate").value_or(""));
  std::string realm = c.params.count("realm") ? " (realm \"" + c.Param("realm") + "\")" : "";
  std::string where = what_ + ": " + stage + " " + ImageName() + ": ";
  if (c.scheme == "basic") {
    if (source_.username.empty()) {
      return PermissionDenied(where + "the registry asks for credentials" + realm +
                              ": set source.username and source.password");
    }
    authorization_ = "Basic " + Base64Encode(source_.username + ":" + source_.password);
    return Status::Ok();
  }
  if (c.scheme == "bearer") return FetchToken(c, stage);
  return PermissionDenied(where + "HTTP 401 with an authentication scheme Baton does not know (`" +
                          c.scheme + "`)");
}

// Docker's token protocol: the token service named by the challenge's realm hands out a token
// for `scope` (to source.username when given, else anonymously), sent as `Bearer` from then on.
Status RegistryClient::FetchToken(const Challenge& challenge, const std::string& stage) {
  std::string where = what_ + ": " + stage + " " + ImageName() + ": ";
  std::string realm = challenge.Param("realm");
  if (!StartsWith(realm, "https://") && !StartsWith(realm, "http://")) {
    return Unavailable(where +
                       "the registry asks for a bearer token but its challenge names "
                       "no http(s) token service (realm `" +
                       realm +
                       "`); the registry is "
                       "misconfigured: tell its operator");
  }
  bool with_credentials = !source_.username.empty();
  if (with_credentials && StartsWith(realm, "http://") && !source_.insecure) {
    return FailedPrecondition(where + "the token service " + realm +
                              " is plain http: Baton sends source.password there only with "
                              "source.insecure: true");
  }
  std::string scope = challenge.Param("scope");
  if (scope.empty()) scope = "repository:" + source_.where.name + ":" + actions_;
  HttpRequest request{"GET", TokenUrl(challenge, scope, source_.username), {}, ""};
  if (with_credentials) {
    request.headers.emplace_back(
        "Authorization", "Basic " + Base64Encode(source_.username + ":" + source_.password));
  }
  Result<HttpResponse> r = transport_->Send(request);
  std::string service = "the token service " + realm + " (scope " + scope + ")";
  if (!r.ok()) return Unavailable(where + "cannot reach " + service + ": " + r.status().message());
  std::string said = ServiceMessage(*r);
  std::string answered = "HTTP " + std::to_string(r->status) + (said.empty() ? "" : ": " + said);
  if (r->status == 401 || r->status == 403) {
    return PermissionDenied(
        where + service + " refused " +
        (with_credentials
             ? "source.username `" + source_.username + "` with this password (" + answered +
                   "): check both"
             : "anonymous access (" + answered + "): set source.username and source.password"));
  }
  if (r->status != 200) return Unavailable(where + service + " answered " + answered);
  std::string token = TokenFromAnswer(r->body);
  if (token.empty()) return Unavailable(where + service + " answered without a token");
  authorization_ = "Bearer " + token;
  return Status::Ok();
}

Result<HttpResponse> RegistryClient::SendOnce(const HttpRequest& request,
                                              const std::string& stage) {
  HttpRequest r = request;
  // Credentials go to the registry only (an upload URL may point elsewhere).
  if (!authorization_.empty() && OwnUrl(r.url))
    r.headers.emplace_back("Authorization", authorization_);
  Result<HttpResponse> response = transport_->Send(r);
  if (!response.ok()) {
    return Unavailable(what_ + ": " + stage + " " + ImageName() + ": " +
                       response.status().message());
  }
  return response;
}

Result<HttpResponse> RegistryClient::Send(HttpRequest request, const std::string& stage) {
  BATON_RETURN_IF_ERROR(Connect(stage));
  if (StartsWith(request.url, "/")) request.url = Url(request.url);
  BATON_ASSIGN_OR_RETURN(HttpResponse response, SendOnce(request, stage));
  // Answer a challenge once per request: the first one, or a bearer one again (the token
  // expired, or this request needs another scope).
  bool bearer = ParseChallenge(response.Header("WWW-Authenticate").value_or("")).scheme == "bearer";
  if (response.status == 401 && (authorization_.empty() || bearer)) {
    BATON_RETURN_IF_ERROR(Authenticate(response, stage));
    BATON_ASSIGN_OR_RETURN(response, SendOnce(request, stage));
  }
  return response;
}

Status RegistryClient::ErrorFrom(const HttpResponse& response, const std::string& stage) const {
  std::string said = ServiceMessage(response);
  std::string msg = what_ + ": " + stage + " " + ImageName() + ": HTTP " +
                    std::to_string(response.status) + (said.empty() ? "" : " (" + said + ")");
  switch (response.status) {
    case 401:
    case 403:
      return PermissionDenied(msg + RefusalAdvice(response));
    case 404:
      return NotFound(msg + ": check source.repository and source.tag");
    case 429:
      return Unavailable(msg + ": rate limited by the registry; " +
                         RetryAdvice(response.Header("Retry-After").value_or("")) +
                         " (or log in with source.username/password, or use "
                         "source.registry_mirror)");
    default:
      return Unavailable(msg);
  }
}

// Why the registry refused what was sent, with its realm.
std::string RegistryClient::RefusalAdvice(const HttpResponse& response) const {
  Challenge c = ParseChallenge(response.Header("WWW-Authenticate").value_or(""));
  std::string realm = c.params.count("realm") ? " (realm \"" + c.Param("realm") + "\")" : "";
  std::string error = c.Param("error").empty() ? "" : " (" + c.Param("error") + ")";
  std::string who = source_.username.empty() ? std::string("anonymous access")
                                             : "source.username `" + source_.username + "`";
  if (c.scheme == "bearer" && c.Param("error") == "invalid_token") {
    return ": the registry does not accept the tokens its token service" + realm +
           " issues (invalid_token): the registry or its token service is misconfigured; tell "
           "their operator";
  }
  if (c.scheme == "bearer") {
    return ": the registry refused the token its token service" + realm + " gave to " + who +
           error + ": " +
           (source_.username.empty()
                ? "set source.username and source.password"
                : "check that this user may " + actions_ + " " + source_.where.name);
  }
  return ": the registry refused " + who + realm +
         (source_.username.empty() ? "; set source.username and source.password"
                                   : " with this password; check both");
}

// Blob storage may live elsewhere (S3, a CDN): follow its redirects, sending the registry's
// credentials only to the registry's own host. `like` gives the body consumer and timeouts.
Result<HttpResponse> RegistryClient::FollowRedirects(HttpResponse response, const HttpRequest& like,
                                                     const std::string& stage) {
  for (int hops = 0; hops < 5; ++hops) {
    if (response.status < 300 || response.status > 308 || response.status == 304) break;
    std::string location = response.Header("Location").value_or("");
    if (location.empty()) break;
    if (StartsWith(location, "/")) location = Url(location);
    HttpRequest next = like;
    next.url = location;
    next.headers.clear();
    std::string own = scheme_ + "://" + source_.where.registry + "/";
    if (StartsWith(location, own) && !authorization_.empty()) {
      next.headers.emplace_back("Authorization", authorization_);
    }
    Result<HttpResponse> r = transport_->Send(next);
    if (!r.ok()) {
      return Unavailable(what_ + ": " + stage + " " + ImageName() +
                         " (redirected): " + r.status().message());
    }
    response = std::move(*r);
  }
  return response;
}

Status RegistryClient::StreamBlob(const std::string& digest, int64_t size, const std::string& stage,
                                  const std::function<Status(std::string_view)>& sink) {
  const std::string where = what_ + ": " + stage + " " + ImageName();
  if (!IsSha256Digest(digest)) {
    return InvalidArgument(where + ": `" + digest + "` is not a sha256 digest");
  }
  auto mismatch = [&](const std::string& got, int64_t bytes) {
    return FailedPrecondition(where + ": digest mismatch: expected " + digest + " (" +
                              std::to_string(size) + " bytes), received " + got + " (" +
                              std::to_string(bytes) + " bytes)");
  };
  Sha256 hash;
  int64_t received = 0;
  HttpRequest request{"GET", "/v2/" + source_.where.name + "/blobs/" + digest, {}, ""};
  request.stall_timeout = std::chrono::minutes(2);  // per read; a big layer may take longer
  request.on_body = [&](std::string_view piece) -> Status {
    received += static_cast<int64_t>(piece.size());
    if (size >= 0 && received > size) return mismatch("more", received);
    hash.Update(piece);
    return sink(piece);
  };
  BATON_ASSIGN_OR_RETURN(HttpResponse response, Send(request, stage));
  BATON_ASSIGN_OR_RETURN(response, FollowRedirects(std::move(response), request, stage));
  if (response.status != 200) return ErrorFrom(response, stage);
  std::string got = "sha256:" + hash.FinishHex();
  if (got != digest || (size >= 0 && received != size)) return mismatch(got, received);
  return Status::Ok();
}

Result<std::string> RegistryClient::GetBlob(const std::string& digest, int64_t size,
                                            const std::string& stage) {
  std::string bytes;
  BATON_RETURN_IF_ERROR(StreamBlob(digest, size, stage, [&](std::string_view piece) {
    bytes.append(piece);
    return Status::Ok();
  }));
  return bytes;
}

Status RegistryClient::FetchBlobToFile(const std::string& digest, int64_t size,
                                       const std::string& path, const std::string& stage) {
  std::unique_ptr<FILE, int (*)(FILE*)> file(fopen(path.c_str(), "wbx"), &fclose);
  if (!file) {
    return IoError(what_ + ": " + stage + " " + ImageName() + ": cannot create " + path + ": " +
                   strerror(errno));
  }
  Status s = StreamBlob(digest, size, stage, [&](std::string_view piece) -> Status {
    if (fwrite(piece.data(), 1, piece.size(), file.get()) == piece.size()) return Status::Ok();
    return IoError(what_ + ": " + stage + " " + ImageName() + ": cannot write " + path + ": " +
                   strerror(errno) + " (is the disk full?)");
  });
  if (s.ok() && fclose(file.release()) != 0) {
    s = IoError(what_ + ": " + stage + " " + ImageName() + ": cannot write " + path + ": " +
                strerror(errno) + " (is the disk full?)");
  }
  if (!s.ok()) {
    std::error_code ec;
    fs::remove(path, ec);
  }
  return s;
}

Result<std::string> RegistryClient::HeadManifestDigest(const std::string& reference) {
  const std::string stage = "asking for the digest of `" + reference + "` from";
  HttpRequest request{"HEAD",
                      "/v2/" + source_.where.name + "/manifests/" + reference,
                      {{"Accept", kManifestAccept}},
                      ""};
  BATON_ASSIGN_OR_RETURN(HttpResponse response, Send(request, stage));
  std::string digest = response.Header("Docker-Content-Digest").value_or("");
  if (response.status != 200 || !IsSha256Digest(digest)) return std::string();
  return digest;
}

Result<FetchedManifest> RegistryClient::GetManifest(const std::string& reference) {
  const std::string stage = "fetching the manifest of `" + reference + "` from";
  HttpRequest request{"GET",
                      "/v2/" + source_.where.name + "/manifests/" + reference,
                      {{"Accept", kManifestAccept}},
                      ""};
  BATON_ASSIGN_OR_RETURN(HttpResponse response, Send(request, stage));
  if (response.status != 200) return ErrorFrom(response, stage);
  FetchedManifest out;
  out.media_type = response.Header("Content-Type").value_or("");
  out.digest = "sha256:" + Sha256Hex(response.body);
  std::string claimed = response.Header("Docker-Content-Digest").value_or(out.digest);
  bool by_digest = StartsWith(reference, "sha256:");
  if ((by_digest && reference != out.digest) || (!by_digest && claimed != out.digest)) {
    return FailedPrecondition(what_ + ": " + stage + " " + ImageName() +
                              ": digest mismatch: the registry sent a manifest whose sha256 is " +
                              out.digest + ", expected " + (by_digest ? reference : claimed));
  }
  out.body = std::move(response.body);
  return out;
}

}  // namespace baton::workers::resources
