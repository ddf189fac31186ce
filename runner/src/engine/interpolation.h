// Private to the build engine: `((.:name))` interpolation of step fields at step start.
// Only local vars (source ".") are substituted; other ((vars)) are left as written.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "baton/pipelines/pipeline_config.h"
#include "baton/pipelines/vars.h"

namespace baton::runner::engine {

using Json = nlohmann::json;

// Unresolved local references (as written, e.g. ".:name") are appended to `unresolved`.
Json InterpolateLocal(const Json& value, const pipelines::Vars& locals,
                      std::vector<std::string>* unresolved);
std::string InterpolateLocalString(std::string_view text, const pipelines::Vars& locals,
                                   std::vector<std::string>* unresolved);

void InterpolateStep(pipelines::TaskStep& step, const pipelines::Vars& locals,
                     std::vector<std::string>* unresolved);
void InterpolateConfig(pipelines::TaskConfig& config, const pipelines::Vars& locals,
                       std::vector<std::string>* unresolved);
void InterpolateStep(pipelines::GetStep& step, const pipelines::Vars& locals,
                     std::vector<std::string>* unresolved);
void InterpolateStep(pipelines::PutStep& step, const pipelines::Vars& locals,
                     std::vector<std::string>* unresolved);
void InterpolateStep(pipelines::LoadVarStep& step, const pipelines::Vars& locals,
                     std::vector<std::string>* unresolved);
void InterpolateStep(pipelines::SetPipelineStep& step, const pipelines::Vars& locals,
                     std::vector<std::string>* unresolved);

// "undefined vars: .:a, .:b" or "" when none.
std::string UndefinedVarsMessage(const std::vector<std::string>& unresolved);

}  // namespace baton::runner::engine
