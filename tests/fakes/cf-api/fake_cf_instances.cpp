// The stand-in's instances, like Diego cells running the binary_buildpack: N instances per
// process (CF_INSTANCE_INDEX set), health checks, restarts of crashed instances after a growing
// delay, and the reconciler that finishes rolling deployments once every new instance runs.
#include <algorithm>

#include "cf-api/fake_cf_impl.h"

namespace baton::testing::fakecf {
namespace {

// Diego restarts a crashed instance at once a few times, then backs off; the stand-in waits a
// little from the first crash so that pollers can see CRASHED.
std::chrono::milliseconds RestartDelay(int crashes) {
  return std::chrono::milliseconds(1000 * std::min(crashes, 5));
}

bool AllRunning(const Instances& instances) {
  return !instances.empty() && std::all_of(instances.begin(), instances.end(),
                                           [](const auto& i) { return i->state == "RUNNING"; });
}

}  // namespace

uint16_t NextRunningPort(App& app) {
  size_t n = app.instances.size();
  for (size_t k = 0; k < n; ++k) {
    size_t at = (app.next_instance + k) % n;
    if (app.instances[at]->state == "RUNNING") {
      app.next_instance = (at + 1) % n;
      return app.instances[at]->port;
    }
  }
  return 0;
}

Instances FakeCloudFoundry::Impl::Launch(App& app, const Process& process, const Droplet& droplet) {
  Instances out;
  for (int index = 0; index < process.instances; ++index) {
    auto inst = std::make_shared<Instance>();
    inst->app_guid = app.guid;
    inst->process_guid = process.guid;
    inst->droplet_guid = droplet.guid;
    inst->index = index;
    inst->command = process.command.empty() ? droplet.command : process.command;
    inst->dir = droplet.dir;
    inst->health_type = process.health_type;
    inst->health_endpoint = process.health_endpoint;
    inst->timeout_s = process.timeout_s;
    StartInstance(app, *inst);
    out.push_back(std::move(inst));
  }
  return out;
}

void FakeCloudFoundry::Impl::StartInstance(const App& app, Instance& inst) {
  inst.started = Steady::now();
  inst.state = "STARTING";
  std::string which = "instance " + std::to_string(inst.index);
  auto crash = [&](const std::string& why) {
    inst.state = "CRASHED";
    inst.process.reset();
    ++inst.crashes;
    inst.crashed_at = Steady::now();
    AppLog(app, which + " crashed: " + why);
  };
  if (state_.fail_at == FailAt::kCrash) {
    crash("told to fail at crash");
    Log("app " + app.name + ": " + which + " CRASHED on purpose (--fail-at crash)");
    return;
  }
  inst.port = FreePort();
  Json env = app.env;
  env["CF_INSTANCE_INDEX"] = std::to_string(inst.index);
  MarkLog(app);
  auto process = AppProcess::Start(inst.command, inst.dir, inst.port, env, app.log_file);
  if (!process.ok()) return crash(process.status().message());
  inst.process = std::move(*process);
  AppLog(app, "starting " + which + " on port " + std::to_string(inst.port) + ": " + inst.command);
  Log("app " + app.name + ": starting " + which + " `" + inst.command +
      "` on 127.0.0.1:" + std::to_string(inst.port));
}

void FakeCloudFoundry::Impl::Retire(Instances& instances) {
  for (auto& i : instances) {
    i->state = "DOWN";
    i->retired = Steady::now();
    state_.dying.push_back(i);
  }
  instances.clear();
}

// Health-checks starting instances (outside the lock), then applies what it saw: crashes,
// restarts, and rolling deployments whose new instances all run.
void FakeCloudFoundry::Impl::Reconcile() {
  struct Watched {
    std::shared_ptr<Instance> instance;
    std::shared_ptr<AppProcess> process;
    uint16_t port;
    std::string type;
    std::string endpoint;
    bool starting;
    bool too_late;  // STARTING for longer than its health check timeout
    std::string seen;
  };
  std::vector<Watched> watch;
  Instances dying;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto add = [&](const Instances& all) {
      for (const auto& i : all) {
        if (i->state == "STARTING" || i->state == "RUNNING") {
          bool late = Steady::now() - i->started > std::chrono::seconds(i->timeout_s);
          watch.push_back({i, i->process, i->port, i->health_type, i->health_endpoint,
                           i->state == "STARTING", i->state == "STARTING" && late, ""});
        }
      }
    };
    for (auto& [guid, app] : state_.apps) add(app.instances);
    for (auto& [guid, d] : state_.deployments) add(d.instances);
    // Like gorouter + Diego: requests already routed to a retired instance may finish.
    auto drained = Steady::now() - std::chrono::milliseconds(500);
    auto keep = std::partition(state_.dying.begin(), state_.dying.end(),
                               [&](const auto& i) { return i->retired > drained; });
    dying.assign(keep, state_.dying.end());
    state_.dying.erase(keep, state_.dying.end());
  }
  for (auto& inst : dying) {
    if (inst->process) inst->process->Kill();
  }
  for (auto& w : watch) {
    if (!w.process || w.process->Exited()) {
      w.seen = "CRASHED";
    } else if (w.starting && Healthy(w.type, w.port, w.endpoint)) {
      w.seen = "RUNNING";
    } else if (w.too_late) {  // Diego kills an instance that never passed its health check
      w.process->Kill();
      w.seen = "CRASHED";
    }
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& w : watch) {
    Instance& i = *w.instance;
    if (w.seen.empty() || i.state == "DOWN" || i.process != w.process) continue;
    if (w.seen == "CRASHED") {
      i.process.reset();
      ++i.crashes;
      i.crashed_at = Steady::now();
      auto app = state_.apps.find(i.app_guid);
      if (app != state_.apps.end()) {
        AppLog(app->second, "instance " + std::to_string(i.index) + " exited");
      }
    }
    i.state = w.seen;
  }
  RestartCrashed();
  FinishDeployments();
}

void FakeCloudFoundry::Impl::RestartCrashed() {
  auto now = Steady::now();
  auto restart = [&](const App& app, Instances& all) {
    for (auto& i : all) {
      if (i->state == "CRASHED" && now >= i->crashed_at + RestartDelay(i->crashes)) {
        StartInstance(app, *i);
      }
    }
  };
  for (auto& [g, app] : state_.apps) {
    if (app.state == "STARTED") restart(app, app.instances);
  }
  for (auto& [g, d] : state_.deployments) {
    if (d.value == "ACTIVE") restart(state_.apps[d.app_guid], d.instances);
  }
}

// Like CC's deployment updater: once every new instance runs, the old ones leave the route.
void FakeCloudFoundry::Impl::FinishDeployments() {
  for (auto& [guid, d] : state_.deployments) {
    if (d.value != "ACTIVE" || !AllRunning(d.instances)) continue;
    App& app = state_.apps[d.app_guid];
    Retire(app.instances);
    app.instances = std::move(d.instances);
    d.instances.clear();
    app.web = d.process;
    app.current_droplet = d.droplet_guid;
    d.value = "FINALIZED";
    d.reason = "DEPLOYED";
    AppLog(app, "rolling deployment " + d.guid + " finished");
    Log("app " + app.name + ": rolling deployment finished; the route serves the new instances");
  }
}

}  // namespace baton::testing::fakecf
