// WebStepRunner: the poll loop and the life of each step on the worker side of protocol v2.
#include "baton/workers/web_step_runner.h"

#include <algorithm>
#include <atomic>
#include <future>

#include "baton/common/logging.h"
#include "baton/net/http_client.h"
#include "baton/workers/step_wire.h"
#include "baton/workers/volume_stream.h"
#include "remote/output_batcher.h"
#include "remote/step_volumes.h"

namespace baton::workers {

// One step on this worker: its link to the web node and the local worker's handle.
class WebStepRunner::Step {
 public:
  Step(const WebStepRunnerOptions& options, std::shared_ptr<HeldVolumes> held,
       StepSessions sessions, std::string session, wire::Step step)
      : options_(options),
        held_(std::move(held)),
        step_(std::move(step)),
        link_(options, std::move(sessions), std::move(session), step_.id) {}

  // The step has run; its result waits for the web node to take it.
  bool finished() const { return finished_; }

  // Runs the whole step on the calling thread.
  void Run() {
    auto dirs = FetchVolumes();
    Json result;
    Json changed = Json::array();
    if (!dirs.ok()) {
      result = ErrorResult(dirs.status());
    } else {
      auto batcher = std::make_shared<OutputBatcher>(
          [this](const Json& lines) { return link_.SendOutput(lines); });
      result = RunHere(*dirs, batcher);
      batcher->Close();
      auto sent = SendChangedVolumes(*dirs);
      if (sent.ok()) changed = *sent;
      if (!sent.ok()) result = ErrorResult(sent.status());
    }
    finished_ = true;
    Status reported = link_.SendResult(result, changed);
    if (!reported.ok()) Event("could not report step " + step_.id + ": " + reported.ToString());
  }

  void Cancel(Duration grace) {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    if (handle_) handle_->Cancel(grace);
  }

 private:
  Json ErrorResult(const Status& error) const {
    if (step_.kind == wire::Step::Kind::kTask) {
      TaskResult r;
      r.error = error;
      return wire::ToJson(r);
    }
    ResourceResult r;
    r.error = error;
    return wire::ToJson(r);
  }

  Result<std::vector<std::string>> FetchVolumes() {
    std::vector<std::string> dirs(step_.volumes.size());
    for (const auto& v : step_.volumes) {
      if (v.index < 0 || v.index >= static_cast<int>(dirs.size())) {
        return InvalidArgument("the web node sent a step with a bad volume index");
      }
      BATON_ASSIGN_OR_RETURN(dirs[v.index], held_->Fetch(v, link_));
    }
    return dirs;
  }

  static Result<std::string> Local(const std::string& ref, const std::vector<std::string>& dirs) {
    auto index = wire::VolumeIndex(ref);
    if (!index) return ref;  // not a volume (a path inside the sandbox, or empty)
    if (*index >= static_cast<int>(dirs.size())) {
      return InvalidArgument("the web node sent a step naming a volume it did not list");
    }
    return dirs[*index];
  }

  Json RunHere(const std::vector<std::string>& dirs, std::shared_ptr<OutputBatcher> sink) {
    std::promise<Json> done;
    auto finished = done.get_future();
    std::unique_ptr<StepHandle> handle;
    if (step_.kind == wire::Step::Kind::kTask) {
      auto run = LocalTask(dirs);
      if (!run.ok()) return ErrorResult(run.status());
      handle = options_.worker->RunTask(*run, sink,
                                        [&done](TaskResult r) { done.set_value(wire::ToJson(r)); });
    } else {
      auto run = LocalResource(dirs);
      if (!run.ok()) return ErrorResult(run.status());
      handle = options_.worker->RunResource(
          *run, sink, [&done](ResourceResult r) { done.set_value(wire::ToJson(r)); });
    }
    {
      std::lock_guard lock(mu_);
      handle_ = std::move(handle);
      if (cancelled_) handle_->Cancel(std::chrono::seconds(10));
    }
    Json result = finished.get();
    std::lock_guard lock(mu_);
    handle_.reset();
    return result;
  }

  Result<TaskRun> LocalTask(const std::vector<std::string>& dirs) const {
    TaskRun run = step_.task;
    BATON_ASSIGN_OR_RETURN(run.work_dir, Local(run.work_dir, dirs));
    for (auto& m : run.mounts) {
      BATON_ASSIGN_OR_RETURN(m.host_path, Local(m.host_path, dirs));
    }
    if (run.rootfs.kind == RootfsSpec::Kind::kDirectory) {
      BATON_ASSIGN_OR_RETURN(run.rootfs.path, Local(run.rootfs.path, dirs));
    }
    return run;
  }

  Result<ResourceRun> LocalResource(const std::vector<std::string>& dirs) const {
    ResourceRun run = step_.resource;
    BATON_ASSIGN_OR_RETURN(run.dir, Local(run.dir, dirs));
    if (run.custom_type_rootfs && run.custom_type_rootfs->kind == RootfsSpec::Kind::kDirectory) {
      BATON_ASSIGN_OR_RETURN(run.custom_type_rootfs->path,
                             Local(run.custom_type_rootfs->path, dirs));
    }
    if (run.action == ResourceRun::Action::kPut) {
      BATON_ASSIGN_OR_RETURN(run.dir, held_->PutDirectory(step_, dirs));
    }
    return run;
  }

  // The writable volumes whose digest changed, sent back: [{"index", "digest"}].
  Result<Json> SendChangedVolumes(const std::vector<std::string>& dirs) {
    Json changed = Json::array();
    for (const auto& v : step_.volumes) {
      if (!v.writable) continue;
      BATON_ASSIGN_OR_RETURN(auto digest, VolumeDigest(dirs[v.index]));
      if (digest == v.digest) continue;
      BATON_RETURN_IF_ERROR(held_->Send(v, dirs[v.index], digest, link_));
      changed.push_back(Json{{"index", v.index}, {"digest", digest}});
    }
    return changed;
  }

  void Event(const std::string& text) const {
    if (options_.on_event) options_.on_event(text);
  }

  const WebStepRunnerOptions& options_;
  std::shared_ptr<HeldVolumes> held_;
  const wire::Step step_;
  StepLink link_;
  std::atomic<bool> finished_{false};
  std::mutex mu_;
  std::unique_ptr<StepHandle> handle_;  // GUARDED_BY(mu_)
  bool cancelled_ = false;              // GUARDED_BY(mu_)
};

WebStepRunner::WebStepRunner(WebStepRunnerOptions options)
    : options_(std::move(options)), held_(std::make_shared<HeldVolumes>(options_.work_dir)) {}

WebStepRunner::~WebStepRunner() {
  Stop();
  std::map<std::string, Running> running;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, r] : running_) r.step->Cancel(std::chrono::seconds(0));
    running.swap(running_);
  }
  for (auto& [id, r] : running) r.thread.join();
}

void WebStepRunner::SetSession(const std::string& session) {
  std::lock_guard lock(mu_);
  session_ = session;
  changed_.notify_all();
}

void WebStepRunner::Stop() {
  std::lock_guard lock(mu_);
  stopped_ = true;
  changed_.notify_all();
}

int WebStepRunner::active_steps() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(running_.size() - finished_.size());
}

Json WebStepRunner::Steps() const {
  Json running = Json::array(), finished = Json::array();
  std::lock_guard lock(mu_);
  for (const auto& [id, r] : running_) {
    if (std::find(finished_.begin(), finished_.end(), id) != finished_.end()) continue;
    (r.step->finished() ? finished : running).push_back(id);
  }
  return Json{{"running", std::move(running)}, {"finished", std::move(finished)}};
}

std::string WebStepRunner::AwaitSession(const std::string& stale,
                                        std::chrono::steady_clock::time_point until) {
  std::unique_lock lock(mu_);
  changed_.wait_until(lock, until,
                      [&] { return stopped_ || (!session_.empty() && session_ != stale); });
  if (stopped_ || session_.empty() || session_ == stale) return "";
  return session_;
}

std::string WebStepRunner::WaitForSession() {
  std::unique_lock lock(mu_);
  changed_.wait(lock, [&] { return stopped_ || !session_.empty(); });
  return stopped_ ? "" : session_;
}

void WebStepRunner::Run() {
  net::ClientOptions client_options;
  client_options.ca_file = options_.ca_file;
  client_options.insecure_skip_verify = options_.insecure_skip_verify;
  client_options.request_timeout = options_.poll_wait + std::chrono::seconds(15);
  net::HttpClient client(client_options);
  net::Headers headers;
  headers.Set("Authorization", "Bearer " + options_.key);
  while (true) {
    Reap();
    std::string session = WaitForSession();
    if (session.empty()) return;
    Json body = {{"session", session}, {"wait_ms", options_.poll_wait.count()}};
    auto reply = client.Post(options_.web_url + "/worker/v2/work", body.dump(), headers);
    if (!reply.ok() || reply->status != 200) {
      // The web node is gone or forgot the session: WebConnection registers again and sets the
      // new session; wait a little instead of spinning.
      {
        std::unique_lock lock(mu_);
        if (session_ == session && reply.ok() && reply->status == 404) session_.clear();
        changed_.wait_for(lock, std::chrono::seconds(1), [&] { return stopped_; });
      }
      continue;
    }
    Json answer = Json::parse(reply->body, nullptr, false);
    if (!answer.is_object()) continue;
    for (const auto& step : answer.value("steps", Json::array())) StartStep(session, step);
    for (const auto& cancel : answer.value("cancel", Json::array())) {
      CancelStep(cancel.value("id", ""),
                 std::chrono::milliseconds(cancel.value("grace_ms", int64_t{10'000})));
    }
  }
}

void WebStepRunner::StartStep(const std::string& session, const Json& json) {
  auto step = wire::StepFromJson(json);
  if (!step.ok()) {
    if (options_.on_event) options_.on_event("refused a step: " + step.status().ToString());
    return;
  }
  std::string id = step->id;
  if (options_.on_event) {
    options_.on_event("running step " + id + " (" +
                      (step->kind == wire::Step::Kind::kTask ? step->task.id : step->resource.id) +
                      ")");
  }
  StepSessions sessions;
  sessions.await = [this](const std::string& stale, std::chrono::steady_clock::time_point until) {
    return AwaitSession(stale, until);
  };
  sessions.stopped = [this] {
    std::lock_guard lock(mu_);
    return stopped_;
  };
  auto running =
      std::make_shared<Step>(options_, held_, std::move(sessions), session, std::move(*step));
  std::lock_guard lock(mu_);
  if (running_.count(id)) {  // the web node gave it again: the one running here goes on
    if (options_.on_event) options_.on_event("step " + id + " is running here already");
    return;
  }
  running_[id].step = running;
  running_[id].thread = std::thread([this, running, id] {
    running->Run();
    std::lock_guard lock(mu_);
    finished_.push_back(id);
  });
}

void WebStepRunner::CancelStep(const std::string& id, Duration grace) {
  std::lock_guard lock(mu_);
  auto found = running_.find(id);
  if (found == running_.end()) return;
  if (options_.on_event) {
    options_.on_event(
        "stopping step " + id + ": the web node cancelled it (SIGTERM, SIGKILL after " +
        std::to_string(std::chrono::duration_cast<std::chrono::seconds>(grace).count()) + " s)");
  }
  found->second.step->Cancel(grace);
}

void WebStepRunner::Reap() {
  std::vector<std::thread> done;
  {
    std::lock_guard lock(mu_);
    for (const auto& id : finished_) {
      auto found = running_.find(id);
      if (found == running_.end()) continue;
      done.push_back(std::move(found->second.thread));
      running_.erase(found);
    }
    finished_.clear();
  }
  for (auto& t : done) t.join();
}

}  // namespace baton::workers
