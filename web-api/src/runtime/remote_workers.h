// RemoteWorkers: the web node's Worker when steps run on `baton worker`s (worker protocol v2,
// docs/workers.md). Each step is placed on a registered worker session and waits in that
// session's queue until the worker's long poll takes it; the worker fetches the volumes it does
// not already hold (same key, same VolumeDigest), runs the step in its own sandbox, streams the
// output back in batches and reports the result with the writable volumes that changed, which
// are unpacked into the web node's directories before the step's `done` is called.
//
// Placement (worker_placement.h): by the step's tags and team (workers::WorkerSpec), then the
// worker holding most of the step's volumes (each session's `held`: what its worker fetched or
// sent back, by key and digest), then the fewest steps, never more than a worker's capacity. A step
// no worker can take waits, and its log says why (again whenever the reason changes). `artifact`
// resources use the web node's artifact store, so they run here, in-process.
//
// Every method an endpoint calls names the session: a worker can only take, report on and move
// volumes of the steps given to its own session.
//
// Restarts (remote_worker_adoption.cpp): a step's id is its engine's (b<build>-<step>-a<action>)
// and a file in `records_dir` says which worker took it. A web node that restarts resumes the
// build (runner::Scheduler::ResumeBuild); when its engine asks for a step a worker took, the
// step is not placed again but waits for that worker to register again reporting the step,
// then goes on under the new session (its output, volumes and result arrive as usual). A worker
// that does not come back within `reconnect_grace` has the step errored, naming it.
//
// Thread-safety: all methods are thread-safe. Completion callbacks (`done`, the reply
// functions) run on the object's own threads. The destructor fails the steps still running.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "baton/common/json.h"
#include "baton/common/status.h"
#include "baton/workers/worker.h"

namespace baton::workers {
class ArtifactStore;
}  // namespace baton::workers

namespace baton::webapi {

struct WorkerRegistration;

struct RemoteWorkersOptions {
  std::filesystem::path spool_dir;  // packed volumes in transit; created, emptied at start
  workers::ArtifactStore* artifacts = nullptr;  // for `artifact` resources; may be null
  int threads = 2;                              // digests, packing, unpacking and output delivery
  // Which worker took each step (a file per step id), kept across restarts of the web node so
  // that a resumed build finds its steps again; created if missing.
  std::filesystem::path records_dir;
  // How long a step's worker has to register again (after this web node started, or after its
  // session ended while it reported holding the step) before the step errors naming it.
  std::chrono::milliseconds reconnect_grace{std::chrono::seconds(60)};
};

class RemoteWorkers final : public workers::Worker {
 public:
  explicit RemoteWorkers(RemoteWorkersOptions options);
  ~RemoteWorkers() override;
  RemoteWorkers(const RemoteWorkers&) = delete;
  RemoteWorkers& operator=(const RemoteWorkers&) = delete;

  std::string name() const override { return "remote"; }
  workers::IsolationLevel isolation() const override {
    return workers::IsolationLevel::kNamespaces;  // each worker refuses to run unsandboxed
  }
  std::unique_ptr<workers::StepHandle> RunTask(
      const workers::TaskRun& run, std::shared_ptr<workers::OutputSink> output,
      std::function<void(workers::TaskResult)> done) override;
  std::unique_ptr<workers::StepHandle> RunResource(
      const workers::ResourceRun& run, std::shared_ptr<workers::OutputSink> output,
      std::function<void(workers::ResourceResult)> done) override;

  // Sessions (WorkerRegistry): a session may take steps from SessionStarted until SessionEnded,
  // which errors its running steps with `why` (except those in `kept`: the worker registered
  // again holding them) and places its untaken ones again. A new session adopts the steps its
  // worker reports holding (worker.held): those of a session that ended, and those of builds
  // resumed after this web node restarted (by the ids their engine gives them again).
  void SessionStarted(const std::string& session, const WorkerRegistration& worker);
  void SessionEnded(const std::string& session, const std::string& why,
                    const std::vector<std::string>& kept = {});
  // The session takes no new steps (`baton land-worker`, `retire-worker`; `state` is "landing"
  // or "retiring"); the steps it has not taken yet go to other workers, and its running steps of
  // `interruptible` jobs error at once, naming the worker, and are cancelled on it.
  void SessionLanding(const std::string& session, const std::string& state);

  // The worker's long poll: `reply` gets {"steps": [...], "cancel": [{"id", "grace_ms"}]} as
  // soon as there is something for the session, or empty lists after `wait`; kNotFound for an
  // unknown session.
  using JsonReply = std::function<void(Result<Json>)>;
  void TakeWork(const std::string& session, std::chrono::milliseconds wait, JsonReply reply);

  // A batch of a step's output; `reply` once the build log has taken it (the back-pressure).
  using StatusReply = std::function<void(Status)>;
  void AddOutput(const std::string& session, const std::string& step, const Json& lines,
                 StatusReply reply);

  // Up to `max` bytes of volume `index`'s stream from `offset` (packed on first read), with the
  // stream's size.
  struct Chunk {
    std::string bytes;
    uint64_t size = 0;
  };
  void ReadVolume(const std::string& session, const std::string& step, int index, uint64_t offset,
                  size_t max, std::function<void(Result<Chunk>)> reply);
  // Appends `bytes` at `offset` to the upload of volume `index` (a changed writable volume).
  Status WriteVolume(const std::string& session, const std::string& step, int index,
                     uint64_t offset, std::string_view bytes);
  // The step's end: `report` is {"result", "volumes": [{"index", "digest"}]}; the uploaded
  // volumes are unpacked, then the step's `done` runs and `reply` is called.
  void Finish(const std::string& session, const std::string& step, const Json& report,
              StatusReply reply);

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace baton::webapi
