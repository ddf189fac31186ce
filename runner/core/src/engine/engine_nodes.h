// Private to the build engine: the nodes of the step tree (see engine_state.h).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine_state.h"
#include "engine/interpolation.h"

namespace baton::runner::engine {

using State = BuildEngine::State;

// One node of the running step tree. Owns its children for the whole build (they are never
// destroyed early, so a child may safely finish from inside its own call stack).
class Node {
 public:
  Node(State& state, Node* parent, Context ctx)
      : state_(state), parent_(parent), ctx_(std::move(ctx)) {}
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  virtual void Start() = 0;
  virtual void OnChildDone(Node* child, const Outcome& outcome) {}
  bool done() const { return done_; }

 protected:
  // Reports this node's outcome to its parent (or ends the build). At most once.
  void Finish(const Outcome& outcome);
  // Adopts and starts a child. Returns it (it may already be done).
  Node* StartChild(std::unique_ptr<Node> child);
  std::optional<CancelReason> Cancelled() const { return ctx_.scope->Cancelled(); }

  State& state_;
  Node* parent_;
  Context ctx_;

 private:
  bool done_ = false;
  std::vector<std::unique_ptr<Node>> children_;
};

// `do` (and the job plan): one step after another, stopping at the first that does not succeed.
class SequenceNode : public Node {
 public:
  SequenceNode(State& s, Node* p, Context c, const std::vector<pipelines::Step>& steps)
      : Node(s, p, std::move(c)), steps_(steps) {}
  void Start() override { Next(); }
  void OnChildDone(Node* child, const Outcome& outcome) override;

 private:
  void Next();
  const std::vector<pipelines::Step>& steps_;
  size_t next_ = 0;
};

// Runs `count` children, at most `limit` at once (0 = all), optionally failing fast. Used by
// in_parallel and across.
class ParallelNode : public Node {
 public:
  using Factory = std::function<std::unique_ptr<Node>(size_t index, Context ctx)>;
  ParallelNode(State& s, Node* p, Context c) : Node(s, p, std::move(c)) {}
  void OnChildDone(Node* child, const Outcome& outcome) override;

 protected:
  void Run(size_t count, size_t limit, bool fail_fast, Factory factory);

 private:
  void Launch();
  void MaybeFinish();
  Factory factory_;
  std::shared_ptr<Scope> children_scope_;
  size_t count_ = 0, limit_ = 0, next_ = 0, running_ = 0;
  bool fail_fast_ = false, launching_ = false;
  bool any_failed_ = false, any_errored_ = false, any_aborted_ = false;
  std::string error_message_;
};

class InParallelNode : public ParallelNode {
 public:
  InParallelNode(State& s, Node* p, Context c, const pipelines::InParallelStep& step)
      : ParallelNode(s, p, std::move(c)), step_(step) {}
  void Start() override;

 private:
  const pipelines::InParallelStep& step_;
};

// One var of an across step: an iteration per value, each running the next var (or the step).
class AcrossNode : public ParallelNode {
 public:
  AcrossNode(State& s, Node* p, Context c, const pipelines::Step& step, size_t var_index)
      : ParallelNode(s, p, std::move(c)), step_(step), var_index_(var_index) {}
  void Start() override;

 private:
  const pipelines::Step& step_;
  size_t var_index_;
  Json values_;
};

class TryNode : public Node {
 public:
  TryNode(State& s, Node* p, Context c, const pipelines::TryStep& step)
      : Node(s, p, std::move(c)), step_(step) {}
  void Start() override;
  void OnChildDone(Node* child, const Outcome& outcome) override;

 private:
  const pipelines::TryStep& step_;
};

enum class HookKind { kEnsure, kOnError, kOnAbort, kOnFailure, kOnSuccess };
const char* ToString(HookKind kind);

// One hook around a step: runs the step (from `inner_layer`), then maybe the hook.
class HookNode : public Node {
 public:
  HookNode(State& s, Node* p, Context c, const pipelines::Step& step, Layer inner_layer,
           HookKind kind, const pipelines::Step& hook)
      : Node(s, p, std::move(c)),
        step_(step),
        inner_layer_(inner_layer),
        kind_(kind),
        hook_(hook) {}
  void Start() override;
  void OnChildDone(Node* child, const Outcome& outcome) override;

 private:
  bool ShouldRunHook(const Outcome& inner) const;
  Outcome Combine(const Outcome& inner, const Outcome& hook) const;
  void RunHook();

  const pipelines::Step& step_;
  Layer inner_layer_;
  HookKind kind_;
  const pipelines::Step& hook_;
  bool hook_started_ = false;  // the inner step may finish inside Start()
  Outcome inner_outcome_;
};

class AttemptsNode : public Node {
 public:
  AttemptsNode(State& s, Node* p, Context c, const pipelines::Step& step)
      : Node(s, p, std::move(c)), step_(step) {}
  void Start() override { RunAttempt(1); }
  void OnChildDone(Node* child, const Outcome& outcome) override;

 private:
  void RunAttempt(int n);
  const pipelines::Step& step_;
  int attempt_ = 0;
};

class TimeoutNode : public Node {
 public:
  TimeoutNode(State& s, Node* p, Context c, const pipelines::Step& step)
      : Node(s, p, std::move(c)), step_(step) {}
  void Start() override;
  void OnChildDone(Node* child, const Outcome& outcome) override;
  void OnTimerFired();

 private:
  const pipelines::Step& step_;
  std::shared_ptr<Scope> inner_scope_;
  TimerId timer_ = 0;
  bool fired_ = false;
};

// A step that issues actions: get, put, task, load_var, set_pipeline.
class LeafNode : public Node {
 public:
  LeafNode(State& s, Node* p, Context c, const pipelines::Step& step)
      : Node(s, p, std::move(c)), step_(step) {}
  void Start() final;
  // REQUIRES: `id` was issued by this leaf and not reported before.
  void ActionDone(ActionId id, const ActionResult& result);
  const Scope* scope() const { return ctx_.scope.get(); }

 protected:
  virtual void Begin() = 0;
  virtual void OnActionDone(ActionId id, const ActionResult& result) = 0;
  // Issues an action whose `id` and `step` fields are filled in here.
  template <typename A>
  ActionId Issue(A action) {
    action.id = state_.NewActionId();
    action.step = info_;
    state_.TrackAction(action.id, this);
    ActionId id = action.id;
    state_.Emit(std::move(action));
    return id;
  }
  // Ends the step: logs the error (if any), emits StepFinished, reports the outcome.
  void FinishStep(const Outcome& outcome, int exit_code = -1);
  // Emits RedactSecrets for the values `vars` used that must be redacted. If a var could not be
  // resolved, ends the step errored and returns false.
  bool Settle(const RuntimeVars& vars);
  // Outcome of a finished action (succeeded / failed / errored).
  static Outcome ToOutcome(const ActionResult& result);
  // Splits "artifact/rest/of/path"; errors name the artifact and what it was for.
  baton::Result<std::pair<Artifact, std::string>> ResolveFile(const std::string& file,
                                                              const std::string& what) const;

  const pipelines::Step& step_;
  StepInfo info_;
};

std::unique_ptr<Node> MakeTaskNode(State& s, Node* p, Context c, const pipelines::Step& step);
std::unique_ptr<Node> MakeGetNode(State& s, Node* p, Context c, const pipelines::Step& step);
std::unique_ptr<Node> MakePutNode(State& s, Node* p, Context c, const pipelines::Step& step);
std::unique_ptr<Node> MakeLoadVarNode(State& s, Node* p, Context c, const pipelines::Step& step);
std::unique_ptr<Node> MakeSetPipelineNode(State& s, Node* p, Context c,
                                          const pipelines::Step& step);

}  // namespace baton::runner::engine
