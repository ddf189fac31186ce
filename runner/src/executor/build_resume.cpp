// BuildExecutor: resuming a build from its journal after the web node restarted.
#include <filesystem>

#include "executor/executor_impl.h"

namespace baton::runner {

namespace fs = std::filesystem;

namespace {

// The id of an action that the executor carries out and that ends with a result.
std::optional<ActionId> OpenActionId(const BuildAction& action) {
  if (auto* a = std::get_if<RunTask>(&action)) return a->id;
  if (auto* a = std::get_if<RunGet>(&action)) return a->id;
  if (auto* a = std::get_if<RunPut>(&action)) return a->id;
  if (auto* a = std::get_if<LoadFile>(&action)) return a->id;
  if (auto* a = std::get_if<SetPipeline>(&action)) return a->id;
  return std::nullopt;
}

// The step an action belongs to, for a line in its log.
std::optional<StepInfo> StepOf(const BuildAction& action) {
  if (auto* a = std::get_if<RunTask>(&action)) return a->step;
  if (auto* a = std::get_if<RunGet>(&action)) return a->step;
  if (auto* a = std::get_if<RunPut>(&action)) return a->step;
  return std::nullopt;
}

}  // namespace

std::string BuildExecutor::Impl::JournalPath() const {
  return (fs::path(options_.build_root) / "journal.jsonl").string();
}

bool BuildExecutor::Impl::HoldDuringReplay(const BuildAction& action) {
  // What the build log shows already (it was recorded before the restart).
  if (std::holds_alternative<StepStarted>(action) || std::holds_alternative<StepFinished>(action) ||
      std::holds_alternative<StepLog>(action)) {
    return true;
  }
  if (auto id = OpenActionId(action)) {
    held_.emplace(*id, action);
    return true;
  }
  if (auto* t = std::get_if<StartTimer>(&action)) {
    held_timers_[t->id] = *t;
    return true;
  }
  if (auto* t = std::get_if<CancelTimer>(&action)) {
    held_timers_.erase(t->id);
    return true;
  }
  if (auto* c = std::get_if<CancelAction>(&action)) {
    if (held_.count(c->id)) cancel_after_replay_.insert(c->id);
    return true;
  }
  return false;  // secrets to redact, the build's end
}

void BuildExecutor::Impl::Resume() {
  status_ = BuildStatus::kStarted;
  auto entries = BuildJournal::Read(JournalPath());
  if (!entries.ok()) return Finished(BuildStatus::kErrored);
  (void)journal_.Open(JournalPath());
  replaying_ = true;
  Apply(engine_.Start());
  bool fits = true;
  for (const JournalEntry& e : *entries) {
    if (IsFinished(status_)) break;
    if (e.kind == JournalEntry::Kind::kResult) {
      auto held = held_.find(e.id);
      if (held == held_.end()) {
        fits = false;
        break;
      }
      BuildAction action = std::move(held->second);
      held_.erase(held);
      cancel_after_replay_.erase(e.id);
      // A get answered from the resource caches: its artifact is still that fetch (one gone
      // since errors the step that uses it, saying so).
      if (auto* get = std::get_if<RunGet>(&action); get && !e.result.cached_at.empty()) {
        fs::path dir = e.result.cached_at;
        auto entry = options_.resource_caches ? options_.resource_caches->FindDir(dir) : nullptr;
        if (!entry) {
          entry = std::make_shared<const ResourceCaches::Entry>(
              ResourceCaches::Entry{dir, dir / "files", e.result.version, e.result.metadata});
        }
        cached_[get->volume.id] = std::move(entry);
      }
      // A put's version is the build's output: the recorder counts it again (it saves nothing
      // twice).
      if (auto* put = std::get_if<RunPut>(&action);
          put && e.result.kind == ActionResult::Kind::kSucceeded) {
        observer_.OnVersion(Shown(put->step), put->resource, e.result.version, e.result.metadata);
      }
      Apply(engine_.OnActionFinished(e.id, e.result));
    } else if (e.kind == JournalEntry::Kind::kTimer) {
      if (held_timers_.erase(e.id) == 0) {
        fits = false;
        break;
      }
      Apply(engine_.OnTimerFired(e.id));
    } else {
      Apply(engine_.Abort());
    }
  }
  replaying_ = false;
  if (IsFinished(status_)) return;
  std::map<ActionId, BuildAction> open = std::move(held_);
  held_.clear();
  if (!fits) {
    for (const auto& [id, action] : open) {
      if (auto step = StepOf(action)) {
        Log(*step, workers::OutputStream::kSystem, Now(),
            "cannot resume this build after the web node restarted: what it recorded does not "
            "fit its plan (did the pipeline change?); trigger the job again");
        break;
      }
    }
    return Finished(BuildStatus::kErrored);
  }
  // Go on from where the build was: timers start again, open actions are carried out (a step a
  // worker still runs is adopted by its id).
  std::map<TimerId, StartTimer> timers = std::move(held_timers_);
  held_timers_.clear();
  for (const auto& [id, timer] : timers) StartTimerNow(timer);
  for (const auto& [id, action] : open) {
    ApplyOne(action);
    if (cancel_after_replay_.count(id)) {
      if (auto it = handles_.find(id); it != handles_.end() && it->second) {
        it->second->Cancel(options_.cancel_grace);
      } else {
        CancelWaiting(id);  // waiting for its inputs' copies: never started
      }
    }
  }
  cancel_after_replay_.clear();
}

}  // namespace baton::runner
