// RemoteWorkers: steps in, placed on worker sessions, taken by their long polls, finished by
// their reports. Volume work (digests, packing, unpacking) is in remote_worker_volumes.cpp.
#include "runtime/remote_workers.h"

#include <boost/asio/post.hpp>

#include <fmt/format.h>

#include "baton/common/logging.h"
#include "baton/webapi/worker_placement.h"
#include "baton/workers/resource_type.h"
#include "baton/workers/volume_stream.h"
#include "runtime/remote_workers_impl.h"

namespace baton::webapi {

namespace asio = boost::asio;
namespace fs = std::filesystem;
namespace wire = workers::wire;

namespace {

// How long an interrupted step's process has after SIGTERM on its landing or retiring worker.
constexpr int64_t kInterruptGraceMs = 10'000;

// Cancels through the Impl, which may be gone by then.
class RemoteStepHandle final : public workers::StepHandle {
 public:
  RemoteStepHandle(std::weak_ptr<RemoteWorkers::Impl> impl, std::string id)
      : impl_(std::move(impl)), id_(std::move(id)) {}
  void Cancel(Duration grace) override {
    if (auto impl = impl_.lock()) impl->Cancel(id_, grace);
  }

 private:
  std::weak_ptr<RemoteWorkers::Impl> impl_;
  std::string id_;
};

class FlagHandle final : public workers::StepHandle {
 public:
  explicit FlagHandle(std::shared_ptr<std::atomic<bool>> flag) : flag_(std::move(flag)) {}
  void Cancel(Duration) override { *flag_ = true; }

 private:
  std::shared_ptr<std::atomic<bool>> flag_;
};

// Volume references: each distinct web node directory of a step becomes volume N ("vol:N").
class VolumeTable {
 public:
  explicit VolumeTable(Dispatch& d) : d_(d) {}
  std::string Ref(const std::string& path, bool writable) {
    for (size_t i = 0; i < d_.paths.size(); ++i) {
      if (d_.paths[i] == path) {
        d_.step.volumes[i].writable = d_.step.volumes[i].writable || writable;
        return wire::VolumeRef(static_cast<int>(i));
      }
    }
    int index = static_cast<int>(d_.paths.size());
    d_.paths.push_back(path);
    d_.step.volumes.push_back({index, path, "", writable});
    return wire::VolumeRef(index);
  }

 private:
  Dispatch& d_;
};

void SayWaiting(const std::shared_ptr<workers::OutputSink>& sink, const std::string& why) {
  sink->OnLine(std::chrono::system_clock::now(), workers::OutputStream::kSystem,
               "waiting for a worker: " + why);
}

}  // namespace

// --- RemoteWorkers -------------------------------------------------------------------------

RemoteWorkers::RemoteWorkers(RemoteWorkersOptions options)
    : impl_(std::make_shared<Impl>(std::move(options))) {
  impl_->StartSweeping();
}
RemoteWorkers::~RemoteWorkers() = default;

std::unique_ptr<workers::StepHandle> RemoteWorkers::RunTask(
    const workers::TaskRun& run, std::shared_ptr<workers::OutputSink> output,
    std::function<void(workers::TaskResult)> done) {
  auto d = std::make_shared<Dispatch>();
  d->id = impl_->IdFor(run.id);
  d->step.id = d->id;
  d->step.kind = wire::Step::Kind::kTask;
  d->step.task = run;
  d->sink = std::move(output);
  d->task_done = std::move(done);
  VolumeTable volumes(*d);
  workers::TaskRun& task = d->step.task;
  task.work_dir = volumes.Ref(run.work_dir, true);
  for (auto& mount : task.mounts) mount.host_path = volumes.Ref(mount.host_path, mount.writable);
  if (task.rootfs.kind == workers::RootfsSpec::Kind::kDirectory) {
    task.rootfs.path = volumes.Ref(task.rootfs.path, false);
  }
  impl_->Submit(d);
  return std::make_unique<RemoteStepHandle>(impl_, d->id);
}

std::unique_ptr<workers::StepHandle> RemoteWorkers::RunResource(
    const workers::ResourceRun& run, std::shared_ptr<workers::OutputSink> output,
    std::function<void(workers::ResourceResult)> done) {
  if (run.type == "artifact" && !run.custom_type_rootfs) {
    auto cancelled = std::make_shared<std::atomic<bool>>(false);
    impl_->RunArtifactHere(run, std::move(output), std::move(done), cancelled);
    return std::make_unique<FlagHandle>(cancelled);
  }
  auto d = std::make_shared<Dispatch>();
  d->id = impl_->IdFor(run.id);
  d->step.id = d->id;
  d->step.kind = wire::Step::Kind::kResource;
  d->step.resource = run;
  d->sink = std::move(output);
  d->resource_done = std::move(done);
  VolumeTable volumes(*d);
  workers::ResourceRun& resource = d->step.resource;
  if (run.action == workers::ResourceRun::Action::kGet) {
    resource.dir = volumes.Ref(run.dir, true);
  } else if (run.action == workers::ResourceRun::Action::kPut) {
    // The put's directory links each artifact name to its volume: send the volumes.
    std::error_code ec;
    for (fs::directory_iterator it(run.dir, ec), end; !ec && it != end; it.increment(ec)) {
      fs::path target = fs::read_symlink(it->path(), ec);
      std::string path = ec ? it->path().string() : target.string();
      ec.clear();
      int index = *wire::VolumeIndex(volumes.Ref(path, false));
      d->step.put_inputs.push_back({it->path().filename().string(), index});
    }
    resource.dir.clear();
  }
  if (resource.custom_type_rootfs &&
      resource.custom_type_rootfs->kind == workers::RootfsSpec::Kind::kDirectory) {
    resource.custom_type_rootfs->path = volumes.Ref(resource.custom_type_rootfs->path, false);
  }
  impl_->Submit(d);
  return std::make_unique<RemoteStepHandle>(impl_, d->id);
}

void RemoteWorkers::SessionStarted(const std::string& session, const WorkerRegistration& worker) {
  impl_->SessionStarted(session, worker);
}
void RemoteWorkers::SessionEnded(const std::string& session, const std::string& why,
                                 const std::vector<std::string>& kept) {
  impl_->SessionEnded(session, why, kept);
}
void RemoteWorkers::SessionLanding(const std::string& session, const std::string& state) {
  impl_->SessionLanding(session, state);
}
void RemoteWorkers::TakeWork(const std::string& session, std::chrono::milliseconds wait,
                             JsonReply reply) {
  impl_->TakeWork(session, wait, std::move(reply));
}
void RemoteWorkers::AddOutput(const std::string& session, const std::string& step,
                              const Json& lines, StatusReply reply) {
  impl_->AddOutput(session, step, lines, std::move(reply));
}
void RemoteWorkers::ReadVolume(const std::string& session, const std::string& step, int index,
                               uint64_t offset, size_t max,
                               std::function<void(Result<Chunk>)> reply) {
  impl_->ReadVolume(session, step, index, offset, max, std::move(reply));
}
Status RemoteWorkers::WriteVolume(const std::string& session, const std::string& step, int index,
                                  uint64_t offset, std::string_view bytes) {
  return impl_->WriteVolume(session, step, index, offset, bytes);
}
void RemoteWorkers::Finish(const std::string& session, const std::string& step, const Json& report,
                           StatusReply reply) {
  impl_->Finish(session, step, report, std::move(reply));
}

// --- Impl: steps and sessions ----------------------------------------------------------------

RemoteWorkers::Impl::Impl(RemoteWorkersOptions options)
    : options_(std::move(options)), pool_(std::max(1, options_.threads)) {
  std::error_code ec;
  fs::remove_all(options_.spool_dir, ec);
  fs::create_directories(options_.spool_dir, ec);
  id_prefix_ = "s" +
               std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count()) +
               "-";
  LoadRecords();
}

RemoteWorkers::Impl::~Impl() {
  Later later;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (sweep_) sweep_->cancel();
    for (auto& [id, session] : sessions_) {
      if (session.poll) later.Add([poll = std::move(session.poll)] { poll(Json::object()); });
      session.poll_timer.reset();
    }
    auto all = dispatches_;
    for (auto& [id, d] : all) Fail(d, Unavailable("the web node stopped"), later);
  }
  later.Run();
  pool_.join();
}

std::string RemoteWorkers::Impl::NextId() { return id_prefix_ + std::to_string(next_id_++); }

void RemoteWorkers::Impl::Submit(std::shared_ptr<Dispatch> d) {
  Later adopted;
  bool adopting = false;
  {
    std::lock_guard lock(mu_);
    dispatches_[d->id] = d;
    // A step a worker took before this web node restarted goes on there: not placed again.
    adopting = Adopt(d, adopted);
  }
  adopted.Run();
  if (adopting) return;
  // Digests read every file of every volume: never on the caller's (the executor's) thread.
  asio::post(pool_, [self = shared_from_this(), d] {
    Status digested;
    for (auto& volume : d->step.volumes) {
      auto digest = workers::VolumeDigest(d->paths[volume.index]);
      if (!digest.ok()) {
        digested = digest.status();
        break;
      }
      volume.digest = *digest;
    }
    Later later;
    {
      std::lock_guard lock(self->mu_);
      if (!self->dispatches_.count(d->id)) return;  // cancelled meanwhile
      if (!digested.ok()) {
        self->Fail(d, digested, later);
      } else {
        self->unplaced_.push_back(d->id);
        self->Place(later);
      }
    }
    later.Run();
  });
}

void RemoteWorkers::Impl::Place(Later& later) {
  std::deque<std::string> still;
  for (const std::string& id : unplaced_) {
    auto found = dispatches_.find(id);
    if (found == dispatches_.end()) continue;
    std::shared_ptr<Dispatch> d = found->second;
    const workers::WorkerSpec& spec = d->Spec();
    std::vector<std::string> names;
    std::vector<PlacementCandidate> candidates = Candidates(*d, names);
    std::optional<size_t> chosen = ChooseWorker(candidates, spec);
    if (!chosen) {
      still.push_back(id);
      // Said again when the reason changes (a worker landed, another registered).
      std::string why = WhyNoWorker(candidates, spec);
      if (why != d->said_why) {
        d->said_why = why;
        later.Add([sink = d->sink, why] { SayWaiting(sink, why); });
      }
      continue;
    }
    Session& best = sessions_.at(names[*chosen]);
    d->session = names[*chosen];
    // As Concourse's step log does: which worker runs the step.
    later.Add([sink = d->sink, name = best.worker.name] {
      sink->OnLine(std::chrono::system_clock::now(), workers::OutputStream::kSystem,
                   "selected worker: " + name);
    });
    best.last_given = ++placements_;
    best.queue.push_back(id);
    best.steps.insert(id);
    Wake(best, later);
  }
  unplaced_ = std::move(still);
}

std::vector<PlacementCandidate> RemoteWorkers::Impl::Candidates(
    const Dispatch& d, std::vector<std::string>& names) const {
  std::vector<PlacementCandidate> out;
  out.reserve(sessions_.size());
  for (const auto& [session_id, s] : sessions_) {
    PlacementCandidate c;
    c.name = s.worker.name;
    c.tags = s.worker.tags;
    c.team = s.worker.team;
    c.capacity = s.worker.capacity;
    c.running = static_cast<int>(s.steps.size());
    c.landing = s.landing;
    c.last_given = s.last_given;
    for (const auto& volume : d.step.volumes) {
      auto held = s.held.find(volume.key);
      c.volumes_held += held != s.held.end() && held->second == volume.digest ? 1 : 0;
    }
    out.push_back(std::move(c));
    names.push_back(session_id);
  }
  return out;
}

void RemoteWorkers::Impl::Wake(Session& session, Later& later) {
  if (!session.poll || (session.queue.empty() && session.cancels.empty())) return;
  Json answer = TakeAnswer(session);
  later.Add([poll = std::move(session.poll), answer = std::move(answer)] { poll(answer); });
  session.poll = nullptr;
  session.poll_timer.reset();
}

Json RemoteWorkers::Impl::TakeAnswer(Session& session) {
  Json steps = Json::array();
  for (const std::string& id : session.queue) {
    auto found = dispatches_.find(id);
    if (found == dispatches_.end()) continue;
    found->second->taken = true;
    WriteRecord(*found->second, session.worker.name);
    // The worker fetches what it lacks before running the step: then it holds all of them.
    for (const auto& volume : found->second->step.volumes) Hold(session, volume.key, volume.digest);
    steps.push_back(wire::ToJson(found->second->step));
  }
  session.queue.clear();
  Json answer = {{"steps", std::move(steps)}, {"cancel", std::move(session.cancels)}};
  session.cancels = Json::array();
  return answer;
}

void RemoteWorkers::Impl::Hold(Session& session, const std::string& key,
                               const std::string& digest) {
  // Locality is a preference: past this many keys (old builds' volumes), start over.
  constexpr size_t kMaxHeld = 4096;
  if (session.held.size() >= kMaxHeld && !session.held.count(key)) session.held.clear();
  session.held[key] = digest;
}

void RemoteWorkers::Impl::SessionStarted(const std::string& session,
                                         const WorkerRegistration& worker) {
  Later later;
  {
    std::lock_guard lock(mu_);
    sessions_[session].worker = worker;
    AdoptReported(session, later);
    Place(later);
  }
  later.Run();
}

void RemoteWorkers::Impl::SessionEnded(const std::string& session, const std::string& why,
                                       const std::vector<std::string>& kept) {
  Later later;
  {
    std::lock_guard lock(mu_);
    auto found = sessions_.find(session);
    if (found == sessions_.end()) return;
    Session s = std::move(found->second);
    sessions_.erase(found);
    if (s.poll) {
      later.Add([poll = std::move(s.poll), session] { poll(UnknownSession(session)); });
    }
    std::deque<std::string> again;
    for (const std::string& id : s.steps) {
      auto found = dispatches_.find(id);
      if (found == dispatches_.end()) continue;
      std::shared_ptr<Dispatch> d = found->second;  // a copy: Fail erases the map's
      if (d->taken && std::find(kept.begin(), kept.end(), id) != kept.end()) {
        // The worker registered again still holding it: its new session adopts it.
        d->session.clear();
        d->taken = false;
        d->awaiting = s.worker.name;
        d->await_until = std::chrono::steady_clock::now() + options_.reconnect_grace;
      } else if (d->taken) {
        Fail(d, Unavailable("worker " + s.worker.name + " " + why + " while running this step"),
             later);
      } else {
        d->session.clear();
        again.push_back(id);  // never reached the worker: another may take it
      }
    }
    unplaced_.insert(unplaced_.begin(), again.begin(), again.end());
    std::erase_if(orphans_, [&](const auto& o) { return o.second.session == session; });
    Place(later);
  }
  later.Run();
}

void RemoteWorkers::Impl::SessionLanding(const std::string& session, const std::string& state) {
  Later later;
  {
    std::lock_guard lock(mu_);
    auto found = sessions_.find(session);
    if (found == sessions_.end()) return;
    Session& s = found->second;
    s.landing = true;
    for (const std::string& id : s.queue) {
      s.steps.erase(id);
      if (auto d = dispatches_.find(id); d != dispatches_.end()) d->second->session.clear();
    }
    unplaced_.insert(unplaced_.begin(), s.queue.begin(), s.queue.end());
    s.queue.clear();
    // Concourse's `interruptible: true`: the worker does not wait for the job's builds. Such a
    // step errors now (so `attempts:` can run it on another worker) and stops on the worker.
    std::vector<std::shared_ptr<Dispatch>> interrupted;
    for (const std::string& id : s.steps) {
      auto d = dispatches_.find(id);
      if (d != dispatches_.end() && d->second->taken && d->second->Spec().interruptible) {
        interrupted.push_back(d->second);
      }
    }
    for (auto& d : interrupted) {
      s.cancels.push_back({{"id", d->id}, {"grace_ms", kInterruptGraceMs}});
      Fail(d,
           Unavailable("worker " + s.worker.name + " is " + state +
                       " and the job is interruptible, so the worker did not wait for this step"),
           later);
    }
    if (!interrupted.empty()) Wake(s, later);
    Place(later);
  }
  later.Run();
}

void RemoteWorkers::Impl::TakeWork(const std::string& session, std::chrono::milliseconds wait,
                                   JsonReply reply) {
  Later later;
  {
    std::lock_guard lock(mu_);
    auto found = sessions_.find(session);
    if (found == sessions_.end() || stopping_) {
      later.Add([reply, session] { reply(UnknownSession(session)); });
    } else {
      Session& s = found->second;
      if (s.poll) later.Add([old = std::move(s.poll)] { old(Json::object()); });  // superseded
      s.poll = std::move(reply);
      uint64_t generation = ++s.poll_generation;
      s.poll_timer = std::make_unique<asio::steady_timer>(pool_, wait);
      s.poll_timer->async_wait([weak = weak_from_this(), session, generation](auto ec) {
        auto self = weak.lock();
        if (ec || !self) return;
        JsonReply poll;
        {
          std::lock_guard lock(self->mu_);
          auto it = self->sessions_.find(session);
          if (it == self->sessions_.end() || it->second.poll_generation != generation) return;
          poll = std::move(it->second.poll);
          it->second.poll = nullptr;
        }
        if (poll) poll(Json{{"steps", Json::array()}, {"cancel", Json::array()}});
      });
      Wake(s, later);
    }
  }
  later.Run();
}

Result<std::shared_ptr<Dispatch>> RemoteWorkers::Impl::Owned(const std::string& session,
                                                             const std::string& step) {
  if (!sessions_.count(session)) return UnknownSession(session);
  auto found = dispatches_.find(step);
  if (found != dispatches_.end() && found->second->session == session && found->second->taken) {
    return found->second;
  }
  if (auto orphan = orphans_.find(step);
      orphan != orphans_.end() && orphan->second.session == session) {
    return Unavailable("step " + step +
                       " is not adopted yet: the web node restarted and is resuming its build; "
                       "retry");
  }
  return NotFound("step " + step + " is not running on this worker session");
}

void RemoteWorkers::Impl::AddOutput(const std::string& session, const std::string& step,
                                    const Json& lines, StatusReply reply) {
  std::shared_ptr<workers::OutputSink> sink;
  {
    std::lock_guard lock(mu_);
    auto d = Owned(session, step);
    if (!d.ok()) return reply(d.status());
    sink = (*d)->sink;
  }
  auto parsed = wire::LinesFromJson(lines);
  if (!parsed.ok()) return reply(parsed.status());
  // The sink may wait for the build log to catch up: on the pool, and the worker's next batch
  // waits for this reply.
  asio::post(pool_, [sink, lines = std::move(*parsed), reply = std::move(reply)] {
    std::vector<workers::OutputLine> view;
    view.reserve(lines.size());
    for (const auto& l : lines) view.push_back({l.time, l.stream, l.text});
    sink->OnLines(view);
    reply(Status::Ok());
  });
}

void RemoteWorkers::Impl::Cancel(const std::string& id, Duration grace) {
  Later later;
  {
    std::lock_guard lock(mu_);
    auto found = dispatches_.find(id);
    if (found == dispatches_.end()) return;
    std::shared_ptr<Dispatch> d = found->second;
    auto session = sessions_.find(d->session);
    if (!d->taken || session == sessions_.end()) {
      Fail(d, Cancelled("the step was cancelled before a worker took it"), later);
    } else {
      session->second.cancels.push_back(
          {{"id", id},
           {"grace_ms", std::chrono::duration_cast<std::chrono::milliseconds>(grace).count()}});
      Wake(session->second, later);
    }
  }
  later.Run();
}

void RemoteWorkers::Impl::Fail(std::shared_ptr<Dispatch> d, Status error, Later& later) {
  Forget(*d);
  if (d->task_done) {
    workers::TaskResult result;
    result.error = std::move(error);
    later.Add([done = std::move(d->task_done), result] { done(result); });
  } else if (d->resource_done) {
    workers::ResourceResult result;
    result.error = std::move(error);
    later.Add([done = std::move(d->resource_done), result] { done(result); });
  }
  auto uploads = d->uploads;
  later.Add([self = shared_from_this(), d, uploads] {
    self->RemoveSpools(*d, uploads);
    self->RemoveRecord(d->id);
  });
}

void RemoteWorkers::Impl::Forget(const Dispatch& d) {
  dispatches_.erase(d.id);
  auto session = sessions_.find(d.session);
  if (session != sessions_.end()) {
    session->second.steps.erase(d.id);
    auto& q = session->second.queue;
    q.erase(std::remove(q.begin(), q.end(), d.id), q.end());
  }
  unplaced_.erase(std::remove(unplaced_.begin(), unplaced_.end(), d.id), unplaced_.end());
}

void RemoteWorkers::Impl::Finish(const std::string& session, const std::string& step,
                                 const Json& report, StatusReply reply) {
  std::shared_ptr<Dispatch> d;
  {
    std::lock_guard lock(mu_);
    auto owned = Owned(session, step);
    if (!owned.ok()) return reply(owned.status());
    d = *owned;
    // The worker keeps the volumes it sends back (at their new digests) as well.
    auto s = sessions_.find(session);
    for (const auto& v : report.value("volumes", Json::array())) {
      if (s == sessions_.end()) break;
      int index = v.is_object() ? v.value("index", -1) : -1;
      if (index >= 0 && index < static_cast<int>(d->step.volumes.size()) &&
          v.value("digest", Json()).is_string()) {
        Hold(s->second, d->step.volumes[index].key, v["digest"].get<std::string>());
      }
    }
    Forget(*d);  // its done runs once the volumes are in place, below
    Later later;
    Place(later);  // the worker has room again
    // Placing only queues steps and answers polls: safe to run after unlocking below.
    asio::post(pool_, [later = std::move(later)]() mutable { later.Run(); });
  }
  asio::post(pool_, [self = shared_from_this(), d, report, reply = std::move(reply)] {
    self->Complete(d, report, reply);
  });
}

void RemoteWorkers::Impl::Complete(std::shared_ptr<Dispatch> d, Json report, StatusReply reply) {
  std::map<int, std::string> uploads;
  {
    std::lock_guard lock(mu_);
    uploads = d->uploads;
  }
  Status unpacked = UnpackUploads(*d, report.value("volumes", Json::array()), uploads);
  RemoveSpools(*d, uploads);
  Json result = report.value("result", Json::object());
  if (d->task_done) {
    auto parsed = wire::TaskResultFromJson(result);
    workers::TaskResult r = parsed.ok() ? *parsed : workers::TaskResult{};
    if (!parsed.ok()) r.error = parsed.status();
    if (!unpacked.ok()) r.error = unpacked;
    d->task_done(std::move(r));
  } else if (d->resource_done) {
    auto parsed = wire::ResourceResultFromJson(result);
    workers::ResourceResult r = parsed.ok() ? *parsed : workers::ResourceResult{};
    if (!parsed.ok()) r.error = parsed.status();
    if (!unpacked.ok()) r.error = unpacked;
    d->resource_done(std::move(r));
  }
  RemoveRecord(d->id);  // after `done`: a restart before it finds the step still running
  reply(Status::Ok());
}

}  // namespace baton::webapi
