// Resources: list, versions, check now, pin and unpin.
#include "api_context.h"

namespace baton::webapi::api {
namespace {

Response CheckNow(Context& ctx, Request& req) {
  auto p = PipelineOf(ctx, req);
  if (!p.ok()) return JsonError(p.status());
  std::string resource = req.Param("resource");
  auto done = std::make_shared<std::promise<Result<int>>>();
  auto result = done->get_future();
  boost::asio::post(ctx.runner_io, [&ctx, done, id = p->id, resource] {
    ctx.scheduler.CheckResource(id, resource, [done](Result<int> r) { done->set_value(r); });
  });
  if (result.wait_for(std::chrono::minutes(5)) != std::future_status::ready) {
    return JsonError(504, "check timed out", "the check of `" + resource + "` is still running");
  }
  Result<int> r = result.get();
  if (!r.ok()) return JsonError(r.status());
  return Response::Json(200, Json{{"resource", resource}, {"new_versions", *r}});
}

}  // namespace

void AddResourceRoutes(Router& router, std::shared_ptr<Context> ctx) {
  const std::string base = "/api/v1/teams/:team/pipelines/:pipeline/resources";
  router.Add(
      "GET", base,
      [ctx](Request& req) {
        auto p = PipelineOf(*ctx, req);
        if (!p.ok()) return JsonError(p.status());
        auto list = ctx->store.ListResources(p->id);
        if (!list.ok()) return JsonError(list.status());
        Json out = Json::array();
        for (const auto& r : *list) {
          if (r.active) out.push_back(ResourceJson(r));
        }
        return Response::Json(200, out);
      },
      Access::kToken);
  router.Add(
      "GET", base + "/:resource/versions",
      [ctx](Request& req) {
        auto p = PipelineOf(*ctx, req);
        if (!p.ok()) return JsonError(p.status());
        auto r = ctx->store.GetResource(p->id, req.Param("resource"));
        if (!r.ok()) return JsonError(r.status());
        runner::VersionPage page;
        if (auto limit = req.Query("limit"))
          page.limit = std::clamp(std::atoi(limit->c_str()), 1, 1000);
        if (auto before = req.Query("before"))
          page.before_check_order = std::atoll(before->c_str());
        auto versions = ctx->store.ListResourceVersions(r->id, page);
        if (!versions.ok()) return JsonError(versions.status());
        Json out = Json::array();
        for (const auto& v : *versions) out.push_back(VersionJson(v));
        return Response::Json(200, out);
      },
      Access::kToken);
  router.Add(
      "POST", base + "/:resource/check", [ctx](Request& req) { return CheckNow(*ctx, req); },
      Access::kToken);
  router.Add(
      "PUT", base + "/:resource/versions/:version/pin",
      [ctx](Request& req) {
        auto p = PipelineOf(*ctx, req);
        if (!p.ok()) return JsonError(p.status());
        auto r = ctx->store.GetResource(p->id, req.Param("resource"));
        if (!r.ok()) return JsonError(r.status());
        runner::Id version = std::atoll(req.Param("version").c_str());
        // An optional {"comment": "why"} is kept with the pin (shown by the UI).
        Json body = Json::parse(req.body, nullptr, false);
        std::string comment =
            body.is_object() && body.contains("comment") && body["comment"].is_string()
                ? body["comment"].get<std::string>()
                : "pinned through the API";
        Status s = ctx->store.PinResourceVersion(r->id, version, comment);
        if (s.ok()) s = ctx->OnRunner([&] { return ctx->scheduler.ActivatePipeline(p->id); });
        return JsonOr(s, Json{{"pinned_version_id", version}});
      },
      Access::kToken);
  router.Add(
      "PUT", base + "/:resource/unpin",
      [ctx](Request& req) {
        auto p = PipelineOf(*ctx, req);
        if (!p.ok()) return JsonError(p.status());
        auto r = ctx->store.GetResource(p->id, req.Param("resource"));
        if (!r.ok()) return JsonError(r.status());
        Status s = ctx->store.PinResourceVersion(r->id, 0, "");
        if (s.ok()) s = ctx->OnRunner([&] { return ctx->scheduler.ActivatePipeline(p->id); });
        return JsonOr(s, Json{{"pinned_version_id", nullptr}});
      },
      Access::kToken);
}

}  // namespace baton::webapi::api
