#include "baton/runner/build_status.h"

#include <variant>

#include "baton/runner/build_action.h"

namespace baton::runner {

const char* ToString(BuildStatus status) {
  switch (status) {
    case BuildStatus::kPending:
      return "pending";
    case BuildStatus::kStarted:
      return "started";
    case BuildStatus::kSucceeded:
      return "succeeded";
    case BuildStatus::kFailed:
      return "failed";
    case BuildStatus::kErrored:
      return "errored";
    case BuildStatus::kAborted:
      return "aborted";
  }
  return "unknown";
}

std::optional<BuildStatus> ParseBuildStatus(std::string_view text) {
  for (auto s : {BuildStatus::kPending, BuildStatus::kStarted, BuildStatus::kSucceeded,
                 BuildStatus::kFailed, BuildStatus::kErrored, BuildStatus::kAborted}) {
    if (text == ToString(s)) return s;
  }
  return std::nullopt;
}

bool IsFinished(BuildStatus status) {
  return status != BuildStatus::kPending && status != BuildStatus::kStarted;
}

namespace {
struct Describer {
  std::string operator()(const StepStarted& a) const { return "step-started " + a.step.name; }
  std::string operator()(const StepFinished& a) const {
    return "step-finished " + a.step.name + " " + ToString(a.status);
  }
  std::string operator()(const StepLog& a) const { return "log " + a.step.name + ": " + a.line; }
  std::string operator()(const RunTask& a) const { return "run-task " + a.step.name; }
  std::string operator()(const RunGet& a) const {
    return (a.for_image ? "run-image-get " : "run-get ") + a.step.name;
  }
  std::string operator()(const RunPut& a) const { return "run-put " + a.step.name; }
  std::string operator()(const LoadFile& a) const { return "load-file " + a.path; }
  std::string operator()(const SetPipeline& a) const { return "set-pipeline " + a.config.name; }
  std::string operator()(const StartTimer& a) const {
    return "start-timer " + std::to_string(a.id);
  }
  std::string operator()(const CancelTimer& a) const {
    return "cancel-timer " + std::to_string(a.id);
  }
  std::string operator()(const CancelAction& a) const {
    return "cancel-action " + std::to_string(a.id);
  }
  std::string operator()(const RedactSecrets& a) const {
    return "redact " + std::to_string(a.values.size());
  }
  std::string operator()(const BuildFinished& a) const {
    return std::string("build-finished ") + ToString(a.status);
  }
};
}  // namespace

std::string Describe(const BuildAction& action) { return std::visit(Describer{}, action); }

}  // namespace baton::runner
