// The Baton REST API (/api/v1) and webhook endpoints, over the Store and the Scheduler.
//
// Handlers run on the HTTP server's io threads. Reads go straight to the store (thread-safe);
// changes (set-pipeline, pause, expose, destroy, ...) are commands (baton/runner/commands.h)
// posted to the runner's io_context, which owns the Scheduler, and answered when applied
// (Response::Await: no io thread waits). Webhooks answer at once and check afterwards.
//
// Thread-safety: Api is immutable after construction; its handlers may run concurrently.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "baton/common/clock.h"
#include "baton/runner/scheduler.h"
#include "baton/runner/store.h"
#include "baton/webapi/router.h"
#include "baton/webapi/static_assets.h"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace baton::workers {
class ArtifactStore;
}  // namespace baton::workers

namespace baton::webapi {

struct ApiOptions {
  std::string version = "0.0.0";
  std::string external_url;
  std::string worker_isolation;  // shown by /api/v1/info
  // The web UI served at `/` (null: none; other paths then answer 404 saying why).
  std::shared_ptr<const StaticAssets> web_ui;
  std::string web_ui_missing;  // why there is no web UI, for that 404
  // The store behind `artifact` resources, for downloads (null: downloads answer 404 saying so).
  workers::ArtifactStore* artifacts = nullptr;
  // Where the API reads the time (token and session expiry, webhook deliveries). Null = the
  // real clock; tests pass a FakeClock. Must outlive the router.
  const Clock* clock = nullptr;
  // Several web nodes on one database: what /api/v1/info says of them (this node, the leader,
  // the nodes up), and live logs are read by polling the store (a build may run on another
  // node, whose events this process never hears of). Empty: this node alone.
  std::function<Json()> cluster;
};

// Builds the router with every route. `runner_io` runs the scheduler; both must outlive the
// router and its server.
Router MakeApiRouter(boost::asio::io_context& runner_io, runner::Store& store,
                     runner::Scheduler& scheduler, ApiOptions options);

}  // namespace baton::webapi
