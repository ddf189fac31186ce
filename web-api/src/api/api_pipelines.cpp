// Pipelines: list, get, config (get/set with a version check), destroy, pause, expose.
#include "api_context.h"
#include "api_input.h"
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

Result<ConfigBody> ReadConfigBody(const Request& req) {
  BATON_ASSIGN_OR_RETURN(Json body, JsonObjectBody(req, false));
  ConfigBody out;
  BATON_ASSIGN_OR_RETURN(out.yaml, RequiredString(body, "config"));
  BATON_ASSIGN_OR_RETURN(auto vars, OptionalObject(body, "vars"));
  if (vars) {
    for (const auto& [k, v] : vars->items()) out.vars.Set(k, v);
  }
  BATON_ASSIGN_OR_RETURN(out.expected_version, OptionalInteger(body, "expected_version"));
  BATON_ASSIGN_OR_RETURN(out.paused, OptionalBool(body, "paused"));
  return out;
}

namespace {

// PUT body: {"config": "<yaml>", "vars": {...}}; header X-Concourse-Config-Version (or
// "expected_version" in the body) guards against overwriting someone else's change.
// Runs on the server's work threads (Response::Offload): parsing is bounded, but a large
// pipeline still takes long enough that it must not hold an io thread.
Response SetConfig(Context& ctx, Request& req, WorkClaim& claim) {
  auto body = ReadConfigBody(req);
  if (!body.ok()) return JsonError(body.status());
  Status named = CheckName(req.Param("team"), "team name");
  if (named.ok()) named = CheckName(req.Param("pipeline"), "pipeline name");
  if (!named.ok()) return JsonError(named);
  auto header_version = HeaderInteger(req, "X-Concourse-Config-Version", 0, INT64_MAX);
  if (!header_version.ok()) return JsonError(header_version.status());
  const std::string& yaml = body->yaml;
  const pipelines::Vars& vars = body->vars;
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
  if (body->expected_version) {
    update.expected_version = *body->expected_version;
  } else if (*header_version) {
    update.expected_version = **header_version;
  }
  if (body->paused == false) update.paused_when_created = false;
  if (!claim.Commit()) return JsonError(503, "service unavailable", "deadline passed");
  // The scheduler saves the config and runs it as parsed here: it is parsed once.
  runner::commands::SetPipeline command{
      std::move(update),
      std::make_shared<const pipelines::PipelineConfig>(std::move(*load.config))};
  Json warnings = DiagnosticsJson(load.diagnostics);
  return ctx.Send(std::move(command),
                  [warnings = std::move(warnings)](const Result<runner::CommandReply>& reply) {
                    if (!reply.ok()) return JsonError(reply.status());
                    Json out = PipelineJson(*reply->pipeline);
                    out["warnings"] = warnings;
                    return Response::Json(200, out);
                  });
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
  return ctx.Send(runner::commands::PausePipeline{p->id, paused},
                  [paused](const Result<runner::CommandReply>& reply) {
                    return JsonOr(reply.status(), Json{{"paused", paused}});
                  });
}

Response Destroy(Context& ctx, Request& req) {
  auto p = PipelineOf(ctx, req);
  if (!p.ok()) return JsonError(p.status());
  return ctx.Send(runner::commands::DestroyPipeline{p->id, p->team, p->name},
                  [name = p->name](const Result<runner::CommandReply>& reply) {
                    return JsonOr(reply.status(), Json{{"destroyed", name}});
                  });
}

Response SetExposed(Context& ctx, Request& req, bool expose) {
  auto p = PipelineOf(ctx, req);
  if (!p.ok()) return JsonError(p.status());
  return ctx.Send(runner::commands::ExposePipeline{p->id, expose},
                  [expose](const Result<runner::CommandReply>& reply) {
                    return JsonOr(reply.status(), Json{{"public", expose}});
                  });
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
      "PUT", base + "/:pipeline/config",
      [ctx](Request& req) {
        return Response::Offload([ctx, req = std::make_shared<Request>(std::move(req))](
                                     WorkClaim& claim) { return SetConfig(*ctx, *req, claim); });
      },
      Access::kToken);
  router.Add(
      "DELETE", base + "/:pipeline", [ctx](Request& req) { return Destroy(*ctx, req); },
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
        [ctx, expose](Request& req) { return SetExposed(*ctx, req, expose); }, Access::kToken);
  }
}

}  // namespace baton::webapi::api
