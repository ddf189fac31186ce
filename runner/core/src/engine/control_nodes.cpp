// The nodes that shape a build: do, in_parallel, across, try, hooks, attempts, timeout.
#include <algorithm>

#include "baton/common/duration.h"
#include "engine/engine_nodes.h"
#include "engine/interpolation.h"

namespace baton::runner::engine {

void Node::Finish(const Outcome& outcome) {
  if (done_) return;
  done_ = true;
  if (parent_ != nullptr) {
    parent_->OnChildDone(this, outcome);
  } else {
    state_.RootDone(outcome);
  }
}

Node* Node::StartChild(std::unique_ptr<Node> child) {
  Node* raw = child.get();
  children_.push_back(std::move(child));
  raw->Start();
  return raw;
}

// --- do ---

void SequenceNode::Next() {
  if (next_ == steps_.size()) return Finish(Outcome::Succeeded());
  if (auto reason = Cancelled()) return Finish(CancelledOutcome(*reason));
  const pipelines::Step& step = steps_[next_++];
  StartChild(state_.MakeStep(step, Layer::kAcross, this, ctx_));
}

void SequenceNode::OnChildDone(Node*, const Outcome& outcome) {
  if (outcome.kind != OutcomeKind::kSucceeded) return Finish(outcome);
  Next();
}

// --- in_parallel / across ---

void ParallelNode::Run(size_t count, size_t limit, bool fail_fast, Factory factory) {
  count_ = count;
  limit_ = limit == 0 ? count : limit;
  fail_fast_ = fail_fast;
  factory_ = std::move(factory);
  children_scope_ = std::make_shared<Scope>();
  children_scope_->parent = ctx_.scope;
  Launch();
  MaybeFinish();
}

void ParallelNode::Launch() {
  if (launching_) return;
  launching_ = true;
  while (running_ < limit_ && next_ < count_ && !children_scope_->Cancelled()) {
    Context child_ctx = ctx_;
    child_ctx.scope = children_scope_;
    ++running_;
    StartChild(factory_(next_++, std::move(child_ctx)));
  }
  launching_ = false;
}

void ParallelNode::OnChildDone(Node*, const Outcome& outcome) {
  --running_;
  switch (outcome.kind) {
    case OutcomeKind::kSucceeded:
      break;
    case OutcomeKind::kFailed:
    case OutcomeKind::kInterrupted:
      any_failed_ = true;
      break;
    case OutcomeKind::kAborted:
      any_aborted_ = true;
      break;
    case OutcomeKind::kErrored:
      if (!any_errored_) error_message_ = outcome.message;
      any_errored_ = true;
      break;
  }
  bool failure = outcome.kind == OutcomeKind::kFailed || outcome.kind == OutcomeKind::kErrored;
  if (fail_fast_ && failure) state_.CancelScope(children_scope_, CancelReason::kFailFast);
  if (launching_) return;  // the launch loop continues and finishes
  Launch();
  MaybeFinish();
}

void ParallelNode::MaybeFinish() {
  if (launching_ || running_ > 0 || done()) return;
  if (next_ < count_ && !children_scope_->Cancelled()) return;
  if (auto reason = Cancelled()) return Finish(CancelledOutcome(*reason));
  if (any_aborted_) return Finish({OutcomeKind::kAborted, ""});
  if (any_errored_) return Finish(Outcome::Errored(error_message_));
  if (any_failed_) return Finish({OutcomeKind::kFailed, ""});
  Finish(Outcome::Succeeded());
}

void InParallelNode::Start() {
  Run(step_.steps.size(), static_cast<size_t>(std::max(step_.limit, 0)), step_.fail_fast,
      [this](size_t i, Context ctx) {
        return state_.MakeStep(step_.steps[i], Layer::kAcross, this, std::move(ctx));
      });
}

void AcrossNode::Start() {
  const pipelines::AcrossVar& var = step_.across[var_index_];
  RuntimeVars vars(*ctx_.locals, *ctx_.secret_locals, state_.var_sources());
  values_ = vars.Interpolate(var.values);
  if (!vars.secrets().empty()) state_.Emit(RedactSecrets{vars.secrets()});
  if (std::string problem = vars.Problem(); !problem.empty()) {
    return Finish(Outcome::Errored("across: " + problem));
  }
  if (!values_.is_array()) {
    return Finish(Outcome::Errored("across: the values of var '" + var.var + "' must be a list"));
  }
  size_t limit = var.max_in_flight_all ? 0 : static_cast<size_t>(std::max(var.max_in_flight, 0));
  Run(values_.size(), limit, step_.across_fail_fast, [this, &var](size_t i, Context ctx) {
    ctx.locals = std::make_shared<pipelines::Vars>(*ctx.locals);
    ctx.locals->SetExact(var.var, values_[i]);
    // Across values are public (Concourse shows them in the UI): never redacted.
    ctx.secret_locals = std::make_shared<std::set<std::string>>(*ctx.secret_locals);
    ctx.secret_locals->erase(var.var);
    ctx.across[var.var] = values_[i];
    if (var_index_ + 1 < step_.across.size()) {
      return std::unique_ptr<Node>(
          std::make_unique<AcrossNode>(state_, this, std::move(ctx), step_, var_index_ + 1));
    }
    return state_.MakeStep(step_, Layer::kEnsure, this, std::move(ctx));
  });
}

// --- try ---

void TryNode::Start() {
  if (!step_.step) return Finish(Outcome::Succeeded());
  StartChild(state_.MakeStep(*step_.step, Layer::kAcross, this, ctx_));
}

void TryNode::OnChildDone(Node*, const Outcome& outcome) {
  bool cancelled =
      outcome.kind == OutcomeKind::kAborted || outcome.kind == OutcomeKind::kInterrupted;
  if (cancelled || Cancelled()) return Finish(outcome);
  Finish(Outcome::Succeeded());
}

// --- hooks ---

const char* ToString(HookKind kind) {
  switch (kind) {
    case HookKind::kEnsure:
      return "ensure";
    case HookKind::kOnError:
      return "on_error";
    case HookKind::kOnAbort:
      return "on_abort";
    case HookKind::kOnFailure:
      return "on_failure";
    case HookKind::kOnSuccess:
      return "on_success";
  }
  return "hook";
}

void HookNode::Start() { StartChild(state_.MakeStep(step_, inner_layer_, this, ctx_)); }

bool HookNode::ShouldRunHook(const Outcome& inner) const {
  switch (kind_) {
    case HookKind::kEnsure:
      return true;
    case HookKind::kOnError:
      return inner.kind == OutcomeKind::kErrored;
    case HookKind::kOnAbort:
      return inner.kind == OutcomeKind::kAborted || inner.kind == OutcomeKind::kInterrupted;
    case HookKind::kOnFailure:
      return inner.kind == OutcomeKind::kFailed;
    case HookKind::kOnSuccess:
      return inner.kind == OutcomeKind::kSucceeded;
  }
  return false;
}

void HookNode::RunHook() {
  hook_started_ = true;
  Context hook_ctx = ctx_;
  hook_ctx.hook = ToString(kind_);
  // Hooks run even when the step was cancelled (ensure, on_abort, on_error after a timeout).
  if (Cancelled()) hook_ctx.scope = state_.FreshScope();
  StartChild(state_.MakeStep(hook_, Layer::kAcross, this, std::move(hook_ctx)));
}

void HookNode::OnChildDone(Node* child, const Outcome& outcome) {
  if (hook_started_) return Finish(Combine(inner_outcome_, outcome));
  inner_outcome_ = outcome;
  if (!ShouldRunHook(outcome)) return Finish(outcome);
  RunHook();
}

namespace {
bool IsCancel(const Outcome& o) {
  return o.kind == OutcomeKind::kAborted || o.kind == OutcomeKind::kInterrupted;
}
}  // namespace

Outcome HookNode::Combine(const Outcome& inner, const Outcome& hook) const {
  if (IsCancel(inner)) return inner;
  if (hook.kind == OutcomeKind::kAborted) return hook;
  switch (kind_) {
    case HookKind::kOnSuccess:
      return hook;  // the step succeeded; the hook decides
    case HookKind::kOnFailure:
      return hook.kind == OutcomeKind::kErrored ? hook : inner;
    case HookKind::kOnError:
    case HookKind::kOnAbort:
      return inner;
    case HookKind::kEnsure:
      if (inner.kind == OutcomeKind::kErrored) return inner;
      if (hook.kind == OutcomeKind::kErrored) return hook;
      if (inner.kind != OutcomeKind::kSucceeded) return inner;
      if (hook.kind == OutcomeKind::kInterrupted) return {OutcomeKind::kFailed, ""};
      return hook;
  }
  return inner;
}

// --- attempts ---

void AttemptsNode::RunAttempt(int n) {
  attempt_ = n;
  Context ctx = ctx_;
  ctx.attempt = n;
  StartChild(state_.MakeStep(step_, Layer::kTimeout, this, std::move(ctx)));
}

void AttemptsNode::OnChildDone(Node*, const Outcome& outcome) {
  bool retryable = outcome.kind == OutcomeKind::kFailed || outcome.kind == OutcomeKind::kErrored;
  if (retryable && attempt_ < step_.attempts && !Cancelled()) return RunAttempt(attempt_ + 1);
  Finish(outcome);
}

// --- timeout ---

void TimeoutNode::Start() {
  Duration duration{0};
  if (step_.timeout) {
    duration = *step_.timeout;
  } else {
    RuntimeVars vars(*ctx_.locals, *ctx_.secret_locals, state_.var_sources());
    std::string text = vars.InterpolateText(step_.timeout_text);
    if (!vars.secrets().empty()) state_.Emit(RedactSecrets{vars.secrets()});
    auto parsed = ParseDuration(text);
    if (!parsed.ok()) {
      return Finish(
          Outcome::Errored("invalid timeout '" + text + "': " + parsed.status().message()));
    }
    duration = *parsed;
  }
  inner_scope_ = std::make_shared<Scope>();
  inner_scope_->parent = ctx_.scope;
  timer_ = state_.TrackTimer(this);
  state_.Emit(StartTimer{timer_, duration});
  Context ctx = ctx_;
  ctx.scope = inner_scope_;
  StartChild(state_.MakeStep(step_, Layer::kCore, this, std::move(ctx)));
}

void TimeoutNode::OnTimerFired() {
  fired_ = true;
  state_.CancelScope(inner_scope_, CancelReason::kTimeout);
}

void TimeoutNode::OnChildDone(Node*, const Outcome& outcome) {
  if (!fired_) {
    state_.ForgetTimer(timer_);
    state_.Emit(CancelTimer{timer_});
  }
  if (fired_ && !Cancelled()) return Finish(CancelledOutcome(CancelReason::kTimeout));
  Finish(outcome);
}

}  // namespace baton::runner::engine
