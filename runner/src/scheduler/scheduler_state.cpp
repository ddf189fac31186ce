// Scheduler: loading a pipeline's config and history into memory.
#include "baton/common/logging.h"
#include "baton/pipelines/loader.h"
#include "scheduler_impl.h"

namespace baton::runner {

Scheduler::Impl::Impl(asio::io_context& io, SchedulerStores stores, workers::Worker& worker,
                      SchedulerOptions options)
    : io_(io),
      stores_(stores),
      worker_(worker),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : &RealClock()),
      leader_(options_.leader) {}

PipelineState* Scheduler::Impl::Find(Id pipeline_id) {
  auto it = pipelines_.find(pipeline_id);
  return it == pipelines_.end() ? nullptr : it->second.get();
}

Result<PipelineState*> Scheduler::Impl::FindOrError(Id pipeline_id) {
  if (PipelineState* state = Find(pipeline_id)) return state;
  // Set through another web node whose notification has not arrived here yet: the store has it
  // (the notification, when it comes, finds it loaded at that config version).
  if (Status s = Activate(pipeline_id); !s.ok()) {
    return Status(s.code(), "pipeline " + std::to_string(pipeline_id) +
                                " is not active here: " + s.message());
  }
  if (PipelineState* state = Find(pipeline_id)) return state;
  return NotFound("pipeline " + std::to_string(pipeline_id) + " is not active");
}

namespace {

Result<pipelines::PipelineConfig> LoadConfig(const PipelineConfigVersion& saved,
                                             const std::string& name) {
  pipelines::Vars vars;
  if (saved.vars.is_object()) {
    for (const auto& [key, value] : saved.vars.items()) vars.Set(key, value);
  }
  pipelines::LoadOptions options;
  options.file_name = name + ".yml";
  options.vars = &vars;
  auto load = pipelines::LoadPipeline(saved.yaml, options);
  if (!load.ok()) {
    std::string first = load.diagnostics.items().empty() ? "unknown error"
                                                         : load.diagnostics.items().front().message;
    return InvalidArgument("the saved config of pipeline `" + name + "` no longer loads: " + first);
  }
  return std::move(*load.config);
}

}  // namespace

Status Scheduler::Impl::Activate(Id pipeline_id) {
  BATON_ASSIGN_OR_RETURN(PipelineRecord record, stores_.pipelines.GetPipelineById(pipeline_id));
  BATON_ASSIGN_OR_RETURN(PipelineConfigVersion saved,
                         stores_.pipelines.GetPipelineConfig(pipeline_id, record.config_version));
  BATON_ASSIGN_OR_RETURN(pipelines::PipelineConfig config, LoadConfig(saved, record.name));
  return Install(record, std::move(config));
}

Status Scheduler::Impl::Install(const PipelineRecord& record, pipelines::PipelineConfig config) {
  const Id pipeline_id = record.id;
  auto state = std::make_unique<PipelineState>();
  state->record = record;
  state->config = std::move(config);
  state->graph = pipelines::JobGraph::Build(state->config);
  state->auto_trigger = options_.periodic_checks;
  BATON_ASSIGN_OR_RETURN(auto resources, stores_.pipelines.ListResources(pipeline_id));
  for (auto& r : resources) {
    if (r.active) state->resources[r.name] = r;
  }
  BATON_ASSIGN_OR_RETURN(auto jobs, stores_.pipelines.ListJobs(pipeline_id));
  for (auto& j : jobs) {
    if (j.active) state->jobs[j.name] = j;
  }
  BATON_RETURN_IF_ERROR(LoadHistory(*state));
  PipelineState& ref = *state;
  CheckWaiters waiting;
  if (PipelineState* old = Find(pipeline_id)) waiting = TakeChecks(*old);
  pipelines_[pipeline_id] = std::move(state);  // replaces (and cancels) an older state
  if (options_.periodic_checks && leader_) {
    // Check at once (then every check_every): new pipelines should not wait a minute.
    for (const auto& resource : ref.config.resources) Check(ref, resource.name, nullptr);
  }
  // Whoever waited on a check of the old config gets the new config's check instead.
  for (auto& [name, dones] : waiting) {
    for (auto& done : dones) {
      if (done) Check(ref, name, std::move(done));
    }
  }
  if (!leader_) return Status::Ok();  // the leader checks and schedules
  // A server adopts builds saved pending elsewhere (another node, or before a set-pipeline
  // replaced this state); `baton run` starts only the builds it creates.
  if (options_.periodic_checks) AdoptPending(ref);
  for (const auto& job : ref.config.jobs) ApplyRetention(ref, job);
  for (const auto& job : ref.config.jobs) TrySchedule(ref, job.name);
  return Status::Ok();
}

void Scheduler::Impl::Deactivate(Id pipeline_id) {
  PipelineState* state = Find(pipeline_id);
  if (!state) return;
  CheckWaiters waiting = TakeChecks(*state);
  std::string name = state->record.name;
  pipelines_.erase(pipeline_id);
  for (auto& [resource, dones] : waiting) {
    for (auto& done : dones) {
      if (done) {
        done(FailedPrecondition("pipeline `" + name + "` was destroyed while `" + resource +
                                "` was being checked"));
      }
    }
  }
}

// Reads versions and recent builds from the store into the planner snapshot.
Status Scheduler::Impl::LoadHistory(PipelineState& state) {
  for (const auto& [name, resource] : state.resources) {
    BATON_RETURN_IF_ERROR(LoadVersions(state, name));
  }
  // A pipeline without a build yet (every `baton run` on a new data dir) has no job history to
  // read: one query instead of one per job (35 ms of W3's start with its 200 jobs).
  BuildQuery any;
  any.pipeline_id = state.record.id;
  any.limit = 1;
  BATON_ASSIGN_OR_RETURN(auto builds, stores_.builds.ListBuilds(any));
  for (const auto& [name, job] : state.jobs) {
    if (builds.empty()) {
      state.snapshot.used_inputs[name].clear();
      state.snapshot.succeeded_builds[name].clear();
      continue;
    }
    BATON_RETURN_IF_ERROR(LoadJobBuilds(state, name));
  }
  return Status::Ok();
}

// The snapshot's pin and versions of `resource` (in state.resources), read again.
Status Scheduler::Impl::LoadVersions(PipelineState& state, const std::string& resource) {
  const ResourceRecord& record = state.resources.at(resource);
  if (record.pinned_version_id) {
    state.snapshot.pins[resource] = record.pinned_version_id;
  } else {
    state.snapshot.pins.erase(resource);
  }
  std::vector<VersionRecord>& known = state.snapshot.versions[resource];
  known.clear();
  VersionPage page;
  page.limit = 1000;
  while (true) {
    BATON_ASSIGN_OR_RETURN(auto versions, stores_.pipelines.ListResourceVersions(record.id, page));
    for (const auto& v : versions) known.push_back({v.id, v.check_order, v.version});
    if (static_cast<int>(versions.size()) < page.limit) break;
    page.before_check_order = versions.back().check_order;
  }
  return Status::Ok();
}

// The snapshot's inputs used by `job` (in state.jobs) and its succeeded builds, read again from
// its newest builds.
Status Scheduler::Impl::LoadJobBuilds(PipelineState& state, const std::string& job) {
  constexpr int kBuildsPerJob = 100;
  std::map<Id, std::string> resource_names;
  for (const auto& [name, r] : state.resources) resource_names[r.id] = name;
  auto& used = state.snapshot.used_inputs[job];
  auto& succeeded_builds = state.snapshot.succeeded_builds[job];
  used.clear();
  succeeded_builds.clear();
  BuildQuery query;
  query.job_id = state.jobs.at(job).id;
  query.limit = kBuildsPerJob;
  BATON_ASSIGN_OR_RETURN(auto builds, stores_.builds.ListBuilds(query));
  for (const auto& b : builds) {
    BATON_ASSIGN_OR_RETURN(auto inputs, stores_.builds.ListBuildInputs(b.id));
    SucceededBuild succeeded{b.id, {}};
    for (const auto& in : inputs) {
      used[in.name].insert(in.resource_version_id);
      succeeded.versions_by_resource[resource_names[in.resource_id]].insert(in.resource_version_id);
    }
    if (b.status != BuildStatus::kSucceeded) continue;
    BATON_ASSIGN_OR_RETURN(auto outputs, stores_.builds.ListBuildOutputs(b.id));
    for (const auto& out : outputs) {
      succeeded.versions_by_resource[resource_names[out.resource_id]].insert(
          out.resource_version_id);
    }
    succeeded_builds.push_back(std::move(succeeded));
  }
  return Status::Ok();
}

}  // namespace baton::runner
