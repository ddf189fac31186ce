// RegistryClient: the OCI Distribution API v2 as the registry-image type needs it, over the
// worker's HttpTransport. It picks the scheme (https; with `insecure`, https without
// verification and then plain http), answers the registry's 401 challenges (Basic, and
// Bearer through the registry's token service, with credentials or anonymously), and turns the
// registry's error JSON into messages that name the stage ("fetching the manifest"), the image and
// the registry's own words. Credentials and tokens go only into Authorization headers, never into
// messages.
//
// Thread-safety: one RegistryClient per thread (it owns one transport).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/status.h"
#include "baton/workers/http_transport.h"
#include "resources/registry_image/image_source.h"
#include "resources/registry_image/registry_auth.h"

namespace baton::workers::resources {

struct FetchedManifest {
  std::string media_type;  // Content-Type as served
  std::string digest;      // "sha256:<hex>" of `body`, checked against the registry's claim
  std::string body;
};

// True for "sha256:" followed by 64 lower-case hex digits (the only digests Baton accepts, so a
// digest is safe in URLs and file names).
bool IsSha256Digest(const std::string& digest);

// Media types Baton accepts for manifests and indexes (OCI and Docker v2 schema 2).
extern const char* const kManifestAccept;

class RegistryClient {
 public:
  // `what` prefixes every error ("registry-image check").
  RegistryClient(const HttpTransportFactory& transports, const ImageSource& source,
                 std::string what);
  ~RegistryClient();
  RegistryClient(const RegistryClient&) = delete;
  RegistryClient& operator=(const RegistryClient&) = delete;

  // The digest the registry names for `reference` in Docker-Content-Digest when asked with HEAD
  // (which registries, Docker Hub included, do not count as a pull); "" when it names none or
  // answers otherwise (then GetManifest, which also carries the registry's words).
  Result<std::string> HeadManifestDigest(const std::string& reference);

  // The manifest or index that `reference` (a tag or "sha256:..." digest) names.
  Result<FetchedManifest> GetManifest(const std::string& reference);

  // The blob `digest` ("sha256:<hex>"), following redirects to blob storage, checked against
  // the digest (and `size` when >= 0) before it is returned. For small blobs (configs).
  Result<std::string> GetBlob(const std::string& digest, int64_t size, const std::string& stage);

  // Streams the blob `digest` into the new file `path` as it arrives, hashing it on the way
  // (never held in memory whole); the file stays only when the blob matches its digest and
  // `size` (when >= 0). A blob growing past `size` is refused at once.
  Status FetchBlobToFile(const std::string& digest, int64_t size, const std::string& path,
                         const std::string& stage);

  // Asks token services for `pull,push` from now on (before the first request, for a put).
  void AskForPush() { actions_ = "pull,push"; }

  // Whether the registry has the blob `digest` in this repository (HEAD).
  Result<bool> HasBlob(const std::string& digest, const std::string& stage);

  // Uploads `file` as the blob `digest` (POST for an upload URL, then one streamed PUT).
  Status PushBlob(const std::string& digest, const std::string& file, const std::string& stage);

  // Stores `body` as the manifest `reference` (a tag or its digest); returns the digest the
  // registry gives it.
  Result<std::string> PutManifest(const std::string& reference, const std::string& media_type,
                                  const std::string& body, const std::string& stage);

  // Every tag of the repository (GET tags/list, `page_size` a page, following the registry's
  // `Link: <...>; rel="next"` pages); none for a repository nothing was pushed to yet.
  Result<std::vector<std::string>> ListTags(int page_size = 1000);

  // "127.0.0.1:5000/team/app", for messages.
  std::string ImageName() const;

 private:
  Result<HttpResponse> Send(HttpRequest request, const std::string& stage);
  Result<HttpResponse> SendOnce(const HttpRequest& request, const std::string& stage);
  Result<HttpResponse> FollowRedirects(HttpResponse response, const HttpRequest& like,
                                       const std::string& stage);
  // GETs the blob, giving its bytes to `sink` as they arrive, and checks digest and size.
  Status StreamBlob(const std::string& digest, int64_t size, const std::string& stage,
                    const std::function<Status(std::string_view)>& sink);
  Status Authenticate(const HttpResponse& challenge, const std::string& stage);
  Status FetchToken(const Challenge& challenge, const std::string& stage);
  std::string RefusalAdvice(const HttpResponse& response) const;
  Status Connect(const std::string& stage);
  Status ErrorFrom(const HttpResponse& response, const std::string& stage) const;
  std::string Url(const std::string& path) const;
  bool OwnUrl(const std::string& url) const;

  const HttpTransportFactory& transports_;
  ImageSource source_;
  std::string what_;
  std::string scheme_;  // "https" or "http", once connected
  std::unique_ptr<HttpTransport> transport_;
  std::string actions_ = "pull";  // asked of token services
  std::string authorization_;     // header value once a challenge was answered
  std::string ca_file_;           // source.ca_certs written out, removed with the client
};

}  // namespace baton::workers::resources
