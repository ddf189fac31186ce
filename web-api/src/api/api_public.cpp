// Public pipelines (`baton expose-pipeline`, PUT .../expose) are readable without logging in,
// as in Concourse: anonymous GETs of a public pipeline, its jobs, builds, logs and resources,
// and the dashboard (which then lists only public pipelines). Never its config: the YAML and
// its vars are for the team, nor its stored artifacts.
#include "api_context.h"
#include "api_input.h"

namespace baton::webapi::api {
namespace {

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() && text.substr(text.size() - suffix.size()) == suffix;
}

bool PipelineIsPublic(Context& ctx, runner::Id pipeline_id) {
  auto p = ctx.store.GetPipelineById(pipeline_id);
  return p.ok() && p->public_;
}

bool AnonymousMayRead(Context& ctx, const Request& req) {
  if (req.method != "GET" && req.method != "HEAD") return false;
  if (!req.Param("pipeline").empty()) {
    if (req.path.find("/config") != std::string::npos) return false;
    // Stored artifacts (reports, binaries) are the team's, as the config is.
    if (req.path.find("/artifact") != std::string::npos) return false;
    auto p = ctx.store.GetPipeline(req.Param("team"), req.Param("pipeline"));
    return p.ok() && p->public_;
  }
  if (!req.Param("build").empty()) {
    auto id = PathId(req, "build");
    if (!id.ok()) return false;  // the handler answers 400
    auto build = ctx.store.GetBuild(*id);
    return build.ok() && build->pipeline_id != 0 && PipelineIsPublic(ctx, build->pipeline_id);
  }
  return EndsWith(req.path, "/dashboard");
}

}  // namespace

void AddPublicAccess(Router& router, std::shared_ptr<Context> ctx) {
  router.SetAnonymousAccess([ctx](const Request& req) { return AnonymousMayRead(*ctx, req); });
}

}  // namespace baton::webapi::api
