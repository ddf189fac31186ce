// Private to RemoteWorkers: the steps handed out, the worker sessions and their queues.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <variant>

#include "baton/webapi/worker_placement.h"
#include "baton/workers/step_wire.h"
#include "runtime/remote_workers.h"
#include "worker_endpoint/worker_registry.h"

namespace baton::webapi {

// Work to do once the mutex is released (completions, replies, log lines).
class Later {
 public:
  void Add(std::function<void()> fn) { fns_.push_back(std::move(fn)); }
  void Run() {
    for (auto& fn : fns_) fn();
    fns_.clear();
  }

 private:
  std::vector<std::function<void()>> fns_;
};

// One step handed to RemoteWorkers, from RunTask/RunResource until its `done` runs.
struct Dispatch {
  std::string id;
  workers::wire::Step step;
  std::vector<std::string> paths;  // the web node's directory of each volume, by index
  std::shared_ptr<workers::OutputSink> sink;
  std::function<void(workers::TaskResult)> task_done;
  std::function<void(workers::ResourceResult)> resource_done;
  std::string session;   // "" while no worker has it
  bool taken = false;    // the worker's poll received it
  std::string said_why;  // the last reason for waiting the build log was given
  // The worker that ran it before this web node restarted (or before its session ended): the
  // step waits for it to register again, until `await_until`, instead of being placed.
  std::string awaiting;
  std::chrono::steady_clock::time_point await_until;
  // Which workers may run it.
  const workers::WorkerSpec& Spec() const {
    return step.kind == workers::wire::Step::Kind::kTask ? step.task.placement
                                                         : step.resource.placement;
  }
  std::mutex pack_mu;                  // one packing of a volume at a time
  std::map<int, std::string> packed;   // GUARDED_BY(pack_mu): download spools by index
  std::map<int, std::string> uploads;  // GUARDED_BY(Impl::mu_): upload spools by index
};

class RemoteWorkers::Impl : public std::enable_shared_from_this<Impl> {
 public:
  explicit Impl(RemoteWorkersOptions options);
  ~Impl();

  // Starts the once-a-second Sweep (after construction: it holds a weak pointer to this).
  void StartSweeping();
  // Takes a new step: digests its volumes on the pool, then places it.
  void Submit(std::shared_ptr<Dispatch> d);
  void Cancel(const std::string& id, Duration grace);
  void RunArtifactHere(const workers::ResourceRun& run, std::shared_ptr<workers::OutputSink> sink,
                       std::function<void(workers::ResourceResult)> done,
                       std::shared_ptr<std::atomic<bool>> cancelled);

  void SessionStarted(const std::string& session, const WorkerRegistration& worker);
  void SessionEnded(const std::string& session, const std::string& why,
                    const std::vector<std::string>& kept);
  void SessionLanding(const std::string& session, const std::string& state);
  void TakeWork(const std::string& session, std::chrono::milliseconds wait, JsonReply reply);
  void AddOutput(const std::string& session, const std::string& step, const Json& lines,
                 StatusReply reply);
  void ReadVolume(const std::string& session, const std::string& step, int index, uint64_t offset,
                  size_t max, std::function<void(Result<Chunk>)> reply);
  Status WriteVolume(const std::string& session, const std::string& step, int index,
                     uint64_t offset, std::string_view bytes);
  void Finish(const std::string& session, const std::string& step, const Json& report,
              StatusReply reply);

  std::string NextId();
  // The dispatch id of a run: its engine id when it names a build (the same after a restart),
  // else a fresh one.
  std::string IdFor(const std::string& run_id);
  const RemoteWorkersOptions& options() const { return options_; }

 private:
  struct Session {
    WorkerRegistration worker;
    std::deque<std::string> queue;  // placed, not yet taken by a poll
    std::set<std::string> steps;    // placed here, not finished
    Json cancels = Json::array();
    JsonReply poll;  // the waiting long poll, if any
    uint64_t poll_generation = 0;
    uint64_t last_given = 0;  // when it was last given a step: ties go to the longest idle
    // The volumes the worker holds (its HeldVolumes, as far as this node knows): key (the web
    // node's directory) -> digest. Placement prefers the worker holding a step's volumes.
    std::map<std::string, std::string> held;
    bool landing = false;  // takes no new steps
    std::unique_ptr<boost::asio::steady_timer> poll_timer;
  };

  // REQUIRES: mu_ held. Places what waits; says why on the logs of steps that must go on waiting.
  void Place(Later& later);
  // REQUIRES: mu_ held. The sessions as placement sees them for `d`; `names` gets their ids.
  std::vector<PlacementCandidate> Candidates(const Dispatch& d,
                                             std::vector<std::string>& names) const;
  // REQUIRES: mu_ held. Notes that `session`'s worker holds `key` at `digest`.
  static void Hold(Session& session, const std::string& key, const std::string& digest);
  // REQUIRES: mu_ held. Answers the session's waiting poll if there is work for it.
  void Wake(Session& session, Later& later);
  // REQUIRES: mu_ held. The session's queued steps and cancels as a poll answer (then cleared).
  Json TakeAnswer(Session& session);
  // REQUIRES: mu_ held. The dispatch `step` of `session`, or the error to answer.
  Result<std::shared_ptr<Dispatch>> Owned(const std::string& session, const std::string& step);
  // REQUIRES: mu_ held. Ends `d` with `error` (its done runs later) and forgets it.
  void Fail(std::shared_ptr<Dispatch> d, Status error, Later& later);
  void Forget(const Dispatch& d);  // REQUIRES: mu_ held
  // On the pool: the worker's result for `d`, after unpacking its changed volumes.
  void Complete(std::shared_ptr<Dispatch> d, Json report, StatusReply reply);
  Status UnpackUploads(Dispatch& d, const Json& volumes, const std::map<int, std::string>& files);
  Result<std::string> PackedVolume(Dispatch& d, int index);
  void RemoveSpools(const Dispatch& d, const std::map<int, std::string>& uploads);

  // Adoption across restarts (remote_worker_adoption.cpp).
  // The steps workers took before this web node started, from records_dir.
  void LoadRecords();
  // REQUIRES: mu_ held. Claims `d` for the worker that holds it (reported at registration) or
  // held it (the records): true when it must not be placed.
  bool Adopt(const std::shared_ptr<Dispatch>& d, Later& later);
  // REQUIRES: mu_ held. The steps `session`'s worker reported holding at registration.
  void AdoptReported(const std::string& session, Later& later);
  // REQUIRES: mu_ held. `d` goes on under `session` (the worker runs it or has its result).
  void Attach(Dispatch& d, const std::string& session, Later& later);
  // Once a second: errors steps whose worker did not come back, forgets unclaimed reports.
  void Sweep();
  void ArmSweep();                                                 // REQUIRES: mu_ held
  void WriteRecord(const Dispatch& d, const std::string& worker);  // REQUIRES: mu_ held
  void RemoveRecord(const std::string& id);

  const RemoteWorkersOptions options_;
  boost::asio::thread_pool pool_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Dispatch>> dispatches_;  // GUARDED_BY(mu_)
  std::map<std::string, Session> sessions_;                      // GUARDED_BY(mu_)
  std::deque<std::string> unplaced_;                             // GUARDED_BY(mu_)
  std::atomic<uint64_t> next_id_{1};
  std::string id_prefix_;  // "s<start time>-": fresh ids never repeat an earlier run's
  // A step a worker took before this web node started: that worker, and until when it may
  // register again.
  struct Expected {
    std::string worker;
    std::chrono::steady_clock::time_point until;
  };
  std::map<std::string, Expected> expected_;  // GUARDED_BY(mu_), by step id
  // A step a registering worker reported that no dispatch has claimed yet (its build is being
  // resumed): the session, and until when it may be claimed.
  struct Orphan {
    std::string session;
    std::chrono::steady_clock::time_point until;
  };
  std::map<std::string, Orphan> orphans_;             // GUARDED_BY(mu_), by step id
  std::unique_ptr<boost::asio::steady_timer> sweep_;  // GUARDED_BY(mu_)
  uint64_t placements_ = 0;                           // GUARDED_BY(mu_)
  bool stopping_ = false;                             // GUARDED_BY(mu_)
};

}  // namespace baton::webapi
