// Scheduler: several web nodes on one database. Every node keeps every pipeline loaded to answer
// commands; only the leader (the holder of the scheduler's lease) checks and starts builds. A
// node that is not the leader saves triggers and reruns pending and announces them; the leader
// adopts what is pending in the store, so a build is started once, by one node.
#include <algorithm>
#include <set>

#include "baton/common/logging.h"
#include "scheduler_impl.h"

namespace baton::runner {

void Scheduler::Impl::SetLeader(bool leader, const std::string& orphan_message) {
  if (leader == leader_) return;
  leader_ = leader;
  auto log = ModuleLogger("runner");
  if (!leader) {
    log->warn("this node no longer schedules (another node holds the scheduler's lease)");
    for (auto& [id, state] : pipelines_) {
      StopChecks(*state);
      state->pending.clear();  // they stay pending in the store for the next leader
    }
    for (auto& [id, run] : running_) run->executor->Abort();
    return;
  }
  log->info("this node schedules now: it checks resources and starts builds");
  SettleOrphans(orphan_message.empty() ? "the web node running this build stopped; trigger it "
                                         "again"
                                       : orphan_message);
  for (auto& [id, state] : pipelines_) {
    if (Status s = ReloadHistory(*state); !s.ok()) {
      log->error("pipeline {}: {}", state->record.name, s.ToString());
      continue;
    }
    if (options_.periodic_checks) {
      for (const auto& resource : state->config.resources) Check(*state, resource.name, nullptr);
    }
    AdoptPending(*state);
    for (const auto& job : state->config.jobs) ApplyRetention(*state, job);
    ScheduleAll(*state);
  }
}

void Scheduler::Impl::SettleOrphans(const std::string& message) {
  BuildQuery query;
  query.statuses = {BuildStatus::kStarted};
  query.limit = 10000;
  auto started = stores_.builds.ListBuilds(query);
  if (!started.ok()) {
    ModuleLogger("runner")->error("cannot list the builds a stopped node left: {}",
                                  started.status().ToString());
    return;
  }
  for (const Build& build : *started) {
    if (running_.count(build.id)) continue;
    // Readers of the log learn why it stopped.
    BuildEvent event;
    event.type = "error";
    event.payload = Json{{"message", message}}.dump();
    (void)stores_.events.AppendEvents(build.id, {event});
    auto finished = stores_.builds.FinishBuild(build.id, BuildStatus::kErrored, message);
    if (finished.ok()) {
      ModuleLogger("runner")->warn("build {} ({}/{} #{}) errored: {}", build.id, build.pipeline,
                                   build.job, build.name, message);
    }
  }
}

void Scheduler::Impl::Queue(PipelineState& state, const Build& build) {
  if (running_.count(build.id)) return;
  auto& queue = state.pending[build.job];
  for (const auto& [queued, plan] : queue) {
    if (queued.id == build.id) return;
  }
  const pipelines::Job* job = state.config.FindJob(build.job);
  Result<InputPlan> plan = FailedPrecondition("the pipeline has no job `" + build.job + "` now");
  if (job) {
    auto inputs = stores_.builds.ListBuildInputs(build.id);
    plan = inputs.ok() ? PlanFromInputs(*job, build, *inputs) : Result<InputPlan>(inputs.status());
  }
  if (!plan.ok()) {
    (void)stores_.builds.FinishBuild(build.id, BuildStatus::kErrored, plan.status().message());
    return;
  }
  for (const auto& in : plan->inputs) {
    state.snapshot.used_inputs[build.job][in.name].insert(in.version_id);
  }
  queue.emplace_back(build, std::move(*plan));
  std::sort(queue.begin(), queue.end(),
            [](const auto& a, const auto& b) { return a.first.id < b.first.id; });
}

void Scheduler::Impl::AdoptPending(PipelineState& state) {
  BuildQuery query;
  query.pipeline_id = state.record.id;
  query.statuses = {BuildStatus::kPending};
  query.limit = 1000;
  auto pending = stores_.builds.ListBuilds(query);
  if (!pending.ok()) {
    ModuleLogger("runner")->error("pipeline {}: cannot read its pending builds: {}",
                                  state.record.name, pending.status().ToString());
    return;
  }
  for (const Build& build : *pending) {
    if (!build.one_off()) Queue(state, build);
  }
  ScheduleAll(state);
}

void Scheduler::Impl::AdoptBuild(PipelineState& state, Id build_id) {
  auto build = stores_.builds.GetBuild(build_id);
  if (!build.ok()) {
    ModuleLogger("runner")->error("pipeline {}: cannot read build {} another node queued: {}",
                                  state.record.name, build_id, build.status().ToString());
    return;
  }
  // Started or finished meanwhile (a rerun aborted, an earlier Resync adopted it): nothing to do.
  if (build->status != BuildStatus::kPending || build->one_off() ||
      build->pipeline_id != state.record.id) {
    return;
  }
  Queue(state, *build);
  TrySchedule(state, build->job);
}

Status Scheduler::Impl::ReloadInputsOf(PipelineState& state, const pipelines::Job& job) {
  std::set<std::string> resources, jobs = {job.name};
  for (const JobInput& input : JobInputs(job)) {
    resources.insert(input.resource);
    jobs.insert(input.passed.begin(), input.passed.end());
  }
  if (!resources.empty()) {  // their pins and ids as the store has them now
    BATON_ASSIGN_OR_RETURN(auto records, stores_.pipelines.ListResources(state.record.id));
    for (auto& r : records) {
      if (r.active && resources.count(r.name)) state.resources[r.name] = std::move(r);
    }
  }
  for (const std::string& name : resources) {
    if (state.resources.count(name)) BATON_RETURN_IF_ERROR(LoadVersions(state, name));
  }
  for (const std::string& name : jobs) {
    if (state.jobs.count(name)) BATON_RETURN_IF_ERROR(LoadJobBuilds(state, name));
  }
  return Status::Ok();
}

Status Scheduler::Impl::ReloadHistory(PipelineState& state) {
  const Id id = state.record.id;
  BATON_ASSIGN_OR_RETURN(state.record, stores_.pipelines.GetPipelineById(id));
  BATON_ASSIGN_OR_RETURN(auto resources, stores_.pipelines.ListResources(id));
  state.resources.clear();
  for (auto& r : resources) {
    if (r.active) state.resources[r.name] = r;
  }
  BATON_ASSIGN_OR_RETURN(auto jobs, stores_.pipelines.ListJobs(id));
  state.jobs.clear();
  for (auto& j : jobs) {
    if (j.active) state.jobs[j.name] = j;
  }
  state.snapshot = PlannerSnapshot{};
  return LoadHistory(state);
}

Result<bool> Scheduler::Impl::RereadState(PipelineState& state, PipelineRecord record) {
  BATON_ASSIGN_OR_RETURN(auto jobs, stores_.pipelines.ListJobs(record.id));
  BATON_ASSIGN_OR_RETURN(auto resources, stores_.pipelines.ListResources(record.id));
  bool may_start = state.record.paused && !record.paused;
  state.record = std::move(record);
  for (auto& j : jobs) {
    if (!j.active) continue;
    auto known = state.jobs.find(j.name);
    may_start |= known != state.jobs.end() && known->second.paused && !j.paused;
    state.jobs[j.name] = std::move(j);
  }
  for (auto& r : resources) {
    if (!r.active) continue;
    auto known = state.resources.find(r.name);
    may_start |=
        known != state.resources.end() && known->second.pinned_version_id != r.pinned_version_id;
    if (r.pinned_version_id) {
      state.snapshot.pins[r.name] = r.pinned_version_id;
    } else {
      state.snapshot.pins.erase(r.name);
    }
    state.resources[r.name] = std::move(r);
  }
  return may_start;
}

void Scheduler::Impl::StopChecks(PipelineState& state) {
  state.check_timers.clear();  // cancels them
  CheckWaiters waiting = TakeChecks(state);
  for (auto& [resource, dones] : waiting) {
    for (auto& done : dones) {
      if (done) {
        done(Unavailable("the check of `" + resource +
                         "` stopped: this node no longer schedules; check again"));
      }
    }
  }
}

void Scheduler::Impl::Resync() {
  auto log = ModuleLogger("runner");
  auto teams = stores_.pipelines.ListTeams();
  if (!teams.ok()) {
    log->warn("cannot read the pipelines to catch up with other nodes: {}",
              teams.status().ToString());
    return;
  }
  // Job pauses and pins cost two queries per pipeline (4,000 a poll for two nodes with 1,000
  // pipelines: most of their idle CPU and PostgreSQL's): read them once a minute, not every poll.
  const SteadyTime now = clock_->SteadyNow();
  const bool deep = !last_deep_resync_ || now - *last_deep_resync_ >= kDeepResyncEvery;
  if (deep) last_deep_resync_ = now;
  std::set<Id> seen;
  for (const auto& team : *teams) {
    auto list = stores_.pipelines.ListPipelines(team.name);
    if (!list.ok()) continue;
    for (const PipelineRecord& record : *list) {
      seen.insert(record.id);
      PipelineState* state = Find(record.id);
      if (!state || state->record.config_version != record.config_version) {
        if (Status s = Activate(record.id); !s.ok()) {
          log->error("pipeline {}: {}", record.name, s.ToString());
        }
        continue;
      }
      if (!deep) {
        const bool unpaused = state->record.paused && !record.paused;
        state->record = record;
        if (unpaused) ScheduleAll(*state);
        continue;
      }
      // What a missed notification (paused, public, job-paused, pin) would have said.
      auto changed = RereadState(*state, record);
      if (!changed.ok()) {
        log->warn("pipeline {}: cannot catch up with other nodes: {}", record.name,
                  changed.status().ToString());
      } else if (*changed) {
        ScheduleAll(*state);
      }
    }
  }
  std::vector<Id> gone;
  for (const auto& [id, state] : pipelines_) {
    if (!seen.count(id)) gone.push_back(id);
  }
  for (Id id : gone) Deactivate(id);
  if (!leader_) return;
  // One query for every pipeline's pending builds, not one per pipeline.
  BuildQuery query;
  query.statuses = {BuildStatus::kPending};
  query.limit = 1000;
  auto pending = stores_.builds.ListBuilds(query);
  if (!pending.ok()) return;
  std::set<Id> touched;
  for (const Build& build : *pending) {
    PipelineState* state = build.one_off() ? nullptr : Find(build.pipeline_id);
    if (!state) continue;
    Queue(*state, build);
    touched.insert(build.pipeline_id);
  }
  for (Id id : touched) ScheduleAll(*Find(id));
}

}  // namespace baton::runner
