// YAML tree -> typed model. Each builder reports problems it can see locally (unknown fields,
// wrong types, bad durations, conflicting step keys) to the context's diagnostics and builds as
// much of the model as it can. Cross-references are checked later by ValidatePipeline.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "baton/pipelines/pipeline_config.h"
#include "baton/pipelines/task_config.h"
#include "build_context.h"
#include "yaml_document.h"

namespace baton::pipelines {

// REQUIRES: node.IsMap()
TaskConfig BuildTaskConfig(const YamlNode& node, BuildContext& ctx);

// "1GB" -> 1073741824 (1024-based units K, KB, M, MB, G, GB, T, TB; case-insensitive).
std::optional<int64_t> ParseMemorySize(std::string_view text);

// Builds one step. `path` is its logical location ("jobs.build.plan[2]").
Step BuildStep(const YamlNode& node, const std::string& path, BuildContext& ctx);

// Builds the whole pipeline from the (interpolated) document root.
PipelineConfig BuildPipeline(const YamlNode& root, BuildContext& ctx);

// Errors (at the value's mark) unless the scalar is a relative path that stays inside its
// directory (no absolute path, no `..`). Values with a ((var)) are left to run time.
void CheckRelativePath(const YamlNode* node, const std::string& field, BuildContext& ctx);
// Errors unless the scalar names one artifact (no '/', not `.`/`..`, no control characters).
void CheckArtifactName(const YamlNode* node, const std::string& field, BuildContext& ctx);
// CheckArtifactName on every key and value of an input_mapping/output_mapping map.
void CheckArtifactMapping(const YamlNode* map, const std::string& field, BuildContext& ctx);
// Errors unless a `file:` value is <artifact>/<relative path> staying inside the artifact.
void CheckArtifactFile(const YamlNode* node, const std::string& field, BuildContext& ctx);

}  // namespace baton::pipelines
