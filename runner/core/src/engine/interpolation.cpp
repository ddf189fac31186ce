#include "engine/interpolation.h"

#include <algorithm>

#include "baton/common/strings.h"

namespace baton::runner::engine {

RuntimeVars::RuntimeVars(const pipelines::Vars& locals, const std::set<std::string>& secret_locals,
                         const pipelines::VarSources& sources)
    : locals_(locals), secret_locals_(secret_locals), sources_(sources) {}

std::optional<Json> RuntimeVars::Resolve(const pipelines::VarRef& ref) {
  std::optional<Json> value;
  bool secret = false;
  if (ref.source == ".") {
    pipelines::VarRef plain = ref;
    plain.source.clear();
    value = locals_.Lookup(plain);
    secret = secret_locals_.count(ref.name) > 0;
  } else if (!ref.source.empty() && sources_.Has(ref.source)) {
    auto found = sources_.Lookup(ref);
    if (!found.ok()) {
      if (error_.empty()) error_ = found.status().message();
      return std::nullopt;
    }
    value = *found;
    secret = true;
  } else {
    return std::nullopt;  // resolved (or reported) at load time; left as written
  }
  if (!value) {
    if (std::find(unresolved_.begin(), unresolved_.end(), ref.text) == unresolved_.end()) {
      unresolved_.push_back(ref.text);
    }
    return std::nullopt;
  }
  if (secret) pipelines::CollectCredentialStrings(*value, secrets_);
  return value;
}

Json RuntimeVars::Interpolate(const Json& value) {
  return pipelines::InterpolateJsonWith(
      value, [this](const pipelines::VarRef& ref) { return Resolve(ref); }, nullptr);
}

std::string RuntimeVars::InterpolateText(std::string_view text) {
  return pipelines::InterpolateStringWith(
      text, [this](const pipelines::VarRef& ref) { return Resolve(ref); }, nullptr);
}

void RuntimeVars::InPlace(std::string& s) {
  if (s.find("((") != std::string::npos) s = InterpolateText(s);
}

void RuntimeVars::InPlace(Json& j) { j = Interpolate(j); }

std::string RuntimeVars::Problem() const {
  if (!error_.empty()) return error_;
  return UndefinedVarsMessage(unresolved_);
}

void InterpolateStep(pipelines::TaskStep& step, RuntimeVars& v) {
  v.InPlace(step.file);
  v.InPlace(step.params);
  v.InPlace(step.vars);
  v.InPlace(step.image);
  for (auto& [name, artifact] : step.input_mapping) v.InPlace(artifact);
  for (auto& [name, artifact] : step.output_mapping) v.InPlace(artifact);
}

void InterpolateConfig(pipelines::TaskConfig& config, RuntimeVars& v) {
  v.InPlace(config.run.path);
  for (auto& arg : config.run.args) v.InPlace(arg);
  v.InPlace(config.run.dir);
  v.InPlace(config.run.user);
  for (auto& [name, value] : config.params) v.InPlace(value);
  if (config.image_resource) {
    v.InPlace(config.image_resource->source);
    v.InPlace(config.image_resource->params);
    v.InPlace(config.image_resource->version);
  }
  for (auto& input : config.inputs) v.InPlace(input.path);
  for (auto& output : config.outputs) v.InPlace(output.path);
}

void InterpolateStep(pipelines::GetStep& step, RuntimeVars& v) {
  v.InPlace(step.params);
  if (step.version) v.InPlace(step.version->pinned);
}

void InterpolateStep(pipelines::PutStep& step, RuntimeVars& v) {
  v.InPlace(step.params);
  v.InPlace(step.get_params);
}

void InterpolateStep(pipelines::LoadVarStep& step, RuntimeVars& v) { v.InPlace(step.file); }

void InterpolateStep(pipelines::SetPipelineStep& step, RuntimeVars& v) {
  v.InPlace(step.file);
  v.InPlace(step.vars);
  v.InPlace(step.instance_vars);
  for (auto& f : step.var_files) v.InPlace(f);
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
