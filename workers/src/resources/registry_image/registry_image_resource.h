// The built-in `registry-image` resource type: images in OCI / Docker v2 registries, spoken to
// directly (no docker, podman or skopeo). See docs/resource-types-registry-image.md.
#pragma once

#include <memory>

#include "baton/workers/resource_type.h"

namespace baton::workers::resources {

std::unique_ptr<ResourceType> MakeRegistryImageResourceType();

}  // namespace baton::workers::resources
