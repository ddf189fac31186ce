// The table of built-in resource types. A new built-in type (e.g. `cf`) adds one row.
#include <functional>
#include <utility>

#include "baton/workers/resource_type.h"
#include "resources/builtin_types.h"
#include "resources/cf/cf_resource.h"
#include "resources/registry_image/registry_image_resource.h"

namespace baton::workers {
namespace {

using Factory = std::unique_ptr<ResourceType> (*)();

const std::vector<std::pair<std::string, Factory>>& BuiltinTable() {
  static const std::vector<std::pair<std::string, Factory>> table = {
      {"artifact", &resources::MakeArtifactResourceType},
      {"cf", &resources::MakeCfResourceType},
      {"docker-image", &resources::MakeRegistryImageResourceType},  // pulls, as registry-image
      {"git", &resources::MakeGitResourceType},
      {"mock", &resources::MakeMockResourceType},
      {"registry-image", &resources::MakeRegistryImageResourceType},
      {"time", &resources::MakeTimeResourceType},
  };
  return table;
}

}  // namespace

std::unique_ptr<ResourceType> MakeBuiltinResourceType(const std::string& name) {
  for (const auto& [type_name, factory] : BuiltinTable()) {
    if (type_name == name) return factory();
  }
  return nullptr;
}

std::vector<std::string> BuiltinResourceTypeNames() {
  std::vector<std::string> names;
  for (const auto& row : BuiltinTable()) names.push_back(row.first);
  return names;
}

}  // namespace baton::workers
