// Whole-pipeline and whole-team reads in one request each, so a page with 500 jobs or a
// dashboard with 200 pipelines costs one round trip instead of hundreds:
//   GET /api/v1/teams/:team/dashboard                       every pipeline with its jobs' state
//   GET /api/v1/teams/:team/pipelines/:pipeline/overview    jobs with inputs/outputs, groups,
//                                                           resources: what a graph needs
// The inputs and outputs come from the current config, re-read with the vars it was set with.
#include "api_context.h"
#include "baton/pipelines/loader.h"

namespace baton::webapi::api {
namespace {

using runner::BuildStatus;

// The newest finished and the newest unfinished build of each job of a pipeline: two queries for
// the whole pipeline (were two per job).
struct JobBuilds {
  std::map<runner::Id, runner::Build> finished, running;
};

Result<JobBuilds> JobBuildsOf(Context& ctx, runner::Id pipeline_id) {
  JobBuilds out;
  BATON_ASSIGN_OR_RETURN(out.finished, ctx.store.NewestJobBuilds(pipeline_id, FinishedStatuses()));
  BATON_ASSIGN_OR_RETURN(
      out.running,
      ctx.store.NewestJobBuilds(pipeline_id, {BuildStatus::kPending, BuildStatus::kStarted}));
  return out;
}

// The job as GET .../jobs/:job gives it, plus "next_build": the newest build still pending or
// running (null when none), so a page can show it pulsing.
Json JobStateJson(const JobBuilds& builds, const runner::JobRecord& job) {
  Json out = JobJson(job, BuildOfJob(builds.finished, job.id));
  auto running = BuildOfJob(builds.running, job.id);
  out["next_build"] = running ? BuildJson(*running) : Json();
  return out;
}

// The pipeline's current config, interpolated with the vars it was set with.
Result<pipelines::PipelineConfig> CurrentConfig(Context& ctx, const runner::PipelineRecord& p) {
  BATON_ASSIGN_OR_RETURN(auto stored, ctx.store.GetPipelineConfig(p.id, p.config_version));
  pipelines::Vars vars;
  for (const auto& [k, v] : stored.vars.items()) vars.SetExact(k, v);
  pipelines::LoadOptions options;
  options.file_name = p.name + ".yml";
  options.vars = &vars;
  auto load = pipelines::LoadPipeline(stored.yaml, options);
  if (!load.config) return Internal("the stored config of " + p.name + " no longer loads");
  return std::move(*load.config);
}

// {"inputs": [{name, resource, passed, trigger}], "outputs": [{name, resource}]} of a job,
// from every get and put in its plan (nested steps and hooks included).
Json JobIoJson(const pipelines::Job& job) {
  Json inputs = Json::array(), outputs = Json::array();
  pipelines::ForEachStep(job, [&](const pipelines::Step& step) {
    if (const auto* get = std::get_if<pipelines::GetStep>(&step.body)) {
      inputs.push_back({{"name", get->name},
                        {"resource", get->resource},
                        {"passed", get->passed},
                        {"trigger", get->trigger}});
    } else if (const auto* put = std::get_if<pipelines::PutStep>(&step.body)) {
      outputs.push_back({{"name", put->name}, {"resource", put->resource}});
    }
  });
  return {{"inputs", inputs}, {"outputs", outputs}};
}

Json GroupsJson(const pipelines::PipelineConfig& config) {
  Json groups = Json::array();
  for (const auto& g : config.groups) {
    groups.push_back({{"name", g.name}, {"jobs", g.jobs}, {"resources", g.resources}});
  }
  return groups;
}

Response Overview(Context& ctx, Request& req) {
  auto p = PipelineOf(ctx, req);
  if (!p.ok()) return JsonError(p.status());
  auto config = CurrentConfig(ctx, *p);
  auto jobs = ctx.store.ListJobs(p->id);
  auto resources = ctx.store.ListResources(p->id);
  Status s = !config.ok() ? config.status() : !jobs.ok() ? jobs.status() : resources.status();
  if (!s.ok()) return JsonError(s);
  auto builds = JobBuildsOf(ctx, p->id);
  if (!builds.ok()) return JsonError(builds.status());
  std::map<std::string, const pipelines::Job*> declared;
  for (const auto& j : config->jobs) declared[j.name] = &j;
  Json out = {{"pipeline", PipelineJson(*p)}, {"groups", GroupsJson(*config)}};
  out["jobs"] = Json::array();
  for (const auto& j : *jobs) {
    if (!j.active || !declared.count(j.name)) continue;
    Json job = JobStateJson(*builds, j);
    job.update(JobIoJson(*declared[j.name]));
    job["disable_manual_trigger"] = declared[j.name]->disable_manual_trigger;
    out["jobs"].push_back(std::move(job));
  }
  out["resources"] = Json::array();
  for (const auto& r : *resources) {
    if (r.active) out["resources"].push_back(ResourceJson(r));
  }
  return Response::Json(200, out);
}

// Anonymous callers see only public pipelines (Access::kToken lets them in; see api_public).
Response Dashboard(Context& ctx, Request& req) {
  auto pipelines = ctx.store.ListPipelines(req.Param("team"));
  if (!pipelines.ok()) return JsonError(pipelines.status());
  Json out = Json::array();
  for (const auto& p : *pipelines) {
    if (req.principal.empty() && !p.public_) continue;
    auto jobs = ctx.store.ListJobs(p.id);
    if (!jobs.ok()) return JsonError(jobs.status());
    auto builds = JobBuildsOf(ctx, p.id);
    if (!builds.ok()) return JsonError(builds.status());
    Json card = PipelineJson(p);
    card["jobs"] = Json::array();
    for (const auto& j : *jobs) {
      if (j.active) card["jobs"].push_back(JobStateJson(*builds, j));
    }
    out.push_back(std::move(card));
  }
  return Response::Json(200, out);
}

}  // namespace

void AddOverviewRoutes(Router& router, std::shared_ptr<Context> ctx) {
  router.Add(
      "GET", "/api/v1/teams/:team/dashboard", [ctx](Request& req) { return Dashboard(*ctx, req); },
      Access::kToken);
  router.Add(
      "GET", "/api/v1/teams/:team/pipelines/:pipeline/overview",
      [ctx](Request& req) { return Overview(*ctx, req); }, Access::kToken);
}

}  // namespace baton::webapi::api
