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
// `-`, `_` and `.`. Non-ASCII characters are accepted when IsPrintableText allows them.
bool IsValidIdentifier(std::string_view name);

// Valid UTF-8 without control characters (C0, DEL, C1) or invisible direction/format marks
// (U+200B-U+200F, U+202A-U+202E, U+2060-U+206F, U+FEFF): text that prints as what it is. A
// name that fails this is an error, not a warning: it can rewrite a terminal or hide what it
// says.
bool IsPrintableText(std::string_view text);

}  // namespace baton::pipelines
