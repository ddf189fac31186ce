// Shared state and helpers of the API handlers (private to web-api/src/api).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <future>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <vector>

#include "baton/common/json.h"
#include "baton/pipelines/diagnostics.h"
#include "baton/runner/commands.h"
#include "baton/runner/scheduler.h"
#include "baton/runner/store.h"
#include "baton/webapi/api.h"
#include "baton/webapi/http_types.h"
#include "baton/webapi/router.h"

namespace baton::webapi::api {

struct Context {
  boost::asio::io_context& runner_io;
  runner::Store& store;
  runner::Scheduler& scheduler;
  ApiOptions options;

  // The time, through ApiOptions::clock (the real clock when none was given).
  SystemTime Now() const { return (options.clock ? *options.clock : RealClock()).Now(); }

  // Runs `fn` on the runner thread and waits for its result. Only from the server's work threads
  // (Response::Offload), never from an io thread.
  template <typename F>
  auto OnRunner(F fn) -> decltype(fn()) {
    std::packaged_task<decltype(fn())()> task(std::move(fn));
    auto result = task.get_future();
    boost::asio::post(runner_io, [&task] { task(); });
    return result.get();
  }

  // Sends `command` to the scheduler and answers the request with `answer(reply)` once it is
  // applied (Response::Await): no thread waits meanwhile. `answer` runs on the scheduler's
  // thread. REQUIRES: the context and the scheduler outlive the server.
  using Answer = std::function<Response(const Result<runner::CommandReply>& reply)>;
  Response Send(runner::Command command, Answer answer);
};

// The pipeline named by :team and :pipeline, or an error response.
Result<runner::PipelineRecord> PipelineOf(Context& ctx, const Request& req);

// JSON shapes (Concourse-like field names).
Json PipelineJson(const runner::PipelineRecord& p);
Json JobJson(const runner::JobRecord& j, const std::optional<runner::Build>& latest);
// A job's "finished_build" is its newest build with one of these statuses.
const std::vector<runner::BuildStatus>& FinishedStatuses();
// The build of `job_id` in what BuildStore::NewestJobBuilds returned, if it has one.
std::optional<runner::Build> BuildOfJob(const std::map<runner::Id, runner::Build>& by_job,
                                        runner::Id job_id);
Json BuildJson(const runner::Build& b);
Json ResourceJson(const runner::ResourceRecord& r);
Json VersionJson(const runner::ResourceVersion& v);
// A check of the scheduler's CheckRegistry: {id, team, pipeline, resource, status, url, ...}.
Json CheckJson(const runner::CheckRecord& c);

// [{"severity", "line", "column", "message", "hint"}] (what PUT .../config and validate send).
Json DiagnosticsJson(const pipelines::Diagnostics& diags);

// 200 with JSON, or the status's error.
Response JsonOr(const Status& status, const Json& value, int code = 200);

// Adds the routes of each area.
void AddPipelineRoutes(Router& router, std::shared_ptr<Context> ctx);
void AddJobRoutes(Router& router, std::shared_ptr<Context> ctx);
void AddBuildRoutes(Router& router, std::shared_ptr<Context> ctx);
void AddResourceRoutes(Router& router, std::shared_ptr<Context> ctx);
// Versions of `artifact` resources: their file lists and files (api_artifacts.cpp).
void AddArtifactRoutes(Router& router, std::shared_ptr<Context> ctx);
void AddWebhookRoutes(Router& router, std::shared_ptr<Context> ctx);
// The web UI's needs, open to every client (docs/api.md): sessions, public reads, whole-page
// reads, validate-without-saving, the schema, version usage.
void AddSessionRoutes(Router& router, std::shared_ptr<Context> ctx);
void AddPublicAccess(Router& router, std::shared_ptr<Context> ctx);
void AddOverviewRoutes(Router& router, std::shared_ptr<Context> ctx);
void AddComposeRoutes(Router& router, std::shared_ptr<Context> ctx);
void AddVersionUsageRoutes(Router& router, std::shared_ptr<Context> ctx);

}  // namespace baton::webapi::api
