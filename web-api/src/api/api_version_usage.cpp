// GET .../resources/:resource/versions/:version/input_to: the builds that used a version as an
// input (Concourse's route), newest first. It reads the latest 100 builds of each active job;
// older uses are not listed (a store query over build inputs would lift that bound).
#include "api_context.h"
#include "api_input.h"

namespace baton::webapi::api {
namespace {

constexpr int kBuildsPerJob = 100;

Response InputTo(Context& ctx, Request& req) {
  auto p = PipelineOf(ctx, req);
  if (!p.ok()) return JsonError(p.status());
  auto resource = ctx.store.GetResource(p->id, req.Param("resource"));
  if (!resource.ok()) return JsonError(resource.status());
  auto version_id = PathId(req, "version");
  if (!version_id.ok()) return JsonError(version_id.status());
  const runner::Id version = *version_id;
  auto jobs = ctx.store.ListJobs(p->id);
  if (!jobs.ok()) return JsonError(jobs.status());
  std::vector<runner::Build> used;
  for (const auto& job : *jobs) {
    runner::BuildQuery q;
    q.job_id = job.id;
    q.limit = kBuildsPerJob;
    auto builds = ctx.store.ListBuilds(q);
    if (!builds.ok()) return JsonError(builds.status());
    for (const auto& b : *builds) {
      auto inputs = ctx.store.ListBuildInputs(b.id);
      if (!inputs.ok()) return JsonError(inputs.status());
      for (const auto& in : *inputs) {
        if (in.resource_version_id == version) {
          used.push_back(b);
          break;
        }
      }
    }
  }
  std::sort(used.begin(), used.end(), [](const auto& a, const auto& b) { return a.id > b.id; });
  Json out = Json::array();
  for (const auto& b : used) out.push_back(BuildJson(b));
  return Response::Json(200, out);
}

}  // namespace

void AddVersionUsageRoutes(Router& router, std::shared_ptr<Context> ctx) {
  router.Add(
      "GET",
      "/api/v1/teams/:team/pipelines/:pipeline/resources/:resource/versions/:version/input_to",
      [ctx](Request& req) { return InputTo(*ctx, req); }, Access::kToken);
}

}  // namespace baton::webapi::api
