// The built-in `registry-image` resource type: images in OCI / Docker v2 registries, spoken to
// directly (no docker, podman or skopeo). See docs/resource-types-registry-image.md.
#pragma once

#include <memory>

#include "baton/workers/resource_type.h"

namespace baton::workers::resources {

std::unique_ptr<ResourceType> MakeRegistryImageResourceType();

// The directory of the image `source` (registry-image's) at `digest` in the worker's image cache
// (ctx.image_cache_dir, which must be set): rootfs/ and metadata.json, pulled and unpacked there
// first when absent (a pull in progress is shared). Says on ctx.output which it was.
Result<std::string> CachedRegistryImage(const ResourceContext& ctx, const Json& source,
                                        const std::string& digest);

}  // namespace baton::workers::resources
