// Test helper for the build engine: loads a job from YAML, drives a BuildEngine by step name and
// records every action it returns.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "baton/pipelines/loader.h"
#include "baton/runner/build_engine.h"

namespace baton::runner::testing {

// The plan of job `job` in a pipeline written as YAML. Fails the test if it does not load.
inline BuildPlan PlanFromYaml(const std::string& yaml, const std::string& job = "job") {
  pipelines::LoadOptions options;
  pipelines::PipelineLoad load = pipelines::LoadPipeline(yaml, options);
  // Fixtures may declare resources some jobs do not use; every other error fails the test.
  for (const auto& d : load.diagnostics.items()) {
    bool unused = d.message.find("is not used") != std::string::npos;
    EXPECT_TRUE(d.severity != pipelines::Severity::kError || unused) << pipelines::Render(d, yaml);
  }
  if (!load.config) return {};
  const pipelines::Job* found = load.config->FindJob(job);
  EXPECT_NE(found, nullptr);
  if (found == nullptr) return {};
  return BuildPlan::ForJob(*load.config, *found);
}

// A task config block running `path` with `args`, for YAML fixtures.
inline std::string TaskConfig(const std::string& path, const std::string& extra = "") {
  return "{platform: linux, run: {path: " + path + "}" + extra + "}";
}

class EngineHarness {
 public:
  explicit EngineHarness(BuildPlan plan) : engine_(std::move(plan)) {}

  void Start() { Take(engine_.Start()); }
  void Abort() { Take(engine_.Abort()); }
  void FireTimer(TimerId id) {
    std::erase(timers_, id);
    Take(engine_.OnTimerFired(id));
  }
  // Fires the most recently started timer that is still pending.
  void FireLatestTimer() {
    ASSERT_FALSE(timers_.empty()) << "no pending timer";
    TimerId id = timers_.back();
    FireTimer(id);
  }

  // Reports the oldest running action of step `name`.
  void Finish(const std::string& name, const ActionResult& result) {
    auto it = FindRunning(name);
    ASSERT_NE(it, running_.end()) << "no running action for step " << name << "; log:\n" << Log();
    ActionId id = it->first;
    running_.erase(it);
    Take(engine_.OnActionFinished(id, result));
  }
  void Succeed(const std::string& name) { Finish(name, ActionResult::Succeeded()); }
  void Fail(const std::string& name, int code = 1) { Finish(name, ActionResult::Failed(code)); }
  void Error(const std::string& name, const std::string& message = "boom") {
    Finish(name, ActionResult::Errored(message));
  }
  void Content(const std::string& name, const std::string& content) {
    ActionResult r;
    r.content = content;
    Finish(name, r);
  }
  void Version(const std::string& name, Json version) {
    ActionResult r;
    r.version = std::move(version);
    Finish(name, r);
  }
  // Reports every cancelled action as killed (exit 143).
  void ReportCancelled() {
    for (ActionId id : std::vector<ActionId>(cancelled_)) {
      if (running_.erase(id) > 0) Take(engine_.OnActionFinished(id, ActionResult::Failed(143)));
    }
  }

  // Names of the steps with a running action, oldest first.
  std::vector<std::string> Running() const {
    std::vector<std::string> names;
    for (const auto& [id, name] : running_) names.push_back(name);
    return names;
  }
  bool IsRunning(const std::string& name) const { return FindRunning(name) != running_.end(); }

  // Describe() of every action so far, in order.
  const std::vector<std::string>& actions() const { return described_; }
  // Only the actions whose description starts with one of `prefixes`.
  std::vector<std::string> Filter(const std::vector<std::string>& prefixes) const {
    std::vector<std::string> out;
    for (const auto& d : described_) {
      for (const auto& p : prefixes) {
        if (d.rfind(p, 0) == 0) {
          out.push_back(d);
          break;
        }
      }
    }
    return out;
  }
  // The step names of run-task actions, in order.
  std::vector<std::string> TasksRun() const {
    std::vector<std::string> out;
    for (const auto& t : tasks_) out.push_back(t.step.name);
    return out;
  }
  const std::vector<RunTask>& tasks() const { return tasks_; }
  const std::vector<RunGet>& gets() const { return gets_; }
  const std::vector<RunPut>& puts() const { return puts_; }
  const std::vector<LoadFile>& loads() const { return loads_; }
  const std::vector<StepFinished>& finished_steps() const { return finished_steps_; }
  const std::vector<std::string>& logs() const { return logs_; }
  const std::vector<std::string>& redacted() const { return redacted_; }
  const std::vector<ActionId>& cancelled() const { return cancelled_; }
  const std::vector<SetPipeline>& set_pipelines() const { return set_pipelines_; }
  const std::vector<TimerId>& timers() const { return timers_; }
  std::map<TimerId, Duration> timer_durations() const { return timer_durations_; }

  BuildStatus status() const { return engine_.status(); }
  BuildEngine& engine() { return engine_; }
  int build_finished_count() const { return build_finished_; }
  std::string Log() const {
    std::string out;
    for (const auto& d : described_) out += "  " + d + "\n";
    return out;
  }
  // The StepFinished of the last run of step `name`.
  StepFinished LastFinished(const std::string& name) const {
    for (auto it = finished_steps_.rbegin(); it != finished_steps_.rend(); ++it) {
      if (it->step.name == name) return *it;
    }
    ADD_FAILURE() << "step " << name << " never finished";
    return {};
  }

 private:
  std::map<ActionId, std::string>::const_iterator FindRunning(const std::string& name) const {
    for (auto it = running_.begin(); it != running_.end(); ++it) {
      if (it->second == name) return it;
    }
    return running_.end();
  }
  std::map<ActionId, std::string>::iterator FindRunning(const std::string& name) {
    for (auto it = running_.begin(); it != running_.end(); ++it) {
      if (it->second == name) return it;
    }
    return running_.end();
  }

  template <typename A>
  void Track(const A& a) {
    running_[a.id] = a.step.name;
  }

  void Take(const std::vector<BuildAction>& actions) {
    for (const auto& a : actions) {
      described_.push_back(Describe(a));
      if (auto* t = std::get_if<RunTask>(&a)) tasks_.push_back(*t), Track(*t);
      if (auto* g = std::get_if<RunGet>(&a)) gets_.push_back(*g), Track(*g);
      if (auto* p = std::get_if<RunPut>(&a)) puts_.push_back(*p), Track(*p);
      if (auto* l = std::get_if<LoadFile>(&a)) loads_.push_back(*l), Track(*l);
      if (auto* s = std::get_if<SetPipeline>(&a)) set_pipelines_.push_back(*s), Track(*s);
      if (auto* f = std::get_if<StepFinished>(&a)) finished_steps_.push_back(*f);
      if (auto* l = std::get_if<StepLog>(&a)) logs_.push_back(l->step.name + ": " + l->line);
      if (auto* c = std::get_if<CancelAction>(&a)) cancelled_.push_back(c->id);
      if (auto* r = std::get_if<RedactSecrets>(&a)) {
        redacted_.insert(redacted_.end(), r->values.begin(), r->values.end());
      }
      if (auto* t = std::get_if<StartTimer>(&a)) {
        timers_.push_back(t->id);
        timer_durations_[t->id] = t->duration;
      }
      if (auto* t = std::get_if<CancelTimer>(&a)) std::erase(timers_, t->id);
      if (std::holds_alternative<BuildFinished>(a)) ++build_finished_;
    }
  }

  BuildEngine engine_;
  std::map<ActionId, std::string> running_;
  std::vector<std::string> described_;
  std::vector<RunTask> tasks_;
  std::vector<RunGet> gets_;
  std::vector<RunPut> puts_;
  std::vector<LoadFile> loads_;
  std::vector<SetPipeline> set_pipelines_;
  std::vector<StepFinished> finished_steps_;
  std::vector<std::string> logs_;
  std::vector<std::string> redacted_;
  std::vector<ActionId> cancelled_;
  std::vector<TimerId> timers_;
  std::map<TimerId, Duration> timer_durations_;
  int build_finished_ = 0;
};

}  // namespace baton::runner::testing
