// Scheduler: checking resources for new versions.
#include "baton/common/logging.h"
#include "baton/pipelines/vars.h"
#include "baton/runner/resource_types.h"
#include "scheduler_impl.h"

namespace baton::runner {
namespace {

// Check output goes to the server log at debug level (it is not part of any build).
class CheckLogSink final : public workers::OutputSink {
 public:
  explicit CheckLogSink(std::string resource) : resource_(std::move(resource)) {}
  void OnLine(SystemTime, workers::OutputStream, std::string_view line) override {
    ModuleLogger("runner")->debug("check {}: {}", resource_, line);
  }

 private:
  std::string resource_;
};

const Json* Newest(const PlannerSnapshot& snapshot, const std::string& resource) {
  auto it = snapshot.versions.find(resource);
  if (it == snapshot.versions.end() || it->second.empty()) return nullptr;
  const VersionRecord* newest = &it->second.front();
  for (const auto& v : it->second) {
    if (v.order > newest->order) newest = &v;
  }
  return &newest->version;
}

}  // namespace

void Scheduler::Impl::Check(PipelineState& state, const std::string& resource,
                            std::function<void(Result<int>)> done) {
  const pipelines::Resource* config = state.config.FindResource(resource);
  auto record = state.resources.find(resource);
  if (!config || record == state.resources.end()) {
    if (done)
      done(NotFound("pipeline `" + state.record.name + "` has no resource `" + resource + "`"));
    return;
  }
  auto& waiters = state.check_waiters[resource];
  waiters.push_back(std::move(done));
  if (waiters.size() > 1) return;  // a check is already running; share its result

  workers::ResourceRun run;
  run.id = "check-" + std::to_string(state.record.id) + "-" + resource;
  run.action = workers::ResourceRun::Action::kCheck;
  // Vars of the pipeline's var_sources are read at check time, as Concourse does.
  auto source = pipelines::VarSources(state.config.var_sources, state.config.file)
                    .Interpolate(config->source, nullptr);
  run.source = source.ok() ? *source : config->source;
  if (const Json* newest = Newest(state.snapshot, resource)) run.version = *newest;
  Status resolved = source.ok()
                        ? ResolveResourceType(state.config.resource_types, config->type, run)
                        : source.status();
  Id pipeline_id = state.record.id;
  if (!resolved.ok()) {
    workers::ResourceResult failed;
    failed.error = resolved;
    OnCheckDone(pipeline_id, resource, std::move(failed));
    return;
  }
  std::weak_ptr<bool> alive = alive_;
  worker_.RunResource(
      run, std::make_shared<CheckLogSink>(resource),
      [this, alive, pipeline_id, resource](workers::ResourceResult result) {
        asio::post(io_, [this, alive, pipeline_id, resource, result = std::move(result)]() mutable {
          if (alive.lock()) OnCheckDone(pipeline_id, resource, std::move(result));
        });
      });
}

void Scheduler::Impl::OnCheckDone(Id pipeline_id, const std::string& resource,
                                  workers::ResourceResult result) {
  PipelineState* state = Find(pipeline_id);
  if (!state) return;
  auto waiters = std::move(state->check_waiters[resource]);
  state->check_waiters.erase(resource);
  const ResourceRecord& record = state->resources[resource];
  Result<int> outcome = 0;
  if (!result.error.ok()) {
    std::string message = "check of `" + resource + "` failed: " + result.error.message();
    ModuleLogger("runner")->warn("pipeline {}: {}", state->record.name, message);
    (void)store_.RecordCheckError(record.id, result.error.message());
    outcome = Status(result.error.code(), message);
  } else {
    std::vector<VersionFound> found;
    for (auto& v : result.versions) found.push_back({std::move(v), Json::array()});
    auto saved = store_.SaveResourceVersions(record.id, found);
    if (!saved.ok()) {
      outcome = saved.status();
    } else {
      int added = 0;
      AddVersions(*state, resource, *saved, &added);
      outcome = added;
      if (added > 0) WakeJobsUsing(*state, resource);
    }
  }
  if (options_.periodic_checks) {
    if (const auto* config = state->config.FindResource(resource)) ArmCheckTimer(*state, *config);
  }
  for (auto& done : waiters) {
    if (done) done(outcome);
  }
}

void Scheduler::Impl::AddVersions(PipelineState& state, const std::string& resource,
                                  const std::vector<ResourceVersion>& versions, int* added) {
  auto& known = state.snapshot.versions[resource];
  for (const auto& v : versions) {
    bool exists = false;
    for (auto& k : known) {
      if (k.id == v.id) {
        k.order = v.check_order;
        exists = true;
      }
    }
    if (!exists) {
      known.push_back({v.id, v.check_order, v.version});
      if (added) ++*added;
    }
  }
}

void Scheduler::Impl::WakeJobsUsing(PipelineState& state, const std::string& resource) {
  if (!state.auto_trigger) return;
  for (const auto& job : state.config.jobs) {
    for (const auto& input : JobInputs(job)) {
      if (input.resource == resource && input.trigger) {
        TrySchedule(state, job.name);
        break;
      }
    }
  }
}

void Scheduler::Impl::ArmCheckTimer(PipelineState& state, const pipelines::Resource& resource) {
  if (resource.check_every == "never") return;
  Duration every = resource.check_interval.value_or(options_.default_check_every);
  if (every <= Duration::zero()) every = options_.default_check_every;
  auto& timer = state.check_timers[resource.name];
  if (!timer) timer = std::make_unique<asio::steady_timer>(io_);
  timer->expires_after(std::chrono::duration_cast<asio::steady_timer::duration>(every));
  Id pipeline_id = state.record.id;
  std::string name = resource.name;
  std::weak_ptr<bool> alive = alive_;
  timer->async_wait([this, alive, pipeline_id, name](const boost::system::error_code& ec) {
    if (ec || !alive.lock()) return;
    if (PipelineState* s = Find(pipeline_id)) Check(*s, name, nullptr);
  });
}

}  // namespace baton::runner
