// The `{{var}}` interpolation that Concourse removed (in favour of `((var))`). YAML reads
// `uri: {{git-uri}}` as a map whose one key is the map {git-uri: null}, so a file still using it
// parses, validates where the field is free-form (a resource's `source`, a task's `params`) and
// fails only when a step runs. Pure; thread-compatible.
#pragma once

#include "baton/pipelines/diagnostics.h"
#include "yaml_document.h"

namespace baton::pipelines {

// Reports every `{{name}}` in the tree under `root` (as parsed, before ((var)) interpolation):
// an error where YAML made it a nested map, a warning where a string holds it (old Concourse
// interpolated those too; `{{.Field}}` and `{{ x }}`, as Go templates in scripts write, are
// left alone). Each at the position of its first brace, with the ((name)) to write instead.
void ReportDoubleBraceVars(const YamlNode& root, Diagnostics& diags);

}  // namespace baton::pipelines
