// Paths and artifact names the author writes in task steps and task configs: each must stay
// inside the task's directory or its artifact (issue 9), so they are checked here, once, with
// the file:line:col of the offending value. The worker still resolves every path inside its
// root (openat2), for values that only become known at run time through ((vars)).
#include "baton/common/path_beneath.h"
#include "builders.h"
#include "interpolate.h"

namespace baton::pipelines {
namespace {

// A value still holding a ((var)) is checked after interpolation, at run time.
bool Checkable(const YamlNode* node) {
  return node && node->IsScalar() && node->value.find("((") == std::string::npos;
}

}  // namespace

void CheckRelativePath(const YamlNode* node, const std::string& field, BuildContext& ctx) {
  if (!Checkable(node)) return;
  std::string problem = RelativePathProblem(node->value);
  if (problem.empty()) return;
  ctx.diags.Error(node->mark, "`" + field + "` `" + node->value + "` is not allowed: " + problem,
                  "write a path relative to the task's working directory that stays inside "
                  "it, e.g. `out/bin`");
}

void CheckArtifactName(const YamlNode* node, const std::string& field, BuildContext& ctx) {
  if (!Checkable(node)) return;
  std::string problem = ArtifactNameProblem(node->value);
  if (problem.empty()) return;
  ctx.diags.Error(node->mark,
                  "`" + field + "` `" + node->value + "` is not a valid artifact name: " + problem,
                  "use a plain name such as `repo` or `built-binary`");
}

void CheckArtifactMapping(const YamlNode* map, const std::string& field, BuildContext& ctx) {
  if (!map || !map->IsMap()) return;
  for (const auto& [key, value] : map->entries) {
    CheckArtifactName(key.get(), field + " key", ctx);
    CheckArtifactName(value.get(), field + "." + key->value, ctx);
  }
}

void CheckArtifactFile(const YamlNode* node, const std::string& field, BuildContext& ctx) {
  if (!Checkable(node) || node->value.empty()) return;
  std::string problem = RelativePathProblem(node->value);
  if (problem.empty()) return;
  ctx.diags.Error(node->mark, "`" + field + "` `" + node->value + "` is not allowed: " + problem,
                  "write <artifact>/<path inside it>, e.g. `repo/ci/task.yml`");
}

}  // namespace baton::pipelines
