#include "resources/registry_image/image_manifest.h"

#include "baton/common/strings.h"

namespace baton::workers::resources {
namespace {

std::string PlatformOf(const Json& entry) {
  if (!entry.contains("platform") || !entry["platform"].is_object()) return "unknown";
  const Json& p = entry["platform"];
  std::string out = p.value("os", "?") + "/" + p.value("architecture", "?");
  std::string variant = p.value("variant", "");
  return variant.empty() ? out : out + "/" + variant;
}

Result<std::string> PickPlatform(const Json& index, const ImageSource& source,
                                 const std::string& where) {
  std::vector<std::string> offered;
  if (!index.contains("manifests") || !index["manifests"].is_array()) {
    return FailedPrecondition(where + " is an index without a `manifests` list");
  }
  for (const auto& m : index["manifests"]) {
    const Json p = m.value("platform", Json::object());
    bool match =
        p.value("os", "") == source.platform_os &&
        p.value("architecture", "") == source.platform_architecture &&
        (source.platform_variant.empty() || p.value("variant", "") == source.platform_variant);
    if (match) {
      BATON_ASSIGN_OR_RETURN(BlobDescriptor d,
                             ParseDescriptor(m, where + ": its manifest for " + PlatformOf(m)));
      return d.digest;
    }
    offered.push_back(PlatformOf(m));
  }
  std::string asked = source.platform_os + "/" + source.platform_architecture +
                      (source.platform_variant.empty() ? "" : "/" + source.platform_variant);
  return NotFound(where + " has no image for " + asked + " (it has " + Join(offered, ", ") +
                  "): set source.platform to one of those");
}

}  // namespace

bool IsImageIndex(const std::string& media_type, const Json& body) {
  return media_type.find("image.index") != std::string::npos ||
         media_type.find("manifest.list") != std::string::npos ||
         (body.contains("manifests") && !body.contains("layers"));
}

Result<BlobDescriptor> ParseDescriptor(const Json& j, const std::string& where) {
  if (!j.is_object() || !j.contains("digest") || !j["digest"].is_string()) {
    return FailedPrecondition(where + " has no digest");
  }
  BlobDescriptor d;
  d.media_type = j.value("mediaType", "");
  d.digest = j["digest"].get<std::string>();
  if (j.contains("size") && j["size"].is_number_integer()) d.size = j["size"].get<int64_t>();
  if (!IsSha256Digest(d.digest)) {
    return FailedPrecondition(where + " has the digest `" + d.digest +
                              "`, which is not sha256 (the only algorithm Baton accepts)");
  }
  return d;
}

Result<ResolvedImage> ResolveImage(RegistryClient& client, const ImageSource& source,
                                   const std::string& reference, const std::string& what) {
  BATON_ASSIGN_OR_RETURN(FetchedManifest first, client.GetManifest(reference));
  ResolvedImage out;
  out.digest = first.digest;
  Json body = Json::parse(first.body, nullptr, false);
  std::string where = what + ": the manifest " + first.digest + " of " + client.ImageName();
  if (!body.is_object()) return FailedPrecondition(where + " is not JSON");
  if (IsImageIndex(first.media_type, body)) {
    BATON_ASSIGN_OR_RETURN(std::string digest, PickPlatform(body, source, where));
    BATON_ASSIGN_OR_RETURN(first, client.GetManifest(digest));
    body = Json::parse(first.body, nullptr, false);
    where = what + ": the manifest " + first.digest + " of " + client.ImageName();
    if (!body.is_object()) return FailedPrecondition(where + " is not JSON");
  }
  if (body.value("schemaVersion", 0) != 2 || !body.contains("layers") ||
      !body["layers"].is_array()) {
    return FailedPrecondition(where + " is not an OCI or Docker v2 (schema 2) image manifest (" +
                              first.media_type + ")");
  }
  out.manifest_digest = first.digest;
  out.manifest_media_type = first.media_type;
  BATON_ASSIGN_OR_RETURN(out.config,
                         ParseDescriptor(body.value("config", Json()), where + ": config"));
  int n = 0;
  for (const auto& layer : body["layers"]) {
    BATON_ASSIGN_OR_RETURN(BlobDescriptor d,
                           ParseDescriptor(layer, where + ": layer " + std::to_string(++n)));
    out.layers.push_back(d);
  }
  out.manifest = std::move(first.body);
  return out;
}

Result<ImageRunConfig> ParseImageConfig(const std::string& blob, const std::string& what) {
  Json j = Json::parse(blob, nullptr, false);
  if (!j.is_object()) return FailedPrecondition(what + ": the image config is not JSON");
  ImageRunConfig out;
  if (j.contains("created") && j["created"].is_string()) out.created = j["created"];
  const Json config = j.value("config", Json::object());
  if (!config.is_object()) return out;
  if (config.contains("Env") && config["Env"].is_array()) {
    for (const auto& e : config["Env"]) {
      if (e.is_string()) out.env.push_back(e.get<std::string>());
    }
  }
  if (config.contains("User") && config["User"].is_string()) out.user = config["User"];
  return out;
}

Result<LayerCompression> LayerCompressionOf(const BlobDescriptor& layer, const std::string& what) {
  const std::string& t = layer.media_type;
  if (t.find("nondistributable") != std::string::npos || t.find("foreign") != std::string::npos) {
    return FailedPrecondition(what + ": layer " + layer.digest + " is a foreign layer (" + t +
                              "), which Baton does not fetch");
  }
  if (EndsWith(t, "+zstd") || EndsWith(t, ".zstd")) return LayerCompression::kZstd;
  if (EndsWith(t, "+gzip") || EndsWith(t, ".gzip") || t.empty()) return LayerCompression::kGzip;
  if (EndsWith(t, ".tar")) return LayerCompression::kNone;
  return FailedPrecondition(what + ": layer " + layer.digest + " has the media type `" + t +
                            "`, which is not a tar layer Baton can unpack");
}

}  // namespace baton::workers::resources
