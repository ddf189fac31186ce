// Scheduler: deciding, creating, starting and finishing builds.
#include <filesystem>

#include "baton/common/logging.h"
#include "baton/runner/plan_json.h"
#include "scheduler_impl.h"

namespace baton::runner {

bool Scheduler::Impl::HasCapacity(const PipelineState& state, const pipelines::Job& job) const {
  if (options_.max_parallel_builds > 0 &&
      static_cast<int>(running_.size()) >= options_.max_parallel_builds) {
    return false;
  }
  int limit = job.EffectiveMaxInFlight();
  if (limit <= 0) return true;
  int in_flight = 0;
  for (const auto& [id, run] : running_) {
    if (run->pipeline_id != state.record.id) continue;
    if (run->job == job.name) {
      ++in_flight;
      continue;
    }
    // serial_groups: one build at a time across every job sharing a group.
    const pipelines::Job* other = state.config.FindJob(run->job);
    if (!other) continue;
    for (const auto& g : job.serial_groups) {
      for (const auto& og : other->serial_groups) {
        if (g == og) ++in_flight;
      }
    }
  }
  return in_flight < limit;
}

void Scheduler::Impl::TrySchedule(PipelineState& state, const std::string& job_name) {
  if (!leader_) return;  // another node starts builds
  const pipelines::Job* job = state.config.FindJob(job_name);
  auto record = state.jobs.find(job_name);
  if (!job || record == state.jobs.end()) return;
  if (state.record.paused || record->second.paused) return;
  if (!HasCapacity(state, *job)) return;
  // find, not []: a job's entry only once a build of it was queued, so that OnBuildFinished's
  // look at every queue does not grow with the pipeline's jobs (W3: 200 a build).
  auto queue = state.pending.find(job_name);
  if (queue != state.pending.end() && !queue->second.empty()) {  // manual triggers, oldest first
    auto [build, plan] = std::move(queue->second.front());
    queue->second.pop_front();
    StartBuild(state, std::move(build), plan);
    return;
  }
  if (!state.auto_trigger) return;
  InputPlan plan = ResolveInputs(state.config, *job, state.snapshot);
  if (!plan.should_trigger) return;
  auto build = CreateBuild(state, *job, plan, /*started=*/true);
  if (!build.ok()) {
    ModuleLogger("runner")->error("cannot create a build of {}/{}: {}", state.record.name, job_name,
                                  build.status().ToString());
    return;
  }
  Launch(state, std::move(*build), plan, {}, /*resume=*/false);
}

void Scheduler::Impl::ScheduleJobs(PipelineState& state, const std::vector<std::string>& jobs) {
  if (jobs.empty()) return;
  const bool idle = to_schedule_.empty();  // else a ScheduleNextQueued is posted already
  for (size_t i = 1; i < jobs.size(); ++i) to_schedule_.emplace_back(state.record.id, jobs[i]);
  if (idle) PostScheduleNext();
  TrySchedule(state, jobs.front());
}

void Scheduler::Impl::PostScheduleNext() {
  if (to_schedule_.empty()) return;
  std::weak_ptr<bool> alive = alive_;
  asio::post(io_, [this, alive] {
    if (alive.lock()) ScheduleNextQueued();
  });
}

void Scheduler::Impl::ScheduleNextQueued() {
  if (to_schedule_.empty()) return;
  auto [pipeline_id, job] = std::move(to_schedule_.front());
  to_schedule_.pop_front();
  PostScheduleNext();  // posted first: the steps posted meanwhile run before it
  // Looked up again: the pipeline may have gone or changed since (TrySchedule checks the rest).
  if (PipelineState* state = Find(pipeline_id)) TrySchedule(*state, job);
}

Result<Build> Scheduler::Impl::CreateBuild(PipelineState& state, const pipelines::Job& job,
                                           const InputPlan& plan, bool started) {
  const JobRecord& record = state.jobs.at(job.name);
  std::vector<BuildInput> inputs;
  for (const auto& in : plan.inputs) {
    BuildInput input;
    input.name = in.name;
    input.resource_version_id = in.version_id;
    inputs.push_back(std::move(input));
  }
  // One transaction: the build and the versions it uses (and its start: one write fewer on the
  // way from one build to the next).
  const Json job_plan = JobPlanJson(job);
  auto created = started ? stores_.builds.CreateStartedJobBuild(record.id, job_plan, inputs)
                         : stores_.builds.CreateJobBuildWithInputs(record.id, job_plan, inputs);
  BATON_ASSIGN_OR_RETURN(Build build, std::move(created));
  for (const auto& in : plan.inputs) {
    state.snapshot.used_inputs[job.name][in.name].insert(in.version_id);
  }
  return build;
}

void Scheduler::Impl::StartBuild(PipelineState& state, Build build, const InputPlan& plan,
                                 std::function<void(const Build&)> on_done) {
  // Claim it first: pending -> started is one transaction, so of two nodes that both believe
  // they schedule (a leader frozen past its lease), one starts it and the other lets it be.
  auto claimed = stores_.builds.StartBuild(build.id);
  if (!claimed.ok()) {
    ModuleLogger("runner")->warn("not starting build {} of {}/{}: {}", build.id, state.record.name,
                                 build.job, claimed.status().ToString());
    if (on_done) on_done(build);
    return;
  }
  Launch(state, std::move(*claimed), plan, std::move(on_done), /*resume=*/false);
}

std::string Scheduler::Impl::BuildRoot(Id build_id) const {
  return (std::filesystem::path(options_.data_dir) / "builds" / std::to_string(build_id)).string();
}

std::filesystem::path SpareDirectoriesOf(const std::string& data_dir) {
  if (data_dir.empty()) return {};
  return std::filesystem::path(data_dir) / "spare-dirs";
}

bool Scheduler::Impl::CanResume(const Build& build) const {
  std::error_code ec;
  return options_.journal_builds && !build.one_off() && build.status == BuildStatus::kStarted &&
         std::filesystem::exists(std::filesystem::path(BuildRoot(build.id)) / "journal.jsonl", ec);
}

Status Scheduler::Impl::ResumeBuild(const Build& build) {
  if (!CanResume(build)) {
    return FailedPrecondition("build " + std::to_string(build.id) +
                              " left no journal to resume from");
  }
  BATON_ASSIGN_OR_RETURN(PipelineState * state, FindOrError(build.pipeline_id));
  const pipelines::Job* job = state->config.FindJob(build.job);
  if (!job) {
    return NotFound("pipeline `" + state->record.name + "` has no job `" + build.job +
                    "` any more");
  }
  BATON_ASSIGN_OR_RETURN(auto used, stores_.builds.ListBuildInputs(build.id));
  BATON_ASSIGN_OR_RETURN(InputPlan plan, PlanFromInputs(*job, build, used));
  Launch(*state, build, plan, {}, /*resume=*/true);
  return Status::Ok();
}

void Scheduler::Impl::Launch(PipelineState& state, Build build, const InputPlan& plan,
                             std::function<void(const Build&)> on_done, bool resume) {
  const pipelines::Job* job = state.config.FindJob(build.job);
  auto run = std::make_unique<RunningBuild>();
  run->pipeline_id = state.record.id;
  run->job = build.job;
  run->on_done = std::move(on_done);
  BuildPlan build_plan = BuildPlan::ForJob(state.config, *job);
  for (const auto& in : plan.inputs) {
    build_plan.input_versions[in.name] = in.version;
    run->input_versions[in.resource].insert(in.version_id);
  }

  BuildRecorder::Options rec;
  for (const auto& [name, r] : state.resources) rec.resource_ids[name] = r.id;
  Id pipeline_id = state.record.id;
  rec.on_new_version = [this, pipeline_id](const std::string& resource, const ResourceVersion& v) {
    PipelineState* s = Find(pipeline_id);
    if (!s) return;
    int added = 0;
    AddVersions(*s, resource, {v}, &added);
    if (added) WakeJobsUsing(*s, resource);
  };
  rec.forward = options_.observe_build ? options_.observe_build(build) : nullptr;
  run->recorder = std::make_unique<BuildRecorder>(
      BuildRecorder::Stores{stores_.builds, stores_.events, stores_.pipelines}, build,
      std::move(rec));

  BuildExecutorOptions exec;
  exec.build_root = BuildRoot(build.id);
  exec.journal = options_.journal_builds;
  exec.spare_dirs = &spare_dirs_;
  exec.resource_caches = resource_caches_.get();
  exec.resume = resume;
  exec.metadata = {std::to_string(build.id), build.name,        build.job,
                   state.record.name,        state.record.team, options_.external_url};
  exec.interruptible = job->interruptible;
  exec.clock = clock_;
  exec.cancel_grace = options_.cancel_grace;
  std::string cache_prefix = state.record.name + "/" + build.job + "/";
  if (options_.cache_dir) {
    exec.cache_dir = [this, cache_prefix](const StepInfo& step, const std::string& path) {
      return options_.cache_dir(cache_prefix + step.name, path);
    };
  }
  Id build_id = build.id;
  std::weak_ptr<bool> alive = alive_;
  exec.on_finished = [this, alive, build_id](BuildStatus) {
    // Never destroy the executor from inside its own callback.
    asio::post(io_, [this, alive, build_id] {
      if (alive.lock()) OnBuildFinished(build_id);
    });
  };
  run->executor = std::make_unique<BuildExecutor>(io_, worker_, *run->recorder,
                                                  std::move(build_plan), std::move(exec));
  run->build = std::move(build);
  BuildExecutor& executor = *run->executor;
  running_[build_id] = std::move(run);
  executor.Start();
}

void Scheduler::Impl::OnBuildFinished(Id build_id) {
  auto it = running_.find(build_id);
  if (it == running_.end()) return;
  std::unique_ptr<RunningBuild> run = std::move(it->second);
  running_.erase(it);
  Build finished = run->recorder->build();
  PipelineState* state = Find(run->pipeline_id);
  if (state && finished.status == BuildStatus::kSucceeded) {
    SucceededBuild record{finished.id, run->input_versions};
    for (const auto& [resource, ids] : run->recorder->outputs()) {
      record.versions_by_resource[resource].insert(ids.begin(), ids.end());
    }
    state->snapshot.succeeded_builds[run->job].push_back(std::move(record));
  }
  build_dirs_.Remove(BuildRoot(build_id));
  if (options_.on_build_finished) options_.on_build_finished(finished);
  if (run->on_done) run->on_done(finished);
  if (state) {
    TrySchedule(*state, run->job);
    ScheduleJobs(*state, state->graph.Downstream(run->job));
    for (const auto& [job, queue] : state->pending) {
      if (!queue.empty()) TrySchedule(*state, job);
    }
    // After scheduling, so the next builds do not wait for it.
    if (const pipelines::Job* job = state->config.FindJob(run->job)) ApplyRetention(*state, *job);
  }
  if (options_.max_parallel_builds > 0) {  // a global slot opened: anyone may go
    for (auto& [id, s] : pipelines_) {
      for (const auto& job : s->config.jobs) TrySchedule(*s, job.name);
    }
  }
}

Result<Build> Scheduler::Impl::Trigger(Id pipeline_id, const std::string& job_name) {
  BATON_ASSIGN_OR_RETURN(PipelineState * state, FindOrError(pipeline_id));
  const pipelines::Job* job = state->config.FindJob(job_name);
  if (!job || !state->jobs.count(job_name)) {
    return NotFound("pipeline `" + state->record.name + "` has no job `" + job_name + "`");
  }
  if (job->disable_manual_trigger) {
    return PermissionDenied("job `" + job_name +
                            "` has disable_manual_trigger: true; it only runs on new inputs");
  }
  // Not the leader: this node's picture of versions and builds is as old as its last load; the
  // job's inputs are read again (not the whole pipeline: one query for a job without inputs).
  if (!leader_) BATON_RETURN_IF_ERROR(ReloadInputsOf(*state, *job));
  InputPlan plan = ResolveInputs(state->config, *job, state->snapshot);
  if (!plan.resolved) {
    return FailedPrecondition("job `" + job_name + "` cannot start yet: " + plan.waiting_reason);
  }
  BATON_ASSIGN_OR_RETURN(Build build, CreateBuild(*state, *job, plan));
  if (!leader_) {  // saved pending: the leader hears of it and starts it
    Announce({PipelineChange::Kind::kBuildQueued, pipeline_id, 0, build.id});
    return build;
  }
  state->pending[job_name].emplace_back(build, plan);
  TrySchedule(*state, job_name);
  return build;
}

Status Scheduler::Impl::Abort(Id build_id) {
  if (auto it = running_.find(build_id); it != running_.end()) {
    it->second->executor->Abort();
    return Status::Ok();
  }
  for (auto& [id, state] : pipelines_) {
    for (auto& [job, queue] : state->pending) {
      for (auto q = queue.begin(); q != queue.end(); ++q) {
        if (q->first.id != build_id) continue;
        queue.erase(q);
        return stores_.builds
            .FinishBuild(build_id, BuildStatus::kAborted, "aborted before it started")
            .status();
      }
    }
  }
  return NotFound("build " + std::to_string(build_id) + " is not running");
}

// Aborts the build wherever it runs: here, or (pending or started in the store) on the leader,
// which hears of it. The leader adopts what another node left pending before looking again.
Status Scheduler::Impl::AbortAnywhere(Id build_id) {
  Status here = Abort(build_id);
  if (here.code() != StatusCode::kNotFound) return here;
  BATON_ASSIGN_OR_RETURN(Build build, stores_.builds.GetBuild(build_id));
  if (IsFinished(build.status)) {
    return FailedPrecondition("build " + std::to_string(build_id) + " has already finished (" +
                              ToString(build.status) + ")");
  }
  if (!leader_) {
    Announce({PipelineChange::Kind::kAbort, build.pipeline_id, 0, build_id});
    return Status::Ok();
  }
  if (PipelineState* state = Find(build.pipeline_id)) AdoptPending(*state);
  return Abort(build_id);
}

}  // namespace baton::runner
