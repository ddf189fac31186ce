#include "engine/engine_state.h"

#include "engine/engine_nodes.h"

namespace baton::runner::engine {

Outcome CancelledOutcome(CancelReason reason) {
  switch (reason) {
    case CancelReason::kAbort:
      return {OutcomeKind::kAborted, ""};
    case CancelReason::kTimeout:
      return Outcome::Errored("timeout exceeded");
    case CancelReason::kFailFast:
      return {OutcomeKind::kInterrupted, "interrupted"};
  }
  return {OutcomeKind::kAborted, ""};
}

BuildStatus ToBuildStatus(OutcomeKind kind) {
  switch (kind) {
    case OutcomeKind::kSucceeded:
      return BuildStatus::kSucceeded;
    case OutcomeKind::kFailed:
      return BuildStatus::kFailed;
    case OutcomeKind::kErrored:
      return BuildStatus::kErrored;
    case OutcomeKind::kAborted:
    case OutcomeKind::kInterrupted:
      return BuildStatus::kAborted;
  }
  return BuildStatus::kErrored;
}

std::optional<CancelReason> Scope::Cancelled() const {
  std::optional<CancelReason> outermost;
  for (const Scope* s = this; s != nullptr; s = s->parent.get()) {
    if (s->reason) outermost = s->reason;
  }
  return outermost;
}

bool Scope::Encloses(const Scope* other) const {
  for (const Scope* s = other; s != nullptr; s = s->parent.get()) {
    if (s == this) return true;
  }
  return false;
}

}  // namespace baton::runner::engine

namespace baton::runner {

using engine::Context;
using engine::Layer;
using engine::Node;

BuildEngine::State::State(BuildPlan plan)
    : plan_(std::move(plan)), var_sources_(plan_.var_sources, plan_.pipeline_file) {
  root_step_.body = pipelines::DoStep{plan_.steps};
  root_step_.on_success = plan_.on_success;
  root_step_.on_failure = plan_.on_failure;
  root_step_.on_error = plan_.on_error;
  root_step_.on_abort = plan_.on_abort;
  root_step_.ensure = plan_.ensure;
  root_step_.path = "plan";
  root_scope_ = std::make_shared<engine::Scope>();
  int id = 0;
  for (const auto& [name, dir] : plan_.initial_artifacts) {
    artifacts_[name] = engine::Artifact{Volume{--id, dir}, {}};
  }
}

BuildEngine::State::~State() = default;

std::vector<BuildAction> BuildEngine::State::TakeActions() {
  std::vector<BuildAction> out;
  out.swap(out_);
  return out;
}

StepInfo BuildEngine::State::NewStepInfo(const pipelines::Step& step, const Context& ctx) {
  StepInfo info;
  info.id = "s" + std::to_string(next_step_++);
  info.name = step.DisplayName();
  info.type = pipelines::ToString(step.kind());
  info.path = step.path;
  info.attempt = ctx.attempt;
  info.across = ctx.across;
  info.hook = ctx.hook;
  return info;
}

std::shared_ptr<engine::Scope> BuildEngine::State::FreshScope() const {
  auto scope = std::make_shared<engine::Scope>();
  if (!root_scope_->reason) scope->parent = root_scope_;
  return scope;
}

TimerId BuildEngine::State::TrackTimer(engine::TimeoutNode* node) {
  TimerId id = next_timer_++;
  timers_[id] = node;
  return id;
}

void BuildEngine::State::CancelScope(const std::shared_ptr<engine::Scope>& scope,
                                     engine::CancelReason reason) {
  if (scope->reason) return;
  scope->reason = reason;
  for (const auto& [id, leaf] : running_) {
    if (scope->Encloses(leaf->scope())) Emit(CancelAction{id});
  }
}

std::unique_ptr<Node> BuildEngine::State::MakeStep(const pipelines::Step& step, Layer from,
                                                   Node* parent, Context ctx) {
  using engine::HookKind;
  auto hook = [&](HookKind kind, const std::shared_ptr<pipelines::Step>& h,
                  Layer next) -> std::unique_ptr<Node> {
    return std::make_unique<engine::HookNode>(*this, parent, std::move(ctx), step, next, kind, *h);
  };
  switch (from) {
    case Layer::kAcross:
      if (!step.across.empty()) {
        return std::make_unique<engine::AcrossNode>(*this, parent, std::move(ctx), step, 0);
      }
      [[fallthrough]];
    case Layer::kEnsure:
      if (step.ensure) return hook(HookKind::kEnsure, step.ensure, Layer::kOnError);
      [[fallthrough]];
    case Layer::kOnError:
      if (step.on_error) return hook(HookKind::kOnError, step.on_error, Layer::kOnAbort);
      [[fallthrough]];
    case Layer::kOnAbort:
      if (step.on_abort) return hook(HookKind::kOnAbort, step.on_abort, Layer::kOnFailure);
      [[fallthrough]];
    case Layer::kOnFailure:
      if (step.on_failure) return hook(HookKind::kOnFailure, step.on_failure, Layer::kOnSuccess);
      [[fallthrough]];
    case Layer::kOnSuccess:
      if (step.on_success) return hook(HookKind::kOnSuccess, step.on_success, Layer::kAttempts);
      [[fallthrough]];
    case Layer::kAttempts:
      if (step.attempts > 1) {
        return std::make_unique<engine::AttemptsNode>(*this, parent, std::move(ctx), step);
      }
      [[fallthrough]];
    case Layer::kTimeout:
      if (step.timeout || !step.timeout_text.empty()) {
        return std::make_unique<engine::TimeoutNode>(*this, parent, std::move(ctx), step);
      }
      [[fallthrough]];
    case Layer::kCore:
      break;
  }
  return MakeCore(step, parent, std::move(ctx));
}

std::unique_ptr<Node> BuildEngine::State::MakeCore(const pipelines::Step& step, Node* parent,
                                                   Context ctx) {
  using pipelines::StepKind;
  switch (step.kind()) {
    case StepKind::kGet:
      return engine::MakeGetNode(*this, parent, std::move(ctx), step);
    case StepKind::kPut:
      return engine::MakePutNode(*this, parent, std::move(ctx), step);
    case StepKind::kTask:
      return engine::MakeTaskNode(*this, parent, std::move(ctx), step);
    case StepKind::kLoadVar:
      return engine::MakeLoadVarNode(*this, parent, std::move(ctx), step);
    case StepKind::kSetPipeline:
      return engine::MakeSetPipelineNode(*this, parent, std::move(ctx), step);
    case StepKind::kInParallel:
      return std::make_unique<engine::InParallelNode>(
          *this, parent, std::move(ctx), std::get<pipelines::InParallelStep>(step.body));
    case StepKind::kDo:
      return std::make_unique<engine::SequenceNode>(*this, parent, std::move(ctx),
                                                    std::get<pipelines::DoStep>(step.body).steps);
    case StepKind::kTry:
      return std::make_unique<engine::TryNode>(*this, parent, std::move(ctx),
                                               std::get<pipelines::TryStep>(step.body));
  }
  return nullptr;
}

const pipelines::Resource* BuildEngine::State::FindResource(const std::string& name) const {
  for (const auto& r : plan_.resources) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

const pipelines::ResourceType* BuildEngine::State::FindResourceType(const std::string& name) const {
  for (const auto& t : plan_.resource_types) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

const engine::Artifact* BuildEngine::State::FindArtifact(const std::string& name) const {
  auto it = artifacts_.find(name);
  return it == artifacts_.end() ? nullptr : &it->second;
}

void BuildEngine::State::Start() {
  if (status_ != BuildStatus::kPending) return;
  status_ = BuildStatus::kStarted;
  InterpolateResourceTypes();
  Context ctx;
  ctx.scope = root_scope_;
  ctx.locals = std::make_shared<pipelines::Vars>();
  ctx.secret_locals = std::make_shared<std::set<std::string>>();
  root_ = MakeStep(root_step_, Layer::kEnsure, nullptr, std::move(ctx));
  root_->Start();
}

void BuildEngine::State::InterpolateResourceTypes() {
  if (var_sources_.empty()) return;
  RedactSecrets secrets;
  for (auto& type : plan_.resource_types) {
    // A var that cannot be read stays as written; the step using the type then errors.
    if (auto source = var_sources_.Interpolate(type.source, &secrets.values); source.ok()) {
      type.source = std::move(*source);
    }
    if (auto defaults = var_sources_.Interpolate(type.defaults, &secrets.values); defaults.ok()) {
      type.defaults = std::move(*defaults);
    }
  }
  if (!secrets.values.empty()) Emit(std::move(secrets));
}

void BuildEngine::State::ActionFinished(ActionId id, const ActionResult& result) {
  auto it = running_.find(id);
  if (it == running_.end()) return;
  engine::LeafNode* leaf = it->second;
  running_.erase(it);
  leaf->ActionDone(id, result);
}

void BuildEngine::State::TimerFired(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  engine::TimeoutNode* node = it->second;
  timers_.erase(it);
  node->OnTimerFired();
}

void BuildEngine::State::Abort() {
  if (IsFinished(status_)) return;
  if (status_ == BuildStatus::kPending) {
    status_ = BuildStatus::kAborted;
    Emit(BuildFinished{status_});
    return;
  }
  CancelScope(root_scope_, engine::CancelReason::kAbort);
}

void BuildEngine::State::RootDone(const engine::Outcome& outcome) {
  status_ = engine::ToBuildStatus(outcome.kind);
  Emit(BuildFinished{status_});
}

}  // namespace baton::runner
