// Factories of the built-in resource types (private to workers/; the public entry point is
// MakeBuiltinResourceType in resource_type.h).
#pragma once

#include <memory>

#include "baton/workers/resource_type.h"

namespace baton::workers::resources {

std::unique_ptr<ResourceType> MakeGitResourceType();
std::unique_ptr<ResourceType> MakeTimeResourceType();
std::unique_ptr<ResourceType> MakeMockResourceType();
std::unique_ptr<ResourceType> MakeArtifactResourceType();

}  // namespace baton::workers::resources
