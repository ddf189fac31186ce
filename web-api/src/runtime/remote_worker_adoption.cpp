// RemoteWorkers across restarts: the records of which worker took which step, the steps a
// registering worker reports holding, and adopting them for the builds a restarted web node
// resumes (remote_workers.h, "Restarts").
#include <boost/asio/post.hpp>

#include <fstream>

#include "baton/common/logging.h"
#include "runtime/remote_workers_impl.h"

namespace baton::webapi {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;

namespace {

// Ids the engine makes for a build's steps (b<build>-<step>-a<action>): safe as file names.
bool Adoptable(const std::string& id) {
  if (id.size() < 2 || id.size() > 200 || id[0] != 'b') return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') {
      return false;
    }
  }
  return true;
}

void Say(const std::shared_ptr<workers::OutputSink>& sink, const std::string& line) {
  sink->OnLine(std::chrono::system_clock::now(), workers::OutputStream::kSystem, line);
}

std::string Seconds(std::chrono::milliseconds d) {
  return std::to_string((d.count() + 999) / 1000) + " s";
}

}  // namespace

std::string RemoteWorkers::Impl::IdFor(const std::string& run_id) {
  if (Adoptable(run_id)) {
    std::lock_guard lock(mu_);
    if (!dispatches_.count(run_id)) return run_id;
  }
  return NextId();
}

void RemoteWorkers::Impl::LoadRecords() {
  if (options_.records_dir.empty()) return;
  std::error_code ec;
  fs::create_directories(options_.records_dir, ec);
  auto until = SteadyClock::now() + options_.reconnect_grace;
  std::lock_guard lock(mu_);
  for (fs::directory_iterator it(options_.records_dir, ec), end; !ec && it != end;
       it.increment(ec)) {
    std::string id = it->path().filename().string();
    std::ifstream in(it->path());
    std::string worker;
    std::getline(in, worker);
    if (Adoptable(id) && !worker.empty()) expected_[id] = {worker, until};
  }
  if (!expected_.empty()) {
    ModuleLogger("web")->info("{} step(s) were running on workers when this web node stopped",
                              expected_.size());
  }
}

void RemoteWorkers::Impl::StartSweeping() {
  std::lock_guard lock(mu_);
  ArmSweep();
}

void RemoteWorkers::Impl::WriteRecord(const Dispatch& d, const std::string& worker) {
  if (options_.records_dir.empty() || !Adoptable(d.id)) return;
  std::ofstream(options_.records_dir / d.id, std::ios::trunc) << worker << "\n";
}

void RemoteWorkers::Impl::RemoveRecord(const std::string& id) {
  if (options_.records_dir.empty() || !Adoptable(id)) return;
  std::error_code ec;
  fs::remove(options_.records_dir / id, ec);
}

void RemoteWorkers::Impl::Attach(Dispatch& d, const std::string& session, Later& later) {
  Session& s = sessions_.at(session);
  d.session = session;
  d.taken = true;
  d.awaiting.clear();
  s.steps.insert(d.id);
  WriteRecord(d, s.worker.name);
  later.Add([sink = d.sink, name = s.worker.name] {
    Say(sink, "worker " + name + " still holds this step: it goes on there");
  });
}

bool RemoteWorkers::Impl::Adopt(const std::shared_ptr<Dispatch>& d, Later& later) {
  if (auto orphan = orphans_.find(d->id); orphan != orphans_.end()) {
    std::string session = orphan->second.session;
    orphans_.erase(orphan);
    expected_.erase(d->id);
    if (sessions_.count(session)) {
      Attach(*d, session, later);
      return true;
    }
  }
  auto expected = expected_.find(d->id);
  if (expected == expected_.end()) return false;
  d->awaiting = expected->second.worker;
  d->await_until = expected->second.until;
  expected_.erase(expected);
  later.Add([sink = d->sink, name = d->awaiting,
             wait = std::chrono::duration_cast<std::chrono::milliseconds>(d->await_until -
                                                                          SteadyClock::now())] {
    Say(sink, "the web node restarted while worker " + name + " ran this step; waiting up to " +
                  Seconds(wait) + " for " + name + " to register again");
  });
  return true;
}

void RemoteWorkers::Impl::AdoptReported(const std::string& session, Later& later) {
  const WorkerRegistration& worker = sessions_.at(session).worker;
  std::set<std::string> held(worker.held.begin(), worker.held.end());
  auto until = SteadyClock::now() + options_.reconnect_grace;
  for (const std::string& id : held) {
    auto found = dispatches_.find(id);
    if (found == dispatches_.end()) {
      // Its build has not asked for it yet (it is being resumed): claimed when it does.
      if (Adoptable(id)) orphans_[id] = {session, until};
    } else if (found->second->awaiting == worker.name) {
      Attach(*found->second, session, later);
    }
  }
  // The steps this worker ran that it no longer holds: it restarted and lost them.
  std::vector<std::shared_ptr<Dispatch>> lost;
  for (const auto& [id, d] : dispatches_) {
    if (d->awaiting == worker.name && !held.count(id)) lost.push_back(d);
  }
  for (auto& d : lost) {
    Fail(d,
         Unavailable("worker " + worker.name +
                     " registered again without this step (it restarted and lost it)"),
         later);
  }
}

void RemoteWorkers::Impl::ArmSweep() {
  if (stopping_) return;
  sweep_ = std::make_unique<asio::steady_timer>(pool_, std::chrono::seconds(1));
  sweep_->async_wait([weak = weak_from_this()](auto ec) {
    if (auto self = weak.lock(); self && !ec) self->Sweep();
  });
}

void RemoteWorkers::Impl::Sweep() {
  Later later;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    auto now = SteadyClock::now();
    std::vector<std::shared_ptr<Dispatch>> gone;
    for (const auto& [id, d] : dispatches_) {
      if (!d->awaiting.empty() && now >= d->await_until) gone.push_back(d);
    }
    for (auto& d : gone) {
      Fail(d,
           Unavailable(
               "worker " + d->awaiting + " ran this step but did not register again within " +
               Seconds(options_.reconnect_grace) + " (it stopped, or cannot reach this web node)"),
           later);
    }
    // Reported steps no build claimed (their build was not resumed): the worker drops them.
    for (auto it = orphans_.begin(); it != orphans_.end();) {
      if (now < it->second.until) {
        ++it;
        continue;
      }
      if (auto s = sessions_.find(it->second.session); s != sessions_.end()) {
        s->second.cancels.push_back({{"id", it->first}, {"grace_ms", 0}});
        Wake(s->second, later);
      }
      it = orphans_.erase(it);
    }
    for (auto it = expected_.begin(); it != expected_.end();) {
      if (now < it->second.until) {
        ++it;
        continue;
      }
      RemoveRecord(it->first);
      it = expected_.erase(it);
    }
    ArmSweep();
  }
  later.Run();
}

}  // namespace baton::webapi
