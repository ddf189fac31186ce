// Private to the cf stand-in: the implementation class shared by its source files.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "cf-api/fake_cf.h"
#include "cf-api/fake_cf_frontdoor.h"
#include "cf-api/fake_cf_state.h"

namespace baton::testing::fakecf {

class FakeCloudFoundry::Impl {
 public:
  explicit Impl(FakeCfOptions options) : options_(std::move(options)) {}

  Status Start();
  void Stop();
  void Log(const std::string& line) const;

  FakeCfOptions options_;
  mutable std::mutex mu_;
  State state_;  // GUARDED_BY(mu_)
  std::string url_;
  std::vector<std::thread> unzippers_;  // GUARDED_BY(mu_): uploaded bits being unzipped
  std::unique_ptr<FrontDoor> front_;    // the public port (TLS, slow link); set by Start()

  // A handler that runs `body` under mu_ after recording the request and (when `auth`)
  // checking the bearer token.
  webapi::Handler Locked(bool auth, std::function<webapi::Response(webapi::Request&)> body);

  // REQUIRES: mu_ held. The failure to answer `req` with, if a Fault matches it.
  std::optional<webapi::Response> TakeFault(const webapi::Request& req);
  // fake_cf.cpp: API root, UAA, organizations, spaces, jobs, apply_manifest, /fake/*.
  void AddControlRoutes(webapi::Router& router);
  // fake_cf_v3.cpp: apps, packages, builds, droplets.
  void AddAppRoutes(webapi::Router& router);
  // fake_cf_deploy.cpp: start/stop, deployments, processes, routes, log-cache.
  void AddDeployRoutes(webapi::Router& router);

  // REQUIRES: mu_ held. Applies one manifest application (creates the app and its route).
  Status ApplyApplication(const Json& app);
  // REQUIRES: mu_ held. FailedPrecondition when `a` changes the web process of an app whose
  // deployment is ACTIVE.
  Status RefuseWhileDeploying(const App& app, const Json& a);
  // REQUIRES: mu_ held. Maps the routes a manifest application asks for (routes, no-route,
  // random-route, default-route), as Cloud Controller's apply_manifest does; fake_cf_routes.cpp.
  // FailedPrecondition for what CC reports in the job (an unknown domain).
  Status ApplyRoutes(App& app, const Json& a);
  // fake_cf_routes.cpp: GET /v3/apps/:guid/routes.
  void AddRouteRoutes(webapi::Router& router);
  // REQUIRES: mu_ held. Starts `process.instances` instances of `droplet` (fake_cf_instances.cpp).
  Instances Launch(App& app, const Process& process, const Droplet& droplet);
  // REQUIRES: mu_ held. (Re)starts one instance; CRASHED when it cannot start.
  void StartInstance(const App& app, Instance& instance);
  // REQUIRES: mu_ held. Moves the instances to the dying list (killed after a short drain).
  void Retire(Instances& instances);
  // REQUIRES: mu_ held. Appends a stand-in line to the app's log (log-cache).
  void AppLog(const App& app, const std::string& line);
  // REQUIRES: mu_ held. Time-driven states (jobs, packages, builds).
  void Advance();

 private:
  void ReconcileLoop();
  void Reconcile();
  // REQUIRES: mu_ held. Restarts crashed instances whose delay has passed.
  void RestartCrashed();
  // REQUIRES: mu_ held. Finalizes deployments whose new instances all run.
  void FinishDeployments();
  Status StartProxy(App& app, MappedRoute& route);

  std::unique_ptr<webapi::HttpServer> server_;  // plain http on 127.0.0.1, behind front_
  std::thread reconciler_;
  std::condition_variable cv_;
  bool stopping_ = false;  // GUARDED_BY(mu_)
  bool started_ = false;
};

}  // namespace baton::testing::fakecf
