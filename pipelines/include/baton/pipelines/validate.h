// Pipeline validation: Concourse's cross-reference rules (atc/configvalidate) over a built
// PipelineConfig, reporting every problem at its source mark. LoadPipeline() calls it; it is
// public so callers that build or edit a config in code can check it too. Pure; thread-safe.
#pragma once

#include <string_view>

#include "baton/pipelines/diagnostics.h"
#include "baton/pipelines/pipeline_config.h"

namespace baton::pipelines {

// Appends errors and warnings for: duplicate names (jobs, resources, resource types, groups,
// var sources), resources not used by any job, get/put of unknown resources, `passed:` naming
// an unknown job or a job that does not use the resource, cycles through `passed:`, repeated
// get names in a job, groups naming unknown jobs or resources, jobs in no group (when groups
// exist), and names that are not valid identifiers (warnings).
void ValidatePipeline(const PipelineConfig& config, Diagnostics& diags);

// Concourse's identifier rule: starts with a lowercase letter; then lowercase letters, digits,
// `-`, `_` and `.`. Non-ASCII letters are accepted.
bool IsValidIdentifier(std::string_view name);

}  // namespace baton::pipelines
