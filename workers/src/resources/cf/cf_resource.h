// The built-in `cf` resource type: pushes an application to Cloud Foundry over the CC v3 API
// (no `cf` CLI). See docs/resource-types-cf.md for source and params.
#pragma once

#include <memory>

#include "baton/workers/resource_type.h"

namespace baton::workers::resources {

std::unique_ptr<ResourceType> MakeCfResourceType();

}  // namespace baton::workers::resources
