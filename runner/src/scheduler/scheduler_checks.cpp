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

// The version a check of `resource` starts from: the newest one, leaving out those recorded
// from a push that no check has found yet (the check then finds the commits pushed before).
const Json* CheckFrom(const PipelineState& state, const std::string& resource) {
  auto it = state.snapshot.versions.find(resource);
  if (it == state.snapshot.versions.end()) return nullptr;
  auto pushed = state.pushed_unchecked.find(resource);
  const VersionRecord* newest = nullptr;
  for (const auto& v : it->second) {
    if (pushed != state.pushed_unchecked.end() && pushed->second.count(v.id)) continue;
    if (!newest || v.order > newest->order) newest = &v;
  }
  return newest ? &newest->version : nullptr;
}

}  // namespace

void Scheduler::Impl::RunCheck(Id check_id) {
  auto record = checks_.Get(check_id);
  if (!record) return;
  CheckRegistry& checks = checks_;
  auto done = [&checks, check_id](Result<int> outcome) { checks.Finish(check_id, outcome); };
  auto state = FindOrError(record->pipeline_id);
  if (!state.ok()) {
    done(state.status());
  } else {
    Check(**state, record->resource, done);
  }
  // Started once a worker runs it (or it joined a running check); not if it already ended.
  checks.Start(check_id);
}

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
  run.placement = {config->tags, state.record.team};
  // Vars of the pipeline's var_sources are read at check time, as Concourse does.
  auto source = pipelines::VarSources(state.config.var_sources, state.config.file)
                    .Interpolate(config->source, nullptr);
  run.source = source.ok() ? *source : config->source;
  if (const Json* from = CheckFrom(state, resource)) run.version = *from;
  Status resolved = source.ok()
                        ? ResolveResourceType(state.config.resource_types, config->type, run)
                        : source.status();
  Id pipeline_id = state.record.id;
  const uint64_t run_number = ++check_runs_;
  state.checks_in_flight[resource].run = run_number;
  if (!resolved.ok()) {
    workers::ResourceResult failed;
    failed.error = resolved;
    OnCheckDone(pipeline_id, resource, run_number, std::move(failed));
    return;
  }
  std::weak_ptr<bool> alive = alive_;
  auto handle = worker_.RunResource(
      run, std::make_shared<CheckLogSink>(resource),
      [this, alive, pipeline_id, resource, run_number](workers::ResourceResult result) {
        asio::post(io_, [this, alive, pipeline_id, resource, run_number,
                         result = std::move(result)]() mutable {
          if (alive.lock()) OnCheckDone(pipeline_id, resource, run_number, std::move(result));
        });
      });
  auto flight = state.checks_in_flight.find(resource);
  if (flight == state.checks_in_flight.end() || flight->second.run != run_number) return;
  flight->second.handle = std::move(handle);
  ArmCheckTimeout(state, *config, run_number);
}

// A check that outlives check_timeout is cancelled and answered as errored at once: a resource
// type that ignores the cancel (or a remote that never answers) must not hold the check.
void Scheduler::Impl::ArmCheckTimeout(PipelineState& state, const pipelines::Resource& resource,
                                      uint64_t run) {
  // check_timeout was validated when the pipeline loaded; "" means the default.
  Duration limit = options_.default_check_timeout;
  if (auto parsed = ParseDuration(resource.check_timeout);
      !resource.check_timeout.empty() && parsed.ok() && *parsed > Duration::zero()) {
    limit = *parsed;
  }
  CheckInFlight& flight = state.checks_in_flight[resource.name];
  flight.timeout = std::make_unique<asio::steady_timer>(io_);
  flight.timeout->expires_after(std::chrono::duration_cast<asio::steady_timer::duration>(limit));
  Id pipeline_id = state.record.id;
  std::string name = resource.name;
  std::weak_ptr<bool> alive = alive_;
  flight.timeout->async_wait(
      [this, alive, pipeline_id, name, run, limit](const boost::system::error_code& ec) {
        if (ec || !alive.lock()) return;
        PipelineState* s = Find(pipeline_id);
        if (!s) return;
        auto it = s->checks_in_flight.find(name);
        if (it == s->checks_in_flight.end() || it->second.run != run) return;
        if (it->second.handle) it->second.handle->Cancel(Duration::zero());
        workers::ResourceResult timed_out;
        timed_out.error = DeadlineExceeded(
            "timed out after " + FormatDuration(limit) +
            " (check_timeout; the default is 1h): the resource did not answer in time. Check "
            "that its source (for git: source.uri) is reachable, or raise check_timeout");
        OnCheckDone(pipeline_id, name, run, std::move(timed_out));
      });
}

CheckWaiters Scheduler::Impl::TakeChecks(PipelineState& state) {
  for (auto& [name, flight] : state.checks_in_flight) {
    if (flight.handle) flight.handle->Cancel(Duration::zero());
  }
  state.checks_in_flight.clear();
  CheckWaiters waiters = std::move(state.check_waiters);
  for (auto& [resource, dones] : state.checks_after) {
    for (auto& done : dones) waiters[resource].push_back(std::move(done));
  }
  state.checks_after.clear();
  return waiters;
}

void Scheduler::Impl::OnCheckDone(Id pipeline_id, const std::string& resource, uint64_t run,
                                  workers::ResourceResult result) {
  PipelineState* state = Find(pipeline_id);
  if (!state) return;
  auto flight = state->checks_in_flight.find(resource);
  if (flight == state->checks_in_flight.end() || flight->second.run != run) {
    return;  // the late result of a check that timed out (or of a reloaded pipeline)
  }
  state->checks_in_flight.erase(flight);  // cancels its timeout
  auto waiters = std::move(state->check_waiters[resource]);
  state->check_waiters.erase(resource);
  const ResourceRecord& record = state->resources[resource];
  Result<int> outcome = 0;
  if (!result.error.ok()) {
    std::string message = "check of `" + resource + "` failed: " + result.error.message();
    ModuleLogger("runner")->warn("pipeline {}: {}", state->record.name, message);
    (void)stores_.pipelines.RecordCheckError(record.id, result.error.message());
    outcome = Status(result.error.code(), message);
  } else {
    std::vector<VersionFound> found;
    for (auto& v : result.versions) found.push_back({std::move(v), Json::array()});
    auto saved = stores_.pipelines.SaveResourceVersions(record.id, found);
    if (!saved.ok()) {
      outcome = saved.status();
    } else {
      int added = 0;
      AddVersions(*state, resource, *saved, &added);
      // A check that started after a push confirms (or, force-pushed away, drops) its version.
      if (auto pushed = state->pushed_unchecked.find(resource);
          pushed != state->pushed_unchecked.end()) {
        std::erase_if(pushed->second, [run](const auto& p) { return p.second < run; });
      }
      outcome = added;
      if (added > 0) WakeJobsUsing(*state, resource);
      // A check asked of a node that does not schedule: the leader reads the new versions.
      if (added > 0 && !leader_) Announce({PipelineChange::Kind::kVersions, pipeline_id});
    }
  }
  if (options_.periodic_checks && leader_) {
    if (const auto* config = state->config.FindResource(resource)) ArmCheckTimer(*state, *config);
  }
  for (auto& done : waiters) {
    if (done) done(outcome);
  }
  // Pushes that came while it ran: one more check, begun after them.
  state = Find(pipeline_id);
  if (!state) return;
  if (auto after = state->checks_after.find(resource); after != state->checks_after.end()) {
    auto dones = std::move(after->second);
    state->checks_after.erase(after);
    for (auto& done : dones) Check(*state, resource, std::move(done));
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
  std::vector<std::string> woken;
  for (const auto& job : state.config.jobs) {
    for (const auto& input : JobInputs(job)) {
      if (input.resource == resource && input.trigger) {
        woken.push_back(job.name);
        break;
      }
    }
  }
  ScheduleJobs(state, woken);
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
    if (ec || !alive.lock() || !leader_) return;
    if (PipelineState* s = Find(pipeline_id)) Check(*s, name, nullptr);
  });
}

}  // namespace baton::runner
