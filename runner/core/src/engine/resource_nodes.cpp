// get and put steps (put runs its implicit get unless `no_get`).
#include <set>

#include "baton/common/strings.h"
#include "engine/engine_nodes.h"
#include "engine/interpolation.h"

namespace baton::runner::engine {
namespace {

// Fills the resource fields of a RunGet/RunPut; false when the resource is unknown. The step's
// `tags:` choose its workers, else the resource's (as Concourse does).
template <typename A>
bool DescribeResource(const State& state, const pipelines::Step& step, const std::string& name,
                      RuntimeVars& vars, A& action) {
  const pipelines::Resource* resource = state.FindResource(name);
  if (resource == nullptr) return false;
  action.tags = step.tags.empty() ? resource->tags : step.tags;
  action.resource = resource->name;
  action.type = resource->type;
  action.source = vars.Interpolate(resource->source);
  if (const auto* type = state.FindResourceType(resource->type)) action.custom_type = *type;
  return true;
}

class GetNode : public LeafNode {
 public:
  GetNode(State& s, Node* p, Context c, const pipelines::Step& step)
      : LeafNode(s, p, std::move(c), step), get_(std::get<pipelines::GetStep>(step.body)) {}

 protected:
  void Begin() override {
    RuntimeVars vars(*ctx_.locals, *ctx_.secret_locals, state_.var_sources());
    InterpolateStep(get_, vars);
    RunGet get;
    bool known = DescribeResource(state_, step_, get_.resource, vars, get);
    if (!Settle(vars)) return;
    if (!known) return FinishStep(Outcome::Errored("unknown resource: " + get_.resource));
    auto chosen = state_.plan().input_versions.find(get_.name);
    if (chosen != state_.plan().input_versions.end()) {
      get.version = chosen->second;
    } else if (get_.version && get_.version->kind == pipelines::VersionSpec::Kind::kPinned) {
      get.version = get_.version->pinned;
    }
    get.params = get_.params;
    get.volume = state_.NewVolume();
    origin_ = {get.resource, get.type, get.source};
    volume_ = get.volume;
    Issue(std::move(get));
  }

  void OnActionDone(ActionId, const ActionResult& result) override {
    if (result.kind == ActionResult::Kind::kSucceeded) {
      state_.artifacts()[get_.name] = Artifact{volume_, origin_};
    }
    FinishStep(ToOutcome(result));
  }

 private:
  pipelines::GetStep get_;
  Volume volume_;
  ArtifactOrigin origin_;
};

void CollectStrings(const Json& value, std::vector<std::string>& out) {
  if (value.is_string()) {
    out.push_back(value.get<std::string>());
  } else if (value.is_structured()) {
    for (const auto& item : value) CollectStrings(item, out);
  }
}

class PutNode : public LeafNode {
 public:
  PutNode(State& s, Node* p, Context c, const pipelines::Step& step)
      : LeafNode(s, p, std::move(c), step), put_(std::get<pipelines::PutStep>(step.body)) {}

 protected:
  void Begin() override {
    RuntimeVars vars(*ctx_.locals, *ctx_.secret_locals, state_.var_sources());
    InterpolateStep(put_, vars);
    RunPut put;
    bool known = DescribeResource(state_, step_, put_.resource, vars, put);
    if (!Settle(vars)) return;
    if (!known) return FinishStep(Outcome::Errored("unknown resource: " + put_.resource));
    put.params = put_.params;
    std::vector<std::string> missing;
    for (const auto& name : InputNames()) {
      const Artifact* artifact = state_.FindArtifact(name);
      if (artifact != nullptr) {
        put.inputs.emplace_back(name, artifact->volume);
      } else {
        missing.push_back(name);
      }
    }
    if (!missing.empty())
      return FinishStep(Outcome::Errored("missing inputs: " + Join(missing, ", ")));
    origin_ = {put.resource, put.type, put.source};
    get_template_.resource = put.resource;
    get_template_.type = put.type;
    get_template_.source = put.source;
    get_template_.custom_type = put.custom_type;
    get_template_.tags = put.tags;
    put_action_ = Issue(std::move(put));
  }

  void OnActionDone(ActionId id, const ActionResult& result) override {
    if (id != put_action_ || result.kind != ActionResult::Kind::kSucceeded || put_.no_get) {
      if (id != put_action_ && result.kind == ActionResult::Kind::kSucceeded) {
        state_.artifacts()[put_.name] = Artifact{get_template_.volume, origin_};
      }
      return FinishStep(ToOutcome(result));
    }
    RunGet get = get_template_;
    get.version = result.version;
    get.params = put_.get_params;
    get.volume = state_.NewVolume();
    get_template_.volume = get.volume;
    Issue(std::move(get));
  }

 private:
  // The artifacts `out` sees: listed, all, or detected from the params.
  std::vector<std::string> InputNames() const {
    using Kind = pipelines::PutInputs::Kind;
    if (put_.inputs.kind == Kind::kList) return put_.inputs.names;
    std::vector<std::string> names;
    if (put_.inputs.kind == Kind::kAll) {
      for (const auto& [name, artifact] : state_.artifacts()) names.push_back(name);
      return names;
    }
    std::vector<std::string> strings;
    CollectStrings(put_.params, strings);
    std::set<std::string> seen;
    for (const auto& s : strings) {
      std::string head = s.substr(0, s.find('/'));
      if (state_.FindArtifact(head) != nullptr && seen.insert(head).second) names.push_back(head);
    }
    return names;
  }

  pipelines::PutStep put_;
  ActionId put_action_ = 0;
  RunGet get_template_;
  ArtifactOrigin origin_;
};

}  // namespace

std::unique_ptr<Node> MakeGetNode(State& s, Node* p, Context c, const pipelines::Step& step) {
  return std::make_unique<GetNode>(s, p, std::move(c), step);
}

std::unique_ptr<Node> MakePutNode(State& s, Node* p, Context c, const pipelines::Step& step) {
  return std::make_unique<PutNode>(s, p, std::move(c), step);
}

}  // namespace baton::runner::engine
