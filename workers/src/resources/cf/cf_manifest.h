// The application manifest a `cf` put sends to apply_manifest: read from the build's files,
// ((vars)) interpolated from params.vars_files then params.vars (later wins, as `cf push
// --vars-file --var` does), params.environment_variables merged into `env`, and the app renamed
// to params.current_app_name when given. Pure functions over files; thread-safe.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/workers/worker.h"

namespace baton::workers::resources {

struct CfManifestInput {
  std::filesystem::path file;  // absolute
  Json vars = Json::object();
  std::vector<std::filesystem::path> vars_files;  // absolute
  Json environment_variables = Json::object();
  std::string current_app_name;
};

struct CfManifest {
  Json document;                // {"applications": [ {...} ]}, `path` removed
  std::string app_name;         // the one application's name
  std::string path;             // its `path`, relative to the manifest's folder ("" if none)
  std::string route;            // its first route ("" if none)
  std::string docker_image;     // docker.image ("" for a buildpack app)
  std::string docker_username;  // docker.username
};

Result<CfManifest> LoadCfManifest(const CfManifestInput& input);

// The manifest as YAML text (what apply_manifest receives as application/x-yaml).
std::string CfManifestYaml(const CfManifest& manifest);

}  // namespace baton::workers::resources
