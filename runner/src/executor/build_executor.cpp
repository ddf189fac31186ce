// BuildExecutor: the loop side — applying engine actions and feeding results back.
#include "baton/runner/build_executor.h"

#include <fcntl.h>

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "baton/common/path_beneath.h"
#include "baton/pipelines/loader.h"
#include "executor/executor_impl.h"

namespace baton::runner {

namespace fs = std::filesystem;

std::error_code MakeDirectories(const std::string& path) {
  std::error_code ec;
  if (fs::create_directory(path, ec) || !ec) return ec;  // made, or there already
  ec.clear();
  fs::create_directories(path, ec);  // a parent is missing
  return ec;
}

BuildExecutor::BuildExecutor(boost::asio::io_context& io, workers::Worker& worker,
                             BuildObserver& observer, BuildPlan plan, BuildExecutorOptions options)
    : impl_(std::make_shared<Impl>(io, worker, observer, std::move(plan), std::move(options))) {}

BuildExecutor::~BuildExecutor() = default;
void BuildExecutor::Start() { impl_->Start(); }
void BuildExecutor::Abort() { impl_->Abort(); }  // posts: callable from any thread
BuildStatus BuildExecutor::status() const { return impl_->status(); }
std::optional<std::string> BuildExecutor::ArtifactPath(const std::string& name) const {
  return impl_->ArtifactPath(name);
}

BuildExecutor::Impl::Impl(boost::asio::io_context& io, workers::Worker& worker,
                          BuildObserver& observer, BuildPlan plan, BuildExecutorOptions options)
    : io_(io),
      worker_(worker),
      observer_(observer),
      options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : &RealClock()),
      engine_(std::move(plan)) {}

void BuildExecutor::Impl::Start() {
  if (options_.resume) return Resume();
  // Only the build's own directory: volumes/ and a task's work-<id>/ are made when a step needs
  // one (a mkdir on a journal-less ext4 costs ~60 us of CPU, docs/benchmarks.md).
  // With its directories in it when a finished build's are kept whole (spare_directories.h).
  std::error_code ec;
  if (!options_.spare_dirs || !options_.spare_dirs->TakeTreeInto(options_.build_root)) {
    ec = MakeDirectories(options_.build_root);
  }
  if (!ec && options_.journal) {
    fs::remove(JournalPath(), ec);  // a build that ran here before under the same id: not ours
    ec.clear();
    (void)journal_.Open(JournalPath());  // without one the build runs, but cannot be resumed
  }
  status_ = BuildStatus::kStarted;
  observer_.OnStatus(status_, Now());
  if (ec) {
    // Nothing can run without a build directory; end the build as errored.
    Finished(BuildStatus::kErrored);
    return;
  }
  Apply(engine_.Start());
}

std::error_code BuildExecutor::Impl::MakeDirectory(const std::string& path) {
  if (options_.spare_dirs && options_.spare_dirs->TakeInto(path)) return {};
  return MakeDirectories(path);
}

Status BuildExecutor::Impl::MakeDir(const std::string& path) {
  std::error_code ec = MakeDirectory(path);
  if (ec) return IoError("cannot create " + path + ": " + ec.message());
  return Status::Ok();
}

void BuildExecutor::Impl::Abort() {
  Post([](Impl& self) {
    if (IsFinished(self.status_)) return;
    self.journal_.Append({JournalEntry::Kind::kAbort, 0, {}});
    self.Apply(self.engine_.Abort());
  });
}

void BuildExecutor::Impl::Report(ActionId id, ActionResult result) {
  Post([id, result = std::move(result)](Impl& self) {
    self.handles_.erase(id);
    self.journal_.Append({JournalEntry::Kind::kResult, id, result});
    self.Apply(self.engine_.OnActionFinished(id, result));
  });
}

void BuildExecutor::Impl::Apply(std::vector<BuildAction> actions) {
  for (const auto& action : actions) ApplyOne(action);
}

void BuildExecutor::Impl::ApplyOne(const BuildAction& action) {
  if (replaying_ && HoldDuringReplay(action)) return;
  if (auto* a = std::get_if<StepStarted>(&action)) {
    observer_.OnStepStarted(Shown(a->step), Now());
    if (a->step.type == "task") Log(a->step, workers::OutputStream::kSystem, Now(), "initializing");
  } else if (auto* a = std::get_if<StepFinished>(&action)) {
    StepFinished redacted = *a;
    redacted.step = Shown(a->step);
    redacted.message = Redact(a->message);
    observer_.OnStepFinished(redacted, Now());
  } else if (auto* a = std::get_if<StepLog>(&action)) {
    Log(a->step, workers::OutputStream::kSystem, Now(), a->line);
  } else if (auto* a = std::get_if<RunTask>(&action)) {
    StartTask(*a);
  } else if (auto* a = std::get_if<RunGet>(&action)) {
    StartGet(*a);
  } else if (auto* a = std::get_if<RunPut>(&action)) {
    StartPut(*a);
  } else if (auto* a = std::get_if<LoadFile>(&action)) {
    LoadFileNow(*a);
  } else if (auto* a = std::get_if<SetPipeline>(&action)) {
    SetPipelineNow(*a);
  } else if (auto* a = std::get_if<StartTimer>(&action)) {
    StartTimerNow(*a);
  } else if (auto* a = std::get_if<CancelTimer>(&action)) {
    if (auto it = timers_.find(a->id); it != timers_.end()) {
      it->second->cancel();
      timers_.erase(it);
    }
  } else if (auto* a = std::get_if<CancelAction>(&action)) {
    if (auto it = handles_.find(a->id); it != handles_.end() && it->second) {
      it->second->Cancel(options_.cancel_grace);
    } else {
      CancelWaiting(a->id);
    }
  } else if (auto* a = std::get_if<RedactSecrets>(&action)) {
    redactor_.Add(a->values);
    observer_.OnSecrets(a->values);
  } else if (auto* a = std::get_if<BuildFinished>(&action)) {
    Finished(a->status);
  }
}

void BuildExecutor::Impl::Finished(BuildStatus status) {
  status_ = status;
  observer_.OnStatus(status, Now());
  if (options_.on_finished) options_.on_finished(status);
}

void BuildExecutor::Impl::StartTimerNow(const StartTimer& timer) {
  auto t = std::make_unique<boost::asio::steady_timer>(io_);
  t->expires_after(timer.duration);
  std::weak_ptr<Impl> weak = weak_from_this();
  TimerId id = timer.id;
  t->async_wait([weak, id](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->timers_.erase(id) == 0) return;
    self->journal_.Append({JournalEntry::Kind::kTimer, id, {}});
    self->Apply(self->engine_.OnTimerFired(id));
  });
  timers_[id] = std::move(t);
}

void BuildExecutor::Impl::LoadFileNow(const LoadFile& load) {
  // Beneath the volume: a symlink in the artifact must not read the server's own files.
  auto text = ReadFileBeneath(ReadablePath(load.volume), load.path);
  if (!text.ok()) {
    Report(load.id,
           ActionResult::Errored("could not read '" + load.path + "': " + text.status().message()));
    return;
  }
  ActionResult result;
  result.content = std::move(*text);
  Report(load.id, std::move(result));
}

void BuildExecutor::Impl::SetPipelineNow(const SetPipeline& step) {
  if (!options_.set_pipeline) {
    Report(step.id, ActionResult::Errored("set_pipeline is not supported in a local run"));
    return;
  }
  std::string path = (fs::path(ReadablePath(step.volume)) / step.path).string();
  auto inside = OpenBeneath(ReadablePath(step.volume), step.path, O_RDONLY);
  Status status = inside.ok() ? options_.set_pipeline(step, path) : inside.status();
  Report(step.id,
         status.ok() ? ActionResult::Succeeded() : ActionResult::Errored(status.message()));
}

std::optional<std::string> BuildExecutor::Impl::ArtifactPath(const std::string& name) const {
  auto artifacts = engine_.artifacts();
  auto it = artifacts.find(name);
  if (it == artifacts.end()) return std::nullopt;
  return ReadablePath(it->second);
}

std::string BuildExecutor::Impl::VolumePath(const Volume& volume) const {
  if (!volume.host_path.empty()) return volume.host_path;
  return (fs::path(options_.build_root) / "volumes" / std::to_string(volume.id)).string();
}

}  // namespace baton::runner
