// Loading pipeline and task files: YAML text -> typed config + diagnostics.
//
// The loader parses with yaml-cpp (duplicate keys are errors; YAML anchors and `<<` merge keys
// work), interpolates ((vars)) structurally, builds the typed model keeping source marks, and
// validates it with Concourse's rules, collecting *all* errors in one pass. Pure functions over
// their inputs (AddFile-style helpers read files); thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "baton/pipelines/diagnostics.h"
#include "baton/pipelines/pipeline_config.h"
#include "baton/pipelines/task_config.h"
#include "baton/pipelines/vars.h"

namespace baton::pipelines {

// Bounds on what loading one YAML file may cost. A 600-byte file of nested aliases (a "billion
// laughs" bomb) otherwise expands to billions of nodes. Going past one is an error at the
// position where it happened; the load stops there.
struct ParseLimits {
  size_t max_file_bytes = 4 * 1024 * 1024;  // the YAML text itself
  // Nodes (scalars, lists, maps) and scalar bytes once every alias (*name) is expanded: what
  // the loader and the pipeline built from it would hold.
  uint64_t max_expanded_nodes = 1'000'000;
  uint64_t max_expanded_scalar_bytes = 64 * 1024 * 1024;
};

struct LoadOptions {
  std::string file_name = "pipeline.yml";  // used in messages
  const Vars* vars = nullptr;              // -v/-y/-l values; null = none
  bool strict = false;      // unknown top-level keys are errors, warnings become errors
  bool check_vars = false;  // every unresolved ((var)) is an error
  ParseLimits limits;
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
