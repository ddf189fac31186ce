// LeafNode: the common life of a step that issues actions.
#include "baton/common/path_beneath.h"
#include "baton/common/strings.h"
#include "engine/engine_nodes.h"

namespace baton::runner::engine {

void LeafNode::Start() {
  info_ = state_.NewStepInfo(step_, ctx_);
  if (auto reason = Cancelled()) return Finish(CancelledOutcome(*reason));
  state_.Emit(StepStarted{info_});
  Begin();
}

void LeafNode::ActionDone(ActionId id, const ActionResult& result) {
  if (auto reason = Cancelled()) return FinishStep(CancelledOutcome(*reason), result.exit_code);
  OnActionDone(id, result);
}

void LeafNode::FinishStep(const Outcome& outcome, int exit_code) {
  if (outcome.kind == OutcomeKind::kErrored && !outcome.message.empty()) {
    state_.Emit(StepLog{info_, outcome.message});
  }
  StepFinished finished;
  finished.step = info_;
  finished.status = ToBuildStatus(outcome.kind);
  finished.message = outcome.message;
  finished.exit_code = exit_code;
  state_.Emit(std::move(finished));
  Finish(outcome);
}

bool LeafNode::Settle(const RuntimeVars& vars) {
  if (!vars.secrets().empty()) state_.Emit(RedactSecrets{vars.secrets()});
  std::string problem = vars.Problem();
  if (problem.empty()) return true;
  FinishStep(Outcome::Errored(problem));
  return false;
}

Outcome LeafNode::ToOutcome(const ActionResult& result) {
  switch (result.kind) {
    case ActionResult::Kind::kSucceeded:
      return Outcome::Succeeded();
    case ActionResult::Kind::kFailed:
      return {OutcomeKind::kFailed, result.message};
    case ActionResult::Kind::kErrored:
      return Outcome::Errored(result.message);
  }
  return Outcome::Errored(result.message);
}

baton::Result<std::pair<Artifact, std::string>> LeafNode::ResolveFile(
    const std::string& file, const std::string& what) const {
  size_t slash = file.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == file.size()) {
    return InvalidArgument(what + " '" + file + "' must be <artifact>/<path>");
  }
  std::string name = file.substr(0, slash);
  const Artifact* artifact = state_.FindArtifact(name);
  if (artifact == nullptr) {
    return NotFound("unknown artifact source: '" + name + "' in " + what + " path '" + file + "'");
  }
  std::string rest = file.substr(slash + 1);
  if (std::string problem = RelativePathProblem(rest); !problem.empty()) {
    return InvalidArgument(what + " '" + file + "' must stay inside the artifact '" + name +
                           "': " + problem);
  }
  return std::make_pair(*artifact, rest);
}

}  // namespace baton::runner::engine
