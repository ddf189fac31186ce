// Loading pipeline and task files: YAML text -> typed config + diagnostics.
//
// The loader parses with yaml-cpp (duplicate keys are errors; YAML anchors and `<<` merge keys
// work), interpolates ((vars)) structurally, builds the typed model keeping source marks, and
// validates it with Concourse's rules, collecting *all* errors in one pass. Pure functions over
// their inputs (AddFile-style helpers read files); thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "baton/pipelines/diagnostics.h"
#include "baton/pipelines/pipeline_config.h"
#include "baton/pipelines/task_config.h"
#include "baton/pipelines/vars.h"

namespace baton::pipelines {

struct LoadOptions {
  std::string file_name = "pipeline.yml";  // used in messages
  const Vars* vars = nullptr;              // -v/-y/-l values; null = none
  bool strict = false;      // unknown top-level keys are errors, warnings become errors
  bool check_vars = false;  // every unresolved ((var)) is an error
};

// Where an unresolved var is used.
struct UnresolvedVar {
  std::string name;  // as written inside (( ))
  SourceMark mark;
};

struct PipelineLoad {
  std::optional<PipelineConfig> config;  // present unless the YAML could not be parsed at all
  Diagnostics diagnostics;
  std::vector<UnresolvedVar> unresolved_vars;
  bool ok() const { return config.has_value() && !diagnostics.HasErrors(); }
};

struct TaskLoad {
  std::optional<TaskConfig> config;
  Diagnostics diagnostics;
  std::vector<UnresolvedVar> unresolved_vars;
  bool ok() const { return config.has_value() && !diagnostics.HasErrors(); }
};

// Parses, interpolates, builds and validates a pipeline.
PipelineLoad LoadPipeline(std::string_view yaml_text, const LoadOptions& options);

// Same for a task config file (`file:` of a task step, or `baton execute -c`).
TaskLoad LoadTaskConfig(std::string_view yaml_text, const LoadOptions& options);

// Reads a whole file. Errors name the path and the OS reason.
Result<std::string> ReadTextFile(const std::string& path);

}  // namespace baton::pipelines
