// Private to the build engine: the state behind BuildEngine and the step-tree nodes it walks.
//
// A build is a tree of Nodes built lazily as it runs: one node per modifier layer of a step
// (across, each hook, attempts, timeout) around a core node (do, in_parallel, try, or a leaf
// that issues actions). A node starts its children, hears their Outcomes and reports its own to
// its parent. Cancellation travels through Scopes: a timeout, a fail_fast sibling or an abort
// cancels a scope, which cancels every running action under it.
//
// Thread-compatible, like BuildEngine.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "baton/pipelines/pipeline_config.h"
#include "baton/pipelines/vars.h"
#include "baton/runner/build_action.h"
#include "baton/runner/build_engine.h"

namespace baton::runner::engine {

enum class OutcomeKind { kSucceeded, kFailed, kErrored, kAborted, kInterrupted };

// What became of a step (or a subtree). kInterrupted: cancelled by a fail_fast sibling.
struct Outcome {
  OutcomeKind kind = OutcomeKind::kSucceeded;
  std::string message;
  static Outcome Succeeded() { return {}; }
  static Outcome Errored(std::string m) { return {OutcomeKind::kErrored, std::move(m)}; }
};

enum class CancelReason { kAbort, kTimeout, kFailFast };

// The outcome of a step cancelled for `reason`.
Outcome CancelledOutcome(CancelReason reason);
BuildStatus ToBuildStatus(OutcomeKind kind);

// A cancellation domain. A scope is cancelled when it or any enclosing scope is.
struct Scope {
  std::shared_ptr<Scope> parent;
  std::optional<CancelReason> reason;
  // The reason of the outermost cancelled scope in the chain, if any.
  std::optional<CancelReason> Cancelled() const;
  // True if `other` is this scope or nested in it.
  bool Encloses(const Scope* other) const;
};

// What a node passes down to the nodes it starts.
struct Context {
  std::shared_ptr<Scope> scope;
  std::shared_ptr<pipelines::Vars> locals;  // ((.:name)) values visible here
  // Names of the locals loaded without `reveal: true`: their values are redacted once used.
  std::shared_ptr<std::set<std::string>> secret_locals;
  int attempt = 1;
  std::map<std::string, Json> across;
  std::string hook;
};

// Where to start wrapping a step: modifiers from the outside in.
enum class Layer {
  kAcross,
  kEnsure,
  kOnError,
  kOnAbort,
  kOnFailure,
  kOnSuccess,
  kAttempts,
  kTimeout,
  kCore
};

class Node;
class LeafNode;
class TimeoutNode;

struct Artifact {
  Volume volume;
  ArtifactOrigin origin;
};

}  // namespace baton::runner::engine

namespace baton::runner {

class BuildEngine::State {
 public:
  explicit State(BuildPlan plan);
  ~State();

  // Output of the current call.
  void Emit(BuildAction action) { out_.push_back(std::move(action)); }
  std::vector<BuildAction> TakeActions();

  ActionId NewActionId() { return next_action_++; }
  Volume NewVolume() { return Volume{next_volume_++, {}}; }
  StepInfo NewStepInfo(const pipelines::Step& step, const engine::Context& ctx);
  // A scope for hooks that run after their own scope was cancelled: only an abort that comes
  // later (if the build was not aborted yet) can cancel it.
  std::shared_ptr<engine::Scope> FreshScope() const;

  void TrackAction(ActionId id, engine::LeafNode* leaf) { running_[id] = leaf; }
  TimerId TrackTimer(engine::TimeoutNode* node);
  void ForgetTimer(TimerId id) { timers_.erase(id); }
  // Cancels `scope` (if not yet) and every running action under it.
  void CancelScope(const std::shared_ptr<engine::Scope>& scope, engine::CancelReason reason);

  // Builds the node for `step` starting at layer `from`.
  std::unique_ptr<engine::Node> MakeStep(const pipelines::Step& step, engine::Layer from,
                                         engine::Node* parent, engine::Context ctx);
  std::unique_ptr<engine::Node> MakeCore(const pipelines::Step& step, engine::Node* parent,
                                         engine::Context ctx);

  const BuildPlan& plan() const { return plan_; }
  const pipelines::VarSources& var_sources() const { return var_sources_; }
  const pipelines::Resource* FindResource(const std::string& name) const;
  const pipelines::ResourceType* FindResourceType(const std::string& name) const;
  std::map<std::string, engine::Artifact>& artifacts() { return artifacts_; }
  const engine::Artifact* FindArtifact(const std::string& name) const;

  // Entry points used by BuildEngine.
  void Start();
  void ActionFinished(ActionId id, const ActionResult& result);
  void TimerFired(TimerId id);
  void Abort();
  void RootDone(const engine::Outcome& outcome);
  // Resolves var-source vars in the resource types' source and defaults (at Start).
  void InterpolateResourceTypes();
  BuildStatus status() const { return status_; }
  size_t running_actions() const { return running_.size(); }

 private:
  BuildPlan plan_;
  pipelines::VarSources var_sources_;
  pipelines::Step root_step_;  // `do: plan` with the job hooks
  std::vector<BuildAction> out_;
  std::map<std::string, engine::Artifact> artifacts_;
  std::map<ActionId, engine::LeafNode*> running_;
  std::map<TimerId, engine::TimeoutNode*> timers_;
  std::shared_ptr<engine::Scope> root_scope_;
  std::unique_ptr<engine::Node> root_;
  BuildStatus status_ = BuildStatus::kPending;
  ActionId next_action_ = 1;
  TimerId next_timer_ = 1;
  int next_volume_ = 1;
  int next_step_ = 1;
};

}  // namespace baton::runner
