// What an editor needs to write a pipeline without saving it:
//   POST /api/v1/teams/:team/pipelines/:pipeline/config/validate   the server's own validator
//   GET  /api/v1/schema/pipeline, /api/v1/schema/task               `baton schema` over HTTP
// Validation is the same LoadPipeline that PUT .../config runs, so an editor shows exactly the
// diagnostics a save would refuse with; nothing is stored and the pipeline need not exist.
#include "api_context.h"
#include "api_input.h"
#include "baton/pipelines/loader.h"
#include "baton/pipelines/schema.h"

namespace baton::webapi::api {
namespace {

Response Validate(Request& req) {
  auto body = ReadConfigBody(req);
  if (!body.ok()) return JsonError(body.status());
  const std::string& yaml = body->yaml;
  pipelines::LoadOptions options;
  options.file_name = req.Param("pipeline") + ".yml";
  options.vars = &body->vars;
  auto load = pipelines::LoadPipeline(yaml, options);
  Json errors = Json::array(), warnings = Json::array();
  for (const auto& d : DiagnosticsJson(load.diagnostics)) {
    (d["severity"] == "error" ? errors : warnings).push_back(d);
  }
  return Response::Json(200, Json{{"valid", load.ok()},
                                  {"errors", errors},
                                  {"warnings", warnings},
                                  {"detail", pipelines::RenderAll(load.diagnostics, yaml)}});
}

}  // namespace

void AddComposeRoutes(Router& router, std::shared_ptr<Context> ctx) {
  router.Add(
      "POST", "/api/v1/teams/:team/pipelines/:pipeline/config/validate",
      [](Request& req) {
        // Off the io threads, as PUT .../config: a large pipeline takes a while to validate.
        return Response::Offload([req = std::make_shared<Request>(std::move(req))](WorkClaim&) {
          return Validate(*req);
        });
      },
      Access::kToken);
  // Public: the schema is the same for everyone and says nothing about any pipeline.
  router.Add("GET", "/api/v1/schema/pipeline",
             [](Request&) { return Response::Json(200, pipelines::PipelineSchema()); });
  router.Add("GET", "/api/v1/schema/task",
             [](Request&) { return Response::Json(200, pipelines::TaskSchema()); });
}

}  // namespace baton::webapi::api
