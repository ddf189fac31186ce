// RegistryClient's side of a push (OCI Distribution API v2): HEAD a blob, upload one (POST for
// an upload session, then a monolithic PUT with ?digest=, the file streamed from disk), PUT a
// manifest, list the repository's tags (for the aliases a versioned push moves).
#include "baton/common/json.h"
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

namespace {

// The target of a `Link: <url>; rel="next"` header (the distribution spec's pagination), if any.
std::string NextPage(const HttpResponse& response) {
  std::string link = response.Header("Link").value_or("");
  size_t open = link.find('<');
  size_t close = link.find('>', open == std::string::npos ? 0 : open);
  if (open == std::string::npos || close == std::string::npos) return "";
  if (link.find("rel=\"next\"", close) == std::string::npos) return "";
  return link.substr(open + 1, close - open - 1);
}

}  // namespace

Result<std::vector<std::string>> RegistryClient::ListTags(int page_size) {
  const std::string stage = "listing the tags of";
  std::vector<std::string> tags;
  std::string url = "/v2/" + source_.where.name + "/tags/list?n=" + std::to_string(page_size);
  for (int page = 0; !url.empty(); ++page) {
    if (page == 10000) {
      return Unavailable(what_ + ": " + stage + " " + ImageName() +
                         ": the registry's tag list goes on past 10,000 pages");
    }
    BATON_ASSIGN_OR_RETURN(HttpResponse response, Send(HttpRequest{"GET", url, {}, ""}, stage));
    // A repository nothing was pushed to yet has no tags.
    if (response.status == 404 && tags.empty() && HasRegistryError(response, "NAME_UNKNOWN"))
      return tags;
    if (response.status != 200) return ErrorFrom(response, stage);
    Json body = Json::parse(response.body, nullptr, false);
    if (!body.is_object() ||
        (body.contains("tags") && !body["tags"].is_null() && !body["tags"].is_array())) {
      return Unavailable(what_ + ": " + stage + " " + ImageName() +
                         ": the registry's answer is not a tag list ({\"name\", \"tags\": [...]})");
    }
    for (const Json& tag : body.value("tags", Json::array())) {
      if (tag.is_string()) tags.push_back(tag.get<std::string>());
    }
    std::string next = NextPage(response);
    if (!next.empty() && !StartsWith(next, "/") && !OwnUrl(next)) {
      return Unavailable(what_ + ": " + stage + " " + ImageName() +
                         ": the registry's next page of tags is on another host (" + next + ")");
    }
    url = next;
  }
  return tags;
}

}  // namespace baton::workers::resources
