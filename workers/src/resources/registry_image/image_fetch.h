// Fetching a resolved image's blobs: unpacked into a root filesystem (with the config's env and
// user), or written as an OCI image layout tarball. Every blob is checked against its digest
// before use. Thread-safety: as the RegistryClient (one per thread).
#pragma once

#include <string>

#include "baton/common/status.h"
#include "baton/workers/resource_type.h"
#include "resources/registry_image/image_manifest.h"
#include "resources/registry_image/registry_client.h"

namespace baton::workers::resources {

// Unpacks `image`'s layers in order into `rootfs_dir` (made if missing) and returns the config's
// env and user. Logs one line per layer to `ctx` and stops when it is cancelled.
Result<ImageRunConfig> UnpackImage(RegistryClient& client, const ResolvedImage& image,
                                   const std::string& rootfs_dir, const ResourceContext& ctx,
                                   const std::string& what);

// {"env": [...], "user": "..."}, as registry-image writes metadata.json beside rootfs/.
std::string RunConfigJson(const ImageRunConfig& config);

// Writes `image` as an OCI image layout in a tar file (oci-layout, index.json naming `tag`,
// blobs/sha256/...) at `path`.
Status WriteOciTarball(RegistryClient& client, const ResolvedImage& image, const std::string& tag,
                       const std::string& path, const ResourceContext& ctx,
                       const std::string& what);

}  // namespace baton::workers::resources
