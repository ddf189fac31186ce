// RegistryClient's side of a push (OCI Distribution API v2): HEAD a blob, upload one (POST for
// an upload session, then a monolithic PUT with ?digest=, the file streamed from disk), PUT a
// manifest.
#include "baton/common/sha256.h"
#include "baton/common/strings.h"
#include "baton/net/http_types.h"
#include "resources/registry_image/registry_client.h"

namespace baton::workers::resources {

Result<bool> RegistryClient::HasBlob(const std::string& digest, const std::string& stage) {
  HttpRequest request{"HEAD", "/v2/" + source_.where.name + "/blobs/" + digest, {}, ""};
  BATON_ASSIGN_OR_RETURN(HttpResponse response, Send(request, stage));
  if (response.status == 200) return true;
  if (response.status == 404) return false;
  return ErrorFrom(response, stage);
}

Status RegistryClient::PushBlob(const std::string& digest, const std::string& file,
                                const std::string& stage) {
  HttpRequest start{"POST", "/v2/" + source_.where.name + "/blobs/uploads/", {}, ""};
  start.headers.emplace_back("Content-Length", "0");
  BATON_ASSIGN_OR_RETURN(HttpResponse session, Send(start, stage));
  if (session.status != 202) return ErrorFrom(session, stage);
  std::string location = session.Header("Location").value_or("");
  if (location.empty()) {
    return Unavailable(what_ + ": " + stage + " " + ImageName() +
                       ": the registry opened an upload without a Location to send it to");
  }
  location += (location.find('?') == std::string::npos ? "?" : "&");
  location += "digest=" + net::PercentEncode(digest);
  HttpRequest put{"PUT", location, {{"Content-Type", "application/octet-stream"}}, ""};
  put.body_file = file;
  BATON_ASSIGN_OR_RETURN(HttpResponse done, Send(put, stage));
  if (done.status != 201) return ErrorFrom(done, stage);
  return Status::Ok();
}

Result<std::string> RegistryClient::PutManifest(const std::string& reference,
                                                const std::string& media_type,
                                                const std::string& body, const std::string& stage) {
  HttpRequest request{"PUT",
                      "/v2/" + source_.where.name + "/manifests/" + reference,
                      {{"Content-Type", media_type}},
                      body};
  BATON_ASSIGN_OR_RETURN(HttpResponse response, Send(request, stage));
  if (response.status != 201) return ErrorFrom(response, stage);
  std::string digest = "sha256:" + Sha256Hex(body);
  std::string claimed = response.Header("Docker-Content-Digest").value_or(digest);
  if (claimed != digest) {
    return FailedPrecondition(what_ + ": " + stage + " " + ImageName() +
                              ": the registry stored the manifest as " + claimed +
                              ", but its sha256 is " + digest);
  }
  return digest;
}

}  // namespace baton::workers::resources
