#include "baton/runner/build_engine.h"

#include "engine/engine_state.h"

namespace baton::runner {

BuildPlan BuildPlan::ForJob(const pipelines::PipelineConfig& pipeline, const pipelines::Job& job) {
  BuildPlan plan;
  plan.steps = job.plan;
  plan.on_success = job.on_success;
  plan.on_failure = job.on_failure;
  plan.on_error = job.on_error;
  plan.on_abort = job.on_abort;
  plan.ensure = job.ensure;
  plan.resources = pipeline.resources;
  plan.resource_types = pipeline.resource_types;
  plan.var_sources = pipeline.var_sources;
  plan.pipeline_file = pipeline.file;
  return plan;
}

BuildPlan BuildPlan::ForTask(const std::string& name, pipelines::TaskConfig config,
                             std::map<std::string, std::string> inputs) {
  pipelines::TaskStep task;
  task.name = name;
  task.config = std::move(config);
  pipelines::Step step;
  step.body = std::move(task);
  step.path = "task";
  BuildPlan plan;
  plan.steps.push_back(std::move(step));
  plan.initial_artifacts = std::move(inputs);
  return plan;
}

BuildEngine::BuildEngine(BuildPlan plan) : state_(std::make_unique<State>(std::move(plan))) {}
BuildEngine::~BuildEngine() = default;

std::vector<BuildAction> BuildEngine::Start() {
  state_->Start();
  return state_->TakeActions();
}

std::vector<BuildAction> BuildEngine::OnActionFinished(ActionId id, const ActionResult& result) {
  state_->ActionFinished(id, result);
  return state_->TakeActions();
}

std::vector<BuildAction> BuildEngine::OnTimerFired(TimerId id) {
  state_->TimerFired(id);
  return state_->TakeActions();
}

std::vector<BuildAction> BuildEngine::Abort() {
  state_->Abort();
  return state_->TakeActions();
}

BuildStatus BuildEngine::status() const { return state_->status(); }

std::map<std::string, Volume> BuildEngine::artifacts() const {
  std::map<std::string, Volume> out;
  for (const auto& [name, artifact] : state_->artifacts()) out[name] = artifact.volume;
  return out;
}

size_t BuildEngine::running_actions() const { return state_->running_actions(); }

const std::vector<pipelines::ResourceType>& BuildEngine::resource_types() const {
  return state_->plan().resource_types;
}

}  // namespace baton::runner
