// JSON Schema (draft 2020-12) of Baton's file formats, for editors and external validators.
//
// The schemas describe the files as authors write them, before ((var)) interpolation: wherever a
// typed value (a boolean, a number, a list, a map) is expected, a string that is exactly one
// `((var))` reference is accepted too, as Concourse allows vars anywhere. Unknown top-level keys
// of a pipeline are allowed (Concourse tolerates them, e.g. to hold YAML anchors); unknown keys
// inside jobs, resources and steps are not. Every field carries a `description` for editor help.
//
// Pure functions; thread-safe.
#pragma once

#include <nlohmann/json.hpp>

namespace baton::pipelines {

// The schema of a pipeline file (`baton set-pipeline -c`, `baton validate-pipeline -c`).
nlohmann::json PipelineSchema();

// The schema of a task config file (a task step's `file:`, `baton execute -c`).
nlohmann::json TaskSchema();

}  // namespace baton::pipelines
