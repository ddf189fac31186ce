#include "worker_endpoint/worker_registry.h"

#include <fmt/ranges.h>

#include <cctype>

#include "baton/common/clock.h"
#include "baton/common/logging.h"
#include "baton/webapi/auth.h"
#include "runtime/remote_workers.h"

namespace baton::webapi {

namespace {

// Names appear in URLs, logs and tables: keep them to what reads well everywhere.
Status CheckName(const std::string& name) {
  if (name.empty() || name.size() > 63) {
    return InvalidArgument("a worker name must have 1 to 63 characters, got '" + name + "'");
  }
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return InvalidArgument("worker name '" + name +
                             "' may use only letters, digits, '-', '_' and '.'; pick another "
                             "--name");
    }
  }
  return Status::Ok();
}

constexpr std::string_view kUnknownSession = "unknown worker session ";

}  // namespace

Status UnknownSession(const std::string& session) {
  return NotFound(std::string(kUnknownSession) + session +
                  " (the web node restarted, or the worker registered again); register again");
}

bool IsUnknownSession(const Status& status) {
  return status.code() == StatusCode::kNotFound && status.message().starts_with(kUnknownSession);
}

WorkerRegistry::WorkerRegistry(runner::AccessStore& store,
                               std::chrono::milliseconds heartbeat_every, std::string reserved_name)
    : store_(store), heartbeat_every_(heartbeat_every), reserved_name_(std::move(reserved_name)) {}

Result<std::string> WorkerRegistry::Register(const WorkerRegistration& worker) {
  BATON_RETURN_IF_ERROR(CheckName(worker.name));
  if (!reserved_name_.empty() && worker.name == reserved_name_) {
    return AlreadyExists("worker name '" + worker.name +
                         "' is the web node's own worker; start the worker with another --name");
  }
  BATON_ASSIGN_OR_RETURN(std::string id, GenerateToken(16));
  std::string ended;
  {
    std::lock_guard lock(mu_);
    if (auto old = by_name_.find(worker.name); old != by_name_.end()) {
      ModuleLogger("web")->warn("worker {} registered again; its previous session ends",
                                worker.name);
      ended = old->second;
      sessions_.erase(old->second);
    }
    Session session;
    session.worker = worker;
    session.last_heartbeat = RealClock().Now();
    session.started_at = FormatRfc3339(session.last_heartbeat);
    BATON_RETURN_IF_ERROR(Save(session));
    sessions_[id] = std::move(session);
    by_name_[worker.name] = id;
  }
  if (steps_ && !ended.empty()) steps_->SessionEnded(ended, "registered again", worker.held);
  if (steps_) steps_->SessionStarted(id, worker);
  ModuleLogger("web")->info("worker {} registered (tags [{}], team '{}')", worker.name,
                            fmt::join(worker.tags, ", "), worker.team);
  return id;
}

Result<std::string> WorkerRegistry::Heartbeat(const std::string& session,
                                              const WorkerActivity& activity) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(session);
  if (it == sessions_.end()) {
    return UnknownSession(session);
  }
  it->second.activity = activity;
  it->second.last_heartbeat = RealClock().Now();
  it->second.last_seen = std::chrono::steady_clock::now();
  BATON_RETURN_IF_ERROR(Save(it->second));
  return it->second.state;
}

std::vector<std::string> WorkerRegistry::ExpireSilent(std::chrono::steady_clock::time_point now) {
  std::vector<std::pair<std::string, std::string>> ended;  // session, name
  {
    std::lock_guard lock(mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (now - it->second.last_seen < heartbeat_timeout()) {
        ++it;
        continue;
      }
      it->second.state = "stalled";
      Status saved = Save(it->second);
      if (!saved.ok()) ModuleLogger("web")->error("worker record: {}", saved.ToString());
      ended.emplace_back(it->first, it->second.worker.name);
      by_name_.erase(it->second.worker.name);
      it = sessions_.erase(it);
    }
  }
  std::vector<std::string> names;
  const std::string why =
      fmt::format("stopped heartbeating (no heartbeat for {} s)",
                  std::chrono::duration_cast<std::chrono::seconds>(heartbeat_timeout()).count());
  for (const auto& [session, name] : ended) {
    ModuleLogger("web")->warn("worker {} {}; its running steps error", name, why);
    if (steps_) steps_->SessionEnded(session, why);
    names.push_back(name);
  }
  return names;
}

Status WorkerRegistry::Land(const std::string& name) { return Drain(name, "landing"); }

Status WorkerRegistry::Retire(const std::string& name) { return Drain(name, "retiring"); }

Status WorkerRegistry::Drain(const std::string& name, const std::string& state) {
  std::string session;
  {
    std::lock_guard lock(mu_);
    auto found = by_name_.find(name);
    if (found == by_name_.end()) {
      return NotFound("no worker named " + name +
                      " is connected to this web node (`baton workers` lists them)");
    }
    session = found->second;
    Session& s = sessions_[session];
    // A retiring worker stays retiring: landing it now would keep a record it was told to drop.
    if (s.state == "retiring" && state == "landing") {
      return FailedPrecondition("worker " + name + " is retiring already; it leaves for good");
    }
    s.state = state;
    BATON_RETURN_IF_ERROR(Save(s));
  }
  ModuleLogger("web")->info("worker {} is {}", name, state);
  if (steps_) steps_->SessionLanding(session, state);
  return Status::Ok();
}

Status WorkerRegistry::Prune(const std::string& name) {
  std::lock_guard lock(mu_);
  if (by_name_.count(name) || (!reserved_name_.empty() && name == reserved_name_)) {
    return FailedPrecondition("worker " + name +
                              " is connected; land it first (`baton land-worker -w " + name +
                              "`), or stop it; only a stalled or landed worker can be pruned");
  }
  BATON_ASSIGN_OR_RETURN(auto records, store_.ListWorkers());
  for (const auto& r : records) {
    if (r.name == name) return store_.DeleteWorker(name);
  }
  return NotFound("no worker named " + name + " (`baton workers` lists them)");
}

Status WorkerRegistry::Deregister(const std::string& session) {
  std::string name;
  std::optional<Session> landed;
  {
    std::lock_guard lock(mu_);
    auto it = sessions_.find(session);
    if (it == sessions_.end()) {
      return NotFound("no worker session " + session + " on this web node");
    }
    name = it->second.worker.name;
    if (it->second.state == "landing") {
      landed = std::move(it->second);
      landed->state = "landed";
      landed->activity = {};
    }
    sessions_.erase(it);
    by_name_.erase(name);
  }
  ModuleLogger("web")->info("worker {} {}", name, landed ? "landed" : "deregistered");
  if (steps_) steps_->SessionEnded(session, landed ? "landed" : "deregistered (it stopped)");
  std::lock_guard lock(mu_);
  if (landed) return Save(*landed);
  return store_.DeleteWorker(name);
}

Status WorkerRegistry::Save(const Session& session) {
  const WorkerRegistration& w = session.worker;
  runner::WorkerRecord record;
  record.name = w.name;
  record.platform = w.platform;
  record.tags = w.tags;
  record.capacity = w.capacity;
  record.state = session.state;
  record.last_heartbeat = session.last_heartbeat;
  record.info = {{"version", w.version},
                 {"hostname", w.hostname},
                 {"team", w.team},
                 {"isolation", w.isolation},
                 {"remote", true},
                 {"started_at", session.started_at},
                 {"heartbeat_every_ms", heartbeat_every_.count()},
                 {"active_tasks", session.activity.active_tasks},
                 {"active_containers", session.activity.active_containers},
                 {"last_heartbeat", FormatRfc3339(record.last_heartbeat)}};
  return store_.SaveWorker(record);
}

}  // namespace baton::webapi
