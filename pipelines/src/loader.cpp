// LoadPipeline / LoadTaskConfig: parse -> interpolate -> build -> validate.
#include "baton/pipelines/loader.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_set>

#include "baton/pipelines/validate.h"
#include "build_context.h"
#include "builders.h"
#include "double_brace_vars.h"
#include "interpolate.h"
#include "yaml_document.h"

namespace baton::pipelines {

namespace {

// Names of the var sources a pipeline declares (their vars are fetched at run time).
std::unordered_set<std::string> DeclaredVarSources(const YamlNode& root) {
  std::unordered_set<std::string> names;
  const YamlNode* list = root.Find("var_sources");
  if (!list || !list->IsSequence()) return names;
  for (const auto& item : list->items) {
    const YamlNode* name = item->Find("name");
    if (name && name->IsScalar()) names.insert(name->value);
  }
  return names;
}

// Interpolates the tree, records unresolved vars once per use, and with `check_vars` reports
// each as an error.
YamlNodePtr Interpolate(const YamlNodePtr& root, const LoadOptions& options, Diagnostics& diags,
                        std::vector<UnresolvedVar>& unresolved) {
  InterpolationResult interpolated = InterpolateNode(root, options.vars, options.limits);
  if (interpolated.over_limit) {
    diags.Error(*interpolated.over_limit,
                "the ((var)) values substituted into this file add more than " +
                    std::to_string(options.limits.max_expanded_nodes) + " nodes or " +
                    std::to_string(options.limits.max_expanded_scalar_bytes) +
                    " bytes of text (the most Baton loads); substitution stopped here",
                "use large vars in fewer places, or keep large data in a resource");
  }
  YamlNodePtr result = interpolated.node;
  std::set<std::tuple<int, int, std::string>> seen;
  for (auto& var : interpolated.unresolved) {
    if (seen.emplace(var.mark.line, var.mark.column, var.name).second) {
      unresolved.push_back(std::move(var));
    }
  }
  if (!options.check_vars) return result;
  std::unordered_set<std::string> sources = DeclaredVarSources(*result);
  for (const auto& var : unresolved) {
    auto ref = ParseVarRef(var.name);
    if (ref.ok() && !ref->source.empty() && sources.count(ref->source)) continue;
    diags.Error(var.mark, "undefined var `" + var.name + "`",
                "pass it with `-v " + (ref.ok() ? ref->name : var.name) +
                    "=VALUE`, `-y NAME=YAML` or `-l vars.yml`");
  }
  return result;
}

}  // namespace

PipelineLoad LoadPipeline(std::string_view yaml_text, const LoadOptions& options) {
  PipelineLoad load{std::nullopt, Diagnostics(options.file_name), {}};
  YamlNodePtr root = ParseYaml(yaml_text, load.diagnostics, options.limits);
  if (!root) return load;
  ReportDoubleBraceVars(*root, load.diagnostics);
  root = Interpolate(root, options, load.diagnostics, load.unresolved_vars);
  BuildContext ctx{load.diagnostics, options};
  load.config = BuildPipeline(*root, ctx);
  ValidatePipeline(*load.config, load.diagnostics);
  load.diagnostics.SortByPosition();
  return load;
}

TaskLoad LoadTaskConfig(std::string_view yaml_text, const LoadOptions& options) {
  TaskLoad load{std::nullopt, Diagnostics(options.file_name), {}};
  YamlNodePtr root = ParseYaml(yaml_text, load.diagnostics, options.limits);
  if (!root) return load;
  ReportDoubleBraceVars(*root, load.diagnostics);
  root = Interpolate(root, options, load.diagnostics, load.unresolved_vars);
  if (!root->IsMap()) {
    load.diagnostics.Error(root->mark,
                           std::string("a task config must be a map, got ") + root->KindName(),
                           "start with `platform: linux` and `run: {path: ...}`");
    return load;
  }
  BuildContext ctx{load.diagnostics, options};
  load.config = BuildTaskConfig(*root, ctx);
  load.diagnostics.SortByPosition();
  return load;
}

Result<std::string> ReadTextFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return IoError("cannot read " + path + ": " + std::strerror(errno));
  return out.str();
}

}  // namespace baton::pipelines
