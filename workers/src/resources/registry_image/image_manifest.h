// An image as a registry describes it: the manifest (chosen from an image index for the
// platform asked), its config blob and its layers, read from the registry's JSON. Pure parsing
// apart from ResolveImage, which fetches through a RegistryClient. Thread-safety: as the client.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "resources/registry_image/image_source.h"
#include "resources/registry_image/layer_unpack.h"
#include "resources/registry_image/registry_client.h"

namespace baton::workers::resources {

struct BlobDescriptor {
  std::string media_type;
  std::string digest;  // checked: "sha256:<hex>"
  int64_t size = -1;
};

struct ResolvedImage {
  std::string digest;           // of the manifest or index the version names (the version)
  std::string manifest_digest;  // of the platform's manifest (== digest without an index)
  std::string manifest;         // its bytes
  std::string manifest_media_type;
  BlobDescriptor config;
  std::vector<BlobDescriptor> layers;  // bottom first
};

// Whether a manifest is an image index (OCI index or Docker manifest list).
bool IsImageIndex(const std::string& media_type, const Json& body);

// A descriptor {mediaType, digest, size}; `where` names it in errors.
Result<BlobDescriptor> ParseDescriptor(const Json& j, const std::string& where);

// The image `reference` (tag or digest) names, for `source`'s platform when it is an index.
Result<ResolvedImage> ResolveImage(RegistryClient& client, const ImageSource& source,
                                   const std::string& reference, const std::string& what);

// config.Env and config.User of an image config blob, and when the image was made.
struct ImageRunConfig {
  std::vector<std::string> env;
  std::string user;
  std::string created;  // RFC 3339; "" when the config does not say
};
Result<ImageRunConfig> ParseImageConfig(const std::string& blob, const std::string& what);

// Layer compression by media type; error for foreign or unknown layer types.
Result<LayerCompression> LayerCompressionOf(const BlobDescriptor& layer, const std::string& what);

}  // namespace baton::workers::resources
