// load_var and set_pipeline steps.
#include "baton/common/strings.h"
#include "engine/engine_nodes.h"
#include "engine/interpolation.h"

namespace baton::runner::engine {
namespace {

std::string FormatOf(const pipelines::LoadVarStep& step) {
  if (!step.format.empty()) return step.format;
  if (EndsWith(step.file, ".json")) return "json";
  if (EndsWith(step.file, ".yml") || EndsWith(step.file, ".yaml")) return "yaml";
  return "trim";
}

baton::Result<Json> ParseValue(const std::string& format, const std::string& text) {
  if (format == "raw") return Json(text);
  if (format == "trim") return Json(std::string(Trim(text)));
  if (format == "json") {
    Json value = Json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) return InvalidArgument("not valid JSON");
    return value;
  }
  if (format == "yaml") {
    pipelines::Vars parsed;  // the pipelines module owns YAML parsing
    Status status = parsed.AddYamlFlag("value=" + text);
    if (!status.ok()) return InvalidArgument(status.message());
    auto it = parsed.values().find("value");
    return it == parsed.values().end() ? Json() : it->second;
  }
  return InvalidArgument("unknown format '" + format + "' (expected json, yaml, trim or raw)");
}

class LoadVarNode : public LeafNode {
 public:
  LoadVarNode(State& s, Node* p, Context c, const pipelines::Step& step)
      : LeafNode(s, p, std::move(c), step), load_(std::get<pipelines::LoadVarStep>(step.body)) {}

 protected:
  void Begin() override {
    RuntimeVars vars(*ctx_.locals, *ctx_.secret_locals, state_.var_sources());
    InterpolateStep(load_, vars);
    if (!Settle(vars)) return;
    auto file = ResolveFile(load_.file, "load_var file");
    if (!file.ok()) return FinishStep(Outcome::Errored(file.status().message()));
    Issue(LoadFile{0, {}, file->first.volume, file->second});
  }

  void OnActionDone(ActionId, const ActionResult& result) override {
    if (result.kind != ActionResult::Kind::kSucceeded) return FinishStep(ToOutcome(result));
    std::string format = FormatOf(load_);
    auto value = ParseValue(format, result.content);
    if (!value.ok()) {
      return FinishStep(Outcome::Errored("load_var: could not parse '" + load_.file + "' as " +
                                         format + ": " + value.status().message()));
    }
    // Like Concourse, the value is redacted once a step uses it, unless `reveal: true`.
    if (load_.reveal) {
      ctx_.secret_locals->erase(load_.name);
    } else {
      ctx_.secret_locals->insert(load_.name);
    }
    ctx_.locals->SetExact(load_.name, std::move(*value));
    FinishStep(Outcome::Succeeded());
  }

 private:
  pipelines::LoadVarStep load_;
};

class SetPipelineNode : public LeafNode {
 public:
  SetPipelineNode(State& s, Node* p, Context c, const pipelines::Step& step)
      : LeafNode(s, p, std::move(c), step),
        config_(std::get<pipelines::SetPipelineStep>(step.body)) {}

 protected:
  void Begin() override {
    RuntimeVars vars(*ctx_.locals, *ctx_.secret_locals, state_.var_sources());
    InterpolateStep(config_, vars);
    if (!Settle(vars)) return;
    auto file = ResolveFile(config_.file, "set_pipeline file");
    if (!file.ok()) return FinishStep(Outcome::Errored(file.status().message()));
    Issue(SetPipeline{0, {}, config_, file->first.volume, file->second});
  }

  void OnActionDone(ActionId, const ActionResult& result) override {
    FinishStep(ToOutcome(result));
  }

 private:
  pipelines::SetPipelineStep config_;
};

}  // namespace

std::unique_ptr<Node> MakeLoadVarNode(State& s, Node* p, Context c, const pipelines::Step& step) {
  return std::make_unique<LoadVarNode>(s, p, std::move(c), step);
}

std::unique_ptr<Node> MakeSetPipelineNode(State& s, Node* p, Context c,
                                          const pipelines::Step& step) {
  return std::make_unique<SetPipelineNode>(s, p, std::move(c), step);
}

}  // namespace baton::runner::engine
