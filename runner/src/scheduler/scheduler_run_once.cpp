// Scheduler: `baton run` — check once, then run the selected jobs once each in DAG order.
#include <algorithm>

#include "scheduler_impl.h"

namespace baton::runner {

void Scheduler::Impl::RunOnce(Id pipeline_id, std::vector<std::string> jobs, int parallel,
                              std::function<void(std::vector<JobOutcome>)> done) {
  PipelineState* state = Find(pipeline_id);
  if (!state) return done({});
  state->auto_trigger = false;
  run_once_ = std::make_unique<RunOnceState>();
  RunOnceState& run = *run_once_;
  run.pipeline_id = pipeline_id;
  run.parallel = std::max(1, parallel);
  run.done = std::move(done);
  run.selected.insert(jobs.begin(), jobs.end());
  if (run.selected.empty()) {
    for (const auto& j : state->config.jobs) run.selected.insert(j.name);
  }
  auto order = state->graph.TopologicalOrder();
  for (const auto& j : order ? *order : state->graph.jobs()) {
    if (run.selected.count(j)) run.order.push_back(j);
  }
  std::set<std::string> resources;
  for (const auto& name : run.order) {
    for (const auto& input : JobInputs(*state->config.FindJob(name))) {
      resources.insert(input.resource);
    }
  }
  run.checks_pending = static_cast<int>(resources.size()) + 1;
  auto check_done = [this](Result<int>) {
    if (run_once_ && --run_once_->checks_pending == 0) PumpRunOnce();
  };
  for (const auto& r : resources) Check(*state, r, check_done);
  check_done(0);  // the +1 above: pump even when there is nothing to check
}

void Scheduler::Impl::PumpRunOnce() {
  if (!run_once_) return;
  RunOnceState& run = *run_once_;
  PipelineState* state = Find(run.pipeline_id);
  if (!state) return;
  // The jobs before first_open have all started (or were skipped): each pump looked at every one
  // of them again, two set lookups a job, so a run of N jobs cost O(N^2) lookups (W3: 200).
  while (run.first_open < run.order.size() && run.outcomes.count(run.order[run.first_open])) {
    ++run.first_open;
  }
  for (size_t i = run.first_open; i < run.order.size(); ++i) {
    const std::string& name = run.order[i];
    if (run.finished.count(name) || run.outcomes.count(name)) continue;  // done or running
    if (run.running >= run.parallel) break;
    std::string blocked_by, failed_upstream;
    for (const auto& up : state->graph.Upstream(name)) {
      if (!run.selected.count(up)) continue;
      if (!run.finished.count(up)) blocked_by = up;
      auto o = run.outcomes.find(up);
      if (o != run.outcomes.end() &&
          (!o->second.build || o->second.build->status != BuildStatus::kSucceeded)) {
        failed_upstream = up;
      }
    }
    if (!blocked_by.empty()) continue;
    JobOutcome& outcome = run.outcomes[name];
    outcome.job = name;
    const pipelines::Job& job = *state->config.FindJob(name);
    InputPlan plan;
    if (failed_upstream.empty()) plan = ResolveInputs(state->config, job, state->snapshot);
    if (!failed_upstream.empty() || !plan.resolved) {
      outcome.skipped_reason = failed_upstream.empty()
                                   ? plan.waiting_reason
                                   : "upstream job `" + failed_upstream + "` did not succeed";
      run.finished.insert(name);
      continue;
    }
    auto build = CreateBuild(*state, job, plan, /*started=*/true);
    if (!build.ok()) {
      outcome.skipped_reason = build.status().ToString();
      run.finished.insert(name);
      continue;
    }
    ++run.running;
    auto on_done = [this, name](const Build& finished) {
      if (!run_once_) return;
      run_once_->outcomes[name].build = finished;
      run_once_->finished.insert(name);
      --run_once_->running;
      asio::post(io_, [this] { PumpRunOnce(); });
    };
    Launch(*state, std::move(*build), plan, std::move(on_done), /*resume=*/false);
  }
  FinishRunOnceIfDone();
}

void Scheduler::Impl::FinishRunOnceIfDone() {
  if (!run_once_ || run_once_->running > 0) return;
  if (run_once_->finished.size() < run_once_->order.size()) return;
  std::unique_ptr<RunOnceState> run = std::move(run_once_);
  std::vector<JobOutcome> outcomes;
  for (const auto& name : run->order) outcomes.push_back(run->outcomes[name]);
  run->done(std::move(outcomes));
}

}  // namespace baton::runner
