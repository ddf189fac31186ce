// Private to the build engine: run-time interpolation of step fields at step start.
//
// RuntimeVars resolves local build vars ((.:name)) and the pipeline's var sources
// ((source:name.field)); other ((vars)) are left as written (they were resolved, or reported,
// when the pipeline was loaded). Like Concourse's credVarsTracker it remembers the values it
// must redact from then on: the strings of var-source vars, and of local vars that load_var set
// without `reveal: true` (a string, or the string leaves of a map; lists and numbers are not
// tracked, and across values are public).
#pragma once

#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/json.h"
#include "baton/pipelines/pipeline_config.h"
#include "baton/pipelines/vars.h"

namespace baton::runner::engine {

class RuntimeVars {
 public:
  // REQUIRES: the arguments outlive this object.
  RuntimeVars(const pipelines::Vars& locals, const std::set<std::string>& secret_locals,
              const pipelines::VarSources& sources);
  RuntimeVars(const RuntimeVars&) = delete;
  RuntimeVars& operator=(const RuntimeVars&) = delete;

  Json Interpolate(const Json& value);
  std::string InterpolateText(std::string_view text);
  void InPlace(std::string& s);
  void InPlace(Json& j);

  // "" when every local and var-source reference resolved; else why the step errors
  // ("undefined vars: .:a, vs:b", or a var source Baton cannot read).
  std::string Problem() const;
  // Values to redact from now on, in the order met.
  const std::vector<std::string>& secrets() const { return secrets_; }

 private:
  std::optional<Json> Resolve(const pipelines::VarRef& ref);

  const pipelines::Vars& locals_;
  const std::set<std::string>& secret_locals_;
  const pipelines::VarSources& sources_;
  std::vector<std::string> unresolved_;
  std::string error_;
  std::vector<std::string> secrets_;
};

void InterpolateStep(pipelines::TaskStep& step, RuntimeVars& vars);
void InterpolateConfig(pipelines::TaskConfig& config, RuntimeVars& vars);
void InterpolateStep(pipelines::GetStep& step, RuntimeVars& vars);
void InterpolateStep(pipelines::PutStep& step, RuntimeVars& vars);
void InterpolateStep(pipelines::LoadVarStep& step, RuntimeVars& vars);
void InterpolateStep(pipelines::SetPipelineStep& step, RuntimeVars& vars);

// "undefined vars: .:a, .:b" or "" when none.
std::string UndefinedVarsMessage(const std::vector<std::string>& unresolved);

}  // namespace baton::runner::engine
