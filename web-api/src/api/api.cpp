#include "baton/webapi/api.h"

#include "api_context.h"
#include "baton/common/clock.h"

namespace baton::webapi {
namespace api {

namespace {
std::string Time(const std::optional<SystemTime>& t) { return t ? FormatRfc3339(*t) : ""; }
}  // namespace

Result<runner::PipelineRecord> PipelineOf(Context& ctx, const Request& req) {
  return ctx.store.GetPipeline(req.Param("team"), req.Param("pipeline"));
}

Json PipelineJson(const runner::PipelineRecord& p) {
  return {{"id", p.id},
          {"name", p.name},
          {"team_name", p.team},
          {"paused", p.paused},
          {"public", p.public_},
          {"config_version", p.config_version},
          {"created_at", FormatRfc3339(p.created_at)}};
}

Json BuildJson(const runner::Build& b) {
  Json j = {{"id", b.id},
            {"name", b.name},
            {"status", runner::ToString(b.status)},
            {"team_name", b.team},
            {"pipeline_name", b.pipeline},
            {"job_name", b.job},
            {"api_url", "/api/v1/builds/" + std::to_string(b.id)},
            {"created_at", FormatRfc3339(b.created_at)},
            {"start_time", Time(b.started_at)},
            {"end_time", Time(b.finished_at)}};
  if (!b.error.empty()) j["error"] = b.error;
  if (b.logs_reaped_at) j["reap_time"] = Time(b.logs_reaped_at);  // log deleted by retention
  return j;
}

Json JobJson(const runner::JobRecord& j, const std::optional<runner::Build>& latest) {
  Json out = {{"id", j.id},
              {"name", j.name},
              {"paused", j.paused},
              {"next_build_number", j.next_build_number}};
  out["finished_build"] = latest ? BuildJson(*latest) : Json();
  return out;
}

const std::vector<runner::BuildStatus>& FinishedStatuses() {
  static const std::vector<runner::BuildStatus> finished = {
      runner::BuildStatus::kSucceeded, runner::BuildStatus::kFailed, runner::BuildStatus::kErrored,
      runner::BuildStatus::kAborted};
  return finished;
}

std::optional<runner::Build> BuildOfJob(const std::map<runner::Id, runner::Build>& by_job,
                                        runner::Id job_id) {
  auto it = by_job.find(job_id);
  if (it == by_job.end()) return std::nullopt;
  return it->second;
}

Json ResourceJson(const runner::ResourceRecord& r) {
  Json j = {{"id", r.id}, {"name", r.name}, {"type", r.type}};
  if (r.pinned_version_id) {
    j["pinned_version_id"] = r.pinned_version_id;
    j["pin_comment"] = r.pin_comment;
  }
  if (!r.check_error.empty()) j["check_error"] = r.check_error;
  if (r.last_checked_at) j["last_checked"] = FormatRfc3339(*r.last_checked_at);
  return j;
}

Json VersionJson(const runner::ResourceVersion& v) {
  return {{"id", v.id},
          {"version", v.version},
          {"metadata", v.metadata},
          {"check_order", v.check_order},
          {"created_at", FormatRfc3339(v.created_at)}};
}

Response Context::Send(runner::Command command, Answer answer) {
  return Response::Await([this, command = std::move(command),
                          answer = std::move(answer)](Responder respond) mutable {
    boost::asio::post(runner_io, [this, command = std::move(command), answer = std::move(answer),
                                  respond = std::move(respond)]() mutable {
      scheduler.Apply(std::move(command),
                      [&](Result<runner::CommandReply> reply) { respond(answer(reply)); });
    });
  });
}

Response JsonOr(const Status& status, const Json& value, int code) {
  if (!status.ok()) return JsonError(status);
  return Response::Json(code, value);
}

}  // namespace api

Router MakeApiRouter(boost::asio::io_context& runner_io, runner::Store& store,
                     runner::Scheduler& scheduler, ApiOptions options) {
  auto ctx =
      std::make_shared<api::Context>(api::Context{runner_io, store, scheduler, std::move(options)});
  Router router;
  router.SetTokenValidator([ctx](std::string_view token) -> std::optional<std::string> {
    auto t = ctx->store.AuthenticateApiToken(std::string(token), ctx->Now());
    if (!t.ok()) return std::nullopt;
    return t->team + ":" + t->name;
  });
  // The cluster's nodes name hosts: only for callers who logged in.
  router.Add(
      "GET", "/api/v1/info",
      [ctx](Request& req) {
        Json info = {{"version", ctx->options.version},
                     {"external_url", ctx->options.external_url},
                     {"worker_isolation", ctx->options.worker_isolation}};
        if (ctx->options.cluster && !req.principal.empty())
          info["cluster"] = ctx->options.cluster();
        return Response::Json(200, info);
      },
      Access::kPublicOrToken);
  router.Add(
      "GET", "/api/v1/workers",
      [ctx](Request&) {
        auto workers = ctx->store.ListWorkers();
        if (!workers.ok()) return JsonError(workers.status());
        Json out = Json::array();
        const SystemTime now = ctx->Now();
        for (const auto& w : *workers) {
          auto age = std::chrono::duration_cast<std::chrono::seconds>(now - w.last_heartbeat);
          out.push_back({{"name", w.name},
                         {"platform", w.platform},
                         {"state", w.state},
                         {"tags", w.tags},
                         {"team", w.info.value("team", "")},
                         {"capacity", w.capacity},
                         {"active_containers", w.info.value("active_containers", 0)},
                         {"heartbeat_age_seconds", std::max<int64_t>(0, age.count())},
                         {"info", w.info}});
        }
        return Response::Json(200, out);
      },
      Access::kToken);
  api::AddPipelineRoutes(router, ctx);
  api::AddJobRoutes(router, ctx);
  api::AddBuildRoutes(router, ctx);
  api::AddResourceRoutes(router, ctx);
  api::AddArtifactRoutes(router, ctx);
  api::AddWebhookRoutes(router, ctx);
  api::AddSessionRoutes(router, ctx);
  api::AddPublicAccess(router, ctx);
  api::AddOverviewRoutes(router, ctx);
  api::AddComposeRoutes(router, ctx);
  api::AddVersionUsageRoutes(router, ctx);
  router.SetFallback([ctx](Request& req) {
    if (ctx->options.web_ui) return ctx->options.web_ui->Serve(req);
    return JsonError(404, "not found",
                     "no route for " + req.path + "; " + ctx->options.web_ui_missing);
  });
  return router;
}

}  // namespace baton::webapi
