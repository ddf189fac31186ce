// `put` of the git resource type: rebase (optional), tag (optional) and push a working checkout.
#pragma once

#include <string>

#include "baton/workers/resource_type.h"
#include "resources/git_source.h"

namespace baton::workers::resources {

struct GitPutOutcome {
  std::string sha;       // the commit pushed
  std::string repo_dir;  // the checkout that was pushed
  std::string branch;
};

// params: repository (required, artifact dir name), rebase, tag (file), tag_prefix,
// annotate (file), force.
Result<GitPutOutcome> PutGit(const ResourceContext& ctx, const GitSource& source,
                             const Json& params, const std::string& dir);

}  // namespace baton::workers::resources
