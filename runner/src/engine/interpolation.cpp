#include "engine/interpolation.h"

#include "baton/common/strings.h"

namespace baton::runner::engine {
namespace {

const pipelines::Vars& NoGlobals() {
  static const pipelines::Vars kEmpty;
  return kEmpty;
}

void KeepLocal(const std::vector<std::string>& found, std::vector<std::string>* unresolved) {
  if (unresolved == nullptr) return;
  for (const auto& ref : found) {
    if (ref.rfind(".:", 0) == 0) unresolved->push_back(ref);
  }
}

void InPlace(std::string& s, const pipelines::Vars& locals, std::vector<std::string>* u) {
  if (s.find("((") != std::string::npos) s = InterpolateLocalString(s, locals, u);
}

void InPlace(Json& j, const pipelines::Vars& locals, std::vector<std::string>* u) {
  j = InterpolateLocal(j, locals, u);
}

}  // namespace

Json InterpolateLocal(const Json& value, const pipelines::Vars& locals,
                      std::vector<std::string>* unresolved) {
  std::vector<std::string> found;
  Json out = pipelines::InterpolateJson(value, NoGlobals(), &found, &locals);
  KeepLocal(found, unresolved);
  return out;
}

std::string InterpolateLocalString(std::string_view text, const pipelines::Vars& locals,
                                   std::vector<std::string>* unresolved) {
  std::vector<std::string> found;
  std::string out = pipelines::InterpolateString(text, NoGlobals(), &found, &locals);
  KeepLocal(found, unresolved);
  return out;
}

void InterpolateStep(pipelines::TaskStep& step, const pipelines::Vars& locals,
                     std::vector<std::string>* u) {
  InPlace(step.file, locals, u);
  InPlace(step.params, locals, u);
  InPlace(step.vars, locals, u);
  InPlace(step.image, locals, u);
  for (auto& [name, artifact] : step.input_mapping) InPlace(artifact, locals, u);
  for (auto& [name, artifact] : step.output_mapping) InPlace(artifact, locals, u);
}

void InterpolateConfig(pipelines::TaskConfig& config, const pipelines::Vars& locals,
                       std::vector<std::string>* u) {
  InPlace(config.run.path, locals, u);
  for (auto& arg : config.run.args) InPlace(arg, locals, u);
  InPlace(config.run.dir, locals, u);
  InPlace(config.run.user, locals, u);
  for (auto& [name, value] : config.params) InPlace(value, locals, u);
  if (config.image_resource) {
    InPlace(config.image_resource->source, locals, u);
    InPlace(config.image_resource->params, locals, u);
  }
  for (auto& input : config.inputs) InPlace(input.path, locals, u);
  for (auto& output : config.outputs) InPlace(output.path, locals, u);
}

void InterpolateStep(pipelines::GetStep& step, const pipelines::Vars& locals,
                     std::vector<std::string>* u) {
  InPlace(step.params, locals, u);
  if (step.version) InPlace(step.version->pinned, locals, u);
}

void InterpolateStep(pipelines::PutStep& step, const pipelines::Vars& locals,
                     std::vector<std::string>* u) {
  InPlace(step.params, locals, u);
  InPlace(step.get_params, locals, u);
}

void InterpolateStep(pipelines::LoadVarStep& step, const pipelines::Vars& locals,
                     std::vector<std::string>* u) {
  InPlace(step.file, locals, u);
}

void InterpolateStep(pipelines::SetPipelineStep& step, const pipelines::Vars& locals,
                     std::vector<std::string>* u) {
  InPlace(step.file, locals, u);
  InPlace(step.vars, locals, u);
  InPlace(step.instance_vars, locals, u);
  for (auto& f : step.var_files) InPlace(f, locals, u);
}

std::string UndefinedVarsMessage(const std::vector<std::string>& unresolved) {
  if (unresolved.empty()) return "";
  std::string out = "undefined vars: ";
  for (size_t i = 0; i < unresolved.size(); ++i) {
    if (i > 0) out += ", ";
    out += unresolved[i];
  }
  return out;
}

}  // namespace baton::runner::engine
