// WorkerRegistry: the remote workers connected to this web node (docs/workers.md). A worker
// registers (getting a session), heartbeats with its active step counts and deregisters on a
// clean stop; each change is saved as the worker's record in the store, so GET /api/v1/workers
// and `baton workers` show it (and the store marks it stalled when its heartbeats stop).
//
// A worker that registers again under its name (it restarted, or the web node did) replaces
// its previous session. The name of the web node's own in-process worker is refused.
//
// Thread-safety: all methods are thread-safe (one mutex; store calls happen under it, so
// records are saved in the order sessions change).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "baton/common/clock.h"
#include "baton/common/json.h"
#include "baton/common/status.h"
#include "baton/runner/store_access.h"

namespace baton::webapi {

class RemoteWorkers;

// The worker protocol version this web node speaks (docs/workers.md).
inline constexpr int kWorkerProtocolVersion = 2;

// The error for a request naming a session this web node does not have (it restarted, or the
// worker registered again since): the worker registers again and retries under its new session.
// Answered as `404 {"error": "unknown session"}`.
Status UnknownSession(const std::string& session);
bool IsUnknownSession(const Status& status);

struct WorkerRegistration {
  std::string name;
  std::string platform = "linux";
  std::vector<std::string> tags;
  std::string team;  // "" = any team's work
  int capacity = 0;
  std::string version;  // the worker's baton version
  std::string hostname;
  std::string isolation;  // "namespaces" or "none"
  // The steps the worker still runs or holds the result of, by id: a web node that restarted
  // (or a session that ended) hands them back to this session instead of erroring them.
  std::vector<std::string> held;
};

// What a session's worker is doing now, as its heartbeat reports.
struct WorkerActivity {
  int active_containers = 0;
  int active_tasks = 0;
};

class WorkerRegistry {
 public:
  // `reserved_name`: the web node's own worker ("" when it has none).
  WorkerRegistry(runner::AccessStore& store, std::chrono::milliseconds heartbeat_every,
                 std::string reserved_name);

  // A new session for `worker` (replacing any previous one of that name). kInvalidArgument for
  // a bad name, kAlreadyExists for the reserved name.
  Result<std::string> Register(const WorkerRegistration& worker);
  // Records a heartbeat; returns the worker's state ("running", ...). kNotFound when the
  // session is unknown (the web node restarted, or the name registered again): register again.
  Result<std::string> Heartbeat(const std::string& session, const WorkerActivity& activity);
  // Ends the session. The record of a worker that was landing stays, saying "landed" (it may come
  // back with its caches, as on Concourse); any other worker's record is removed.
  Status Deregister(const std::string& session);

  // Ends the sessions whose worker sent nothing for heartbeat_timeout() (it died, or its machine
  // or network did): their records say "stalled" and their running steps error, naming the
  // worker. Returns the workers' names.
  std::vector<std::string> ExpireSilent(std::chrono::steady_clock::time_point now);
  // `baton land-worker`: the worker takes no new steps, finishes its running ones (stopping
  // those of interruptible jobs) and then leaves (its heartbeat answer says "landing"); its
  // record stays as "landed". kNotFound when no such worker is connected.
  Status Land(const std::string& name);
  // `baton retire-worker`: as Land, but the worker leaves for good: its record is removed once
  // it has gone (its heartbeat answer says "retiring").
  Status Retire(const std::string& name);
  // `baton prune-worker`: forgets the record of a worker that is not connected (stalled or
  // landed). kFailedPrecondition for a connected one, kNotFound for an unknown name.
  Status Prune(const std::string& name);

  // A worker silent this long has its session ended: three heartbeats missed.
  std::chrono::milliseconds heartbeat_timeout() const { return heartbeat_every_ * 3; }

  std::chrono::milliseconds heartbeat_every() const { return heartbeat_every_; }

  // Where sessions' steps are dispatched (told of each session's start and end); may be null.
  // REQUIRES: called before the first Register.
  void SetDispatch(RemoteWorkers* steps) { steps_ = steps; }

 private:
  struct Session {
    WorkerRegistration worker;
    std::string started_at;
    WorkerActivity activity;
    std::string state = "running";
    SystemTime last_heartbeat;
    std::chrono::steady_clock::time_point last_seen = std::chrono::steady_clock::now();
  };
  Status Save(const Session& session);
  // Land and Retire: the session's state becomes `state` ("landing", "retiring").
  Status Drain(const std::string& name, const std::string& state);

  runner::AccessStore& store_;
  const std::chrono::milliseconds heartbeat_every_;
  const std::string reserved_name_;
  RemoteWorkers* steps_ = nullptr;
  std::mutex mu_;
  std::map<std::string, Session> sessions_;     // by session id; GUARDED_BY(mu_)
  std::map<std::string, std::string> by_name_;  // worker name -> session id; GUARDED_BY(mu_)
};

}  // namespace baton::webapi
