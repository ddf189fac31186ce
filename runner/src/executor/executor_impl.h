// Private to BuildExecutor: its state and the translation of engine actions into worker calls.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "baton/runner/build_executor.h"
#include "baton/runner/redactor.h"
#include "executor/build_journal.h"

namespace baton::runner {

// Makes the directory `path` and any missing parents. Its parent usually exists (a build's
// directory under builds/, a task's under its build's): one mkdir then, where
// create_directories first stats the path and its parent (two syscalls a directory on the
// scheduler's thread).
std::error_code MakeDirectories(const std::string& path);

class BuildExecutor::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(boost::asio::io_context& io, workers::Worker& worker, BuildObserver& observer,
       BuildPlan plan, BuildExecutorOptions options);

  void Start();
  void Abort();
  BuildStatus status() const { return status_; }
  std::optional<std::string> ArtifactPath(const std::string& name) const;

  // Called (on the loop) with one line of a step's output.
  void Log(const StepInfo& step, workers::OutputStream stream, SystemTime time,
           std::string_view line);
  // Called (on the loop) with a batch of a step's output: redacts `lines` in place (their text
  // may then point into a buffer of this call) and hands them to the observer at once.
  void LogLines(const StepInfo& step, std::span<LogLine> lines);

 private:
  void Apply(std::vector<BuildAction> actions);
  void ApplyOne(const BuildAction& action);
  // Reports an action's result to the engine from a fresh loop turn.
  void Report(ActionId id, ActionResult result);
  // Runs `fn` on the loop if this executor still exists.
  template <typename Fn>
  void Post(Fn fn) {
    std::weak_ptr<Impl> weak = weak_from_this();
    boost::asio::post(io_, [weak, fn = std::move(fn)]() mutable {
      if (auto self = weak.lock()) fn(*self);
    });
  }

  // True when every volume of `volumes` holds its files. Otherwise copies the cached fetches
  // among them into their volumes, off this thread, and calls `retry` (on the loop) once one is
  // copied, unless action `id` was cancelled meanwhile (CancelWaiting); a copy that failed errors
  // action `id`.
  bool VolumesReady(const std::vector<Volume>& volumes, ActionId id,
                    std::function<void(Impl&)> retry);
  void CopyDone(int volume_id, Status status);
  // Reports action `id` cancelled if it waits for a copy (true), so that it never starts.
  bool CancelWaiting(ActionId id);
  // Where a step may read `volume`'s files: the cached fetch itself while it is not copied.
  std::string ReadablePath(const Volume& volume) const;
  // Whether a get's fetch is kept in the resource caches.
  bool CachesFetch(const RunGet& get, const workers::ResourceRun& run) const;
  // A get of a version found in the resource caches: its artifact is that fetch.
  void UseCachedFetch(const RunGet& get, std::shared_ptr<const ResourceCaches::Entry> entry);
  void StartTask(const RunTask& run);
  void StartGet(const RunGet& get);
  void FetchVersion(const RunGet& get, Json version);
  void StartPut(const RunPut& put);
  void LoadFileNow(const LoadFile& load);
  void SetPipelineNow(const SetPipeline& step);
  void StartTimerNow(const StartTimer& timer);
  void Finished(BuildStatus status);
  // Resuming (build_resume.cpp): replays the journal, then carries out what is still open.
  void Resume();
  // During the replay: keeps `action` for later instead of carrying it out (true), or lets it
  // be applied (false).
  bool HoldDuringReplay(const BuildAction& action);
  std::string JournalPath() const;
  // Makes the directory `path` (and missing parents) from a spare when there is one.
  std::error_code MakeDirectory(const std::string& path);
  Status MakeDir(const std::string& path);

  // Translation helpers (executor_tasks.cpp).
  Result<workers::TaskRun> MakeTaskRun(const RunTask& run);
  Result<workers::RootfsSpec> ResolveImage(const RunTask& run) const;
  // The image's metadata.json (env, user) when the task runs on a fetched image; null otherwise.
  Json ImageMetadata(const RunTask& run) const;
  // The `env` of that metadata ("NAME=value" entries), if any.
  std::map<std::string, std::string> ImageEnv(const Json& metadata) const;
  // How the worker runs a resource of `type`, through the pipeline's resource types.
  Status ResolveType(const std::string& type, workers::ResourceRun& run) const;
  // The sink of a get: the step's, or a quiet one for a task's image fetch.
  std::shared_ptr<workers::OutputSink> GetSink(const RunGet& get);
  std::map<std::string, std::string> MetadataEnv() const;
  std::string VolumePath(const Volume& volume) const;
  std::string Redact(std::string_view line) const { return redactor_.Redact(line); }
  StepInfo Shown(const StepInfo& step) const { return redactor_.RedactStep(step); }
  std::shared_ptr<workers::OutputSink> SinkFor(const StepInfo& step);
  SystemTime Now() const { return clock_->Now(); }

  boost::asio::io_context& io_;
  workers::Worker& worker_;
  BuildObserver& observer_;
  BuildExecutorOptions options_;
  const Clock* clock_;
  BuildEngine engine_;
  BuildStatus status_ = BuildStatus::kPending;
  std::map<ActionId, std::unique_ptr<workers::StepHandle>> handles_;
  std::map<TimerId, std::unique_ptr<boost::asio::steady_timer>> timers_;
  Redactor redactor_;
  BuildJournal journal_;
  bool replaying_ = false;
  std::map<ActionId, BuildAction> held_;  // open actions the replay has not given a result yet
  std::map<TimerId, StartTimer> held_timers_;
  std::set<ActionId> cancel_after_replay_;
  // Volumes whose files are a cached fetch not copied into them yet (volume id).
  std::map<int, std::shared_ptr<const ResourceCaches::Entry>> cached_;
  struct VolumeCopy {
    std::shared_ptr<const ResourceCaches::Entry> entry;
    bool done = false;
    Status status;
    std::vector<std::function<void(Impl&)>> waiting;
  };
  std::map<int, VolumeCopy> copies_;  // volume id: copies started
  // Actions waiting for a copy (VolumesReady). One cancelled meanwhile is reported at once and
  // never started.
  std::set<ActionId> waiting_for_copies_;
};

}  // namespace baton::runner
