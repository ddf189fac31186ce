#include "fakes/scripted_worker.h"

#include "baton/common/clock.h"

namespace baton::testing {

using workers::OutputSink;
using workers::ResourceResult;
using workers::ResourceRun;
using workers::TaskResult;
using workers::TaskRun;

struct ScriptedWorker::Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool hold = false;
  bool released = false;
  bool cancelled = false;

  // Returns true if the step was cancelled while held.
  bool Wait() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return !hold || released || cancelled; });
    return hold && cancelled && !released;
  }
  void Open(bool cancel) {
    std::lock_guard lock(mu);
    (cancel ? cancelled : released) = true;
    cv.notify_all();
  }
};

class ScriptedWorker::Handle : public workers::StepHandle {
 public:
  Handle(ScriptedWorker* worker, std::string id, std::shared_ptr<Gate> gate)
      : worker_(worker), id_(std::move(id)), gate_(std::move(gate)) {}
  void Cancel(Duration) override {
    {
      std::lock_guard lock(worker_->mu_);
      worker_->cancelled_.push_back(id_);
    }
    gate_->Open(/*cancel=*/true);
  }

 private:
  ScriptedWorker* worker_;
  std::string id_;
  std::shared_ptr<Gate> gate_;
};

namespace {

template <typename Script>
Script PopScript(std::deque<Script>& queue) {
  if (queue.size() > 1) {
    Script s = std::move(queue.front());
    queue.pop_front();
    return s;
  }
  return queue.front();  // the last one repeats
}

void WriteLines(OutputSink& sink, const std::vector<ScriptedLine>& lines) {
  for (const auto& line : lines) sink.OnLine(RealClock().Now(), line.stream, line.text);
}

ResourceResult DefaultResourceResult(const ResourceRun& run) {
  ResourceResult r;
  switch (run.action) {
    case ResourceRun::Action::kCheck:
      break;
    case ResourceRun::Action::kGet:
      r.version = run.version;
      break;
    case ResourceRun::Action::kPut:
      r.version = Json{{"ref", "put-" + run.id}};
      break;
  }
  return r;
}

}  // namespace

ScriptedWorker::ScriptedWorker(std::string name, workers::IsolationLevel isolation)
    : name_(std::move(name)), isolation_(isolation) {}

ScriptedWorker::~ScriptedWorker() {
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, gate] : gates_) gate->Open(/*cancel=*/true);
    threads.swap(threads_);
  }
  // Threads started while joining (a callback starting another step) are joined too.
  while (!threads.empty()) {
    for (auto& t : threads) t.join();
    threads.clear();
    std::lock_guard lock(mu_);
    for (auto& [id, gate] : gates_) gate->Open(/*cancel=*/true);
    threads.swap(threads_);
  }
}

void ScriptedWorker::OnTask(const std::string& key, TaskScript script) {
  std::lock_guard lock(mu_);
  task_scripts_[key].push_back(std::move(script));
}

void ScriptedWorker::OnTaskMatching(std::function<bool(const TaskRun&)> match, TaskScript script) {
  std::lock_guard lock(mu_);
  task_matchers_.push_back({std::move(match), std::deque<TaskScript>{std::move(script)}});
}

void ScriptedWorker::OnResource(const std::string& key, ResourceScript script) {
  std::lock_guard lock(mu_);
  resource_scripts_[key].push_back(std::move(script));
}

bool ScriptedWorker::Release(const std::string& id) {
  std::shared_ptr<Gate> gate;
  {
    std::lock_guard lock(mu_);
    auto it = gates_.find(id);
    if (it == gates_.end() || !it->second->hold) return false;
    gate = it->second;
  }
  gate->Open(/*cancel=*/false);
  return true;
}

std::vector<TaskRun> ScriptedWorker::task_runs() const {
  std::lock_guard lock(mu_);
  return task_runs_;
}

std::vector<ResourceRun> ScriptedWorker::resource_runs() const {
  std::lock_guard lock(mu_);
  return resource_runs_;
}

std::vector<std::string> ScriptedWorker::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

int ScriptedWorker::in_flight() const {
  std::lock_guard lock(mu_);
  return in_flight_;
}

bool ScriptedWorker::WaitForTasks(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return task_runs_.size() >= n; });
}

bool ScriptedWorker::WaitForResources(size_t n, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return resource_runs_.size() >= n; });
}

bool ScriptedWorker::WaitIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return in_flight_ == 0; });
}

TaskScript ScriptedWorker::TakeTaskScript(const TaskRun& run) {
  // REQUIRES: mu_ held.
  if (auto it = task_scripts_.find(run.id); it != task_scripts_.end()) return PopScript(it->second);
  if (auto it = task_scripts_.find(run.path); it != task_scripts_.end()) {
    return PopScript(it->second);
  }
  for (auto& [match, scripts] : task_matchers_) {
    if (match(run)) return PopScript(scripts);
  }
  return TaskScript{};
}

ResourceScript ScriptedWorker::TakeResourceScript(const ResourceRun& run) {
  // REQUIRES: mu_ held.
  if (auto it = resource_scripts_.find(run.id); it != resource_scripts_.end()) {
    return PopScript(it->second);
  }
  if (auto it = resource_scripts_.find(run.type); it != resource_scripts_.end()) {
    return PopScript(it->second);
  }
  return ResourceScript{};
}

std::shared_ptr<ScriptedWorker::Gate> ScriptedWorker::NewGate(const std::string& id, bool hold) {
  // REQUIRES: mu_ held.
  auto gate = std::make_shared<Gate>();
  gate->hold = hold;
  gates_[id] = gate;
  ++in_flight_;
  return gate;
}

void ScriptedWorker::StartThread(std::function<void()> body) {
  // REQUIRES: mu_ held.
  threads_.emplace_back(std::move(body));
}

void ScriptedWorker::FinishStep() {
  std::lock_guard lock(mu_);
  --in_flight_;
  cv_.notify_all();
}

std::unique_ptr<workers::StepHandle> ScriptedWorker::RunTask(const TaskRun& run,
                                                             std::shared_ptr<OutputSink> output,
                                                             std::function<void(TaskResult)> done) {
  std::lock_guard lock(mu_);
  task_runs_.push_back(run);
  TaskScript script = TakeTaskScript(run);
  auto gate = NewGate(run.id, script.hold);
  cv_.notify_all();
  StartThread([this, run, output, done = std::move(done), script = std::move(script), gate] {
    WriteLines(*output, script.lines);
    TaskResult result = script.result;
    if (gate->Wait()) {
      result = script.cancelled_result;
    } else if (script.handler) {
      result = script.handler(run, *output);
    }
    done(std::move(result));
    FinishStep();
  });
  return std::make_unique<Handle>(this, run.id, gate);
}

std::unique_ptr<workers::StepHandle> ScriptedWorker::RunResource(
    const ResourceRun& run, std::shared_ptr<OutputSink> output,
    std::function<void(ResourceResult)> done) {
  std::lock_guard lock(mu_);
  resource_runs_.push_back(run);
  ResourceScript script = TakeResourceScript(run);
  auto gate = NewGate(run.id, script.hold);
  cv_.notify_all();
  StartThread([this, run, output, done = std::move(done), script = std::move(script), gate] {
    WriteLines(*output, script.lines);
    ResourceResult result = script.result ? *script.result : DefaultResourceResult(run);
    if (gate->Wait()) {
      result = ResourceResult{};
      result.error = Cancelled("resource step " + run.id + " was cancelled");
    } else if (script.handler) {
      result = script.handler(run, *output);
    }
    done(std::move(result));
    FinishStep();
  });
  return std::make_unique<Handle>(this, run.id, gate);
}

}  // namespace baton::testing
