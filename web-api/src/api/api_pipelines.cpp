// Pipelines: list, get, config (get/set with a version check), destroy, pause, expose.
#include "api_context.h"
#include "baton/pipelines/loader.h"
#include "baton/runner/pipeline_update.h"

namespace baton::webapi::api {

Json DiagnosticsJson(const pipelines::Diagnostics& diags) {
  Json out = Json::array();
  for (const auto& d : diags.items()) {
    out.push_back({{"severity", pipelines::ToString(d.severity)},
                   {"line", d.mark.line},
                   {"column", d.mark.column},
                   {"message", d.message},
                   {"hint", d.hint}});
  }
  return out;
}

namespace {

// PUT body: {"config": "<yaml>", "vars": {...}}; header X-Concourse-Config-Version (or
// "expected_version" in the body) guards against overwriting someone else's change.
Response SetConfig(Context& ctx, Request& req) {
  Json body = Json::parse(req.body, nullptr, false);
  if (!body.is_object() || !body.contains("config") || !body["config"].is_string()) {
    return JsonError(400, "bad request",
                     "expected a JSON body {\"config\": \"<yaml>\", \"vars\": {}}");
  }
  std::string yaml = body["config"];
  pipelines::Vars vars;
  if (body.contains("vars") && body["vars"].is_object()) {
    for (const auto& [k, v] : body["vars"].items()) vars.Set(k, v);
  }
  pipelines::LoadOptions options;
  options.file_name = req.Param("pipeline") + ".yml";
  options.vars = &vars;
  auto load = pipelines::LoadPipeline(yaml, options);
  if (!load.ok()) {
    return Response::Json(400, Json{{"error", "invalid pipeline config"},
                                    {"detail", pipelines::RenderAll(load.diagnostics, yaml)},
                                    {"errors", DiagnosticsJson(load.diagnostics)}});
  }
  auto update = runner::MakePipelineUpdate(req.Param("team"), req.Param("pipeline"), yaml, vars,
                                           *load.config);
  std::string expected = req.headers.Get("X-Concourse-Config-Version").value_or("");
  if (body.contains("expected_version") && body["expected_version"].is_number_integer()) {
    update.expected_version = body["expected_version"].get<int64_t>();
  } else if (!expected.empty()) {
    update.expected_version = std::stoll(expected);
  }
  if (body.value("paused", true) == false) update.paused_when_created = false;
  auto saved = ctx.store.SetPipeline(update);
  if (!saved.ok()) return JsonError(saved.status());
  Status activated = ctx.OnRunner([&] { return ctx.scheduler.ActivatePipeline(saved->id); });
  if (!activated.ok()) return JsonError(activated);
  Json out = PipelineJson(*saved);
  out["warnings"] = DiagnosticsJson(load.diagnostics);
  return Response::Json(200, out);
}

Response GetConfig(Context& ctx, Request& req) {
  auto p = PipelineOf(ctx, req);
  if (!p.ok()) return JsonError(p.status());
  auto config = ctx.store.GetPipelineConfig(p->id, p->config_version);
  if (!config.ok()) return JsonError(config.status());
  Response r = Response::Json(
      200, Json{{"config", config->yaml}, {"vars", config->vars}, {"version", config->version}});
  r.headers.Set("X-Concourse-Config-Version", std::to_string(config->version));
  return r;
}

Response SetPaused(Context& ctx, Request& req, bool paused) {
  auto p = PipelineOf(ctx, req);
  if (!p.ok()) return JsonError(p.status());
  Status s = ctx.store.SetPipelinePaused(p->id, paused);
  if (s.ok()) s = ctx.OnRunner([&] { return ctx.scheduler.ActivatePipeline(p->id); });
  return JsonOr(s, Json{{"paused", paused}});
}

}  // namespace

void AddPipelineRoutes(Router& router, std::shared_ptr<Context> ctx) {
  const std::string base = "/api/v1/teams/:team/pipelines";
  router.Add(
      "GET", base,
      [ctx](Request& req) {
        auto list = ctx->store.ListPipelines(req.Param("team"));
        if (!list.ok()) return JsonError(list.status());
        Json out = Json::array();
        for (const auto& p : *list) out.push_back(PipelineJson(p));
        return Response::Json(200, out);
      },
      Access::kToken);
  router.Add(
      "GET", base + "/:pipeline",
      [ctx](Request& req) {
        auto p = PipelineOf(*ctx, req);
        return p.ok() ? Response::Json(200, PipelineJson(*p)) : JsonError(p.status());
      },
      Access::kToken);
  router.Add(
      "GET", base + "/:pipeline/config", [ctx](Request& req) { return GetConfig(*ctx, req); },
      Access::kToken);
  router.Add(
      "PUT", base + "/:pipeline/config", [ctx](Request& req) { return SetConfig(*ctx, req); },
      Access::kToken);
  router.Add(
      "DELETE", base + "/:pipeline",
      [ctx](Request& req) {
        auto p = PipelineOf(*ctx, req);
        if (!p.ok()) return JsonError(p.status());
        ctx->OnRunner([&] {
          ctx->scheduler.DeactivatePipeline(p->id);
          return 0;
        });
        Status s = ctx->store.DestroyPipeline(req.Param("team"), req.Param("pipeline"));
        return JsonOr(s, Json{{"destroyed", p->name}});
      },
      Access::kToken);
  router.Add(
      "PUT", base + "/:pipeline/pause", [ctx](Request& req) { return SetPaused(*ctx, req, true); },
      Access::kToken);
  router.Add(
      "PUT", base + "/:pipeline/unpause",
      [ctx](Request& req) { return SetPaused(*ctx, req, false); }, Access::kToken);
  for (bool expose : {true, false}) {
    router.Add(
        "PUT", base + (expose ? "/:pipeline/expose" : "/:pipeline/hide"),
        [ctx, expose](Request& req) {
          auto p = PipelineOf(*ctx, req);
          if (!p.ok()) return JsonError(p.status());
          return JsonOr(ctx->store.SetPipelinePublic(p->id, expose), Json{{"public", expose}});
        },
        Access::kToken);
  }
}

}  // namespace baton::webapi::api
