// Jobs (list, get, trigger, pause) and builds (list, get, abort, rerun, events, resources).
#include "api_context.h"
#include "api_input.h"
#include "build_event_source.h"

namespace baton::webapi::api {
namespace {

Result<runner::JobRecord> JobOf(Context& ctx, const Request& req, runner::Id* pipeline_id) {
  BATON_ASSIGN_OR_RETURN(auto p, PipelineOf(ctx, req));
  if (pipeline_id) *pipeline_id = p.id;
  return ctx.store.GetJob(p.id, req.Param("job"));
}

std::optional<runner::Build> LatestFinished(Context& ctx, runner::Id job_id) {
  runner::BuildQuery q;
  q.job_id = job_id;
  q.limit = 1;
  q.statuses = FinishedStatuses();
  q.with_plan = false;  // BuildJson does not show it
  auto builds = ctx.store.ListBuilds(q);
  if (!builds.ok() || builds->empty()) return std::nullopt;
  return builds->front();
}

// ?limit= (1 or more; above 500 it is capped), ?since= and ?until= (build ids).
Response ListBuilds(Context& ctx, runner::BuildQuery q, const Request& req) {
  auto limit = QueryInteger(req, "limit", 1, INT64_MAX);
  if (!limit.ok()) return JsonError(limit.status());
  auto since = QueryInteger(req, "since", 0, INT64_MAX);
  if (!since.ok()) return JsonError(since.status());
  auto until = QueryInteger(req, "until", 0, INT64_MAX);
  if (!until.ok()) return JsonError(until.status());
  q.limit = static_cast<int>(std::min<int64_t>(limit->value_or(50), 500));
  q.since_id = since->value_or(0);
  q.until_id = until->value_or(0);
  q.with_plan = false;  // BuildJson does not show it
  auto builds = ctx.store.ListBuilds(q);
  if (!builds.ok()) return JsonError(builds.status());
  Json out = Json::array();
  for (const auto& b : *builds) out.push_back(BuildJson(b));
  return Response::Json(200, out);
}

// Every job with its newest finished build: three queries however many jobs (was one more per
// job: 40,800 for bench_cluster's W3 polling a 200-job pipeline).
Response ListJobs(Context& ctx, Request& req) {
  auto p = PipelineOf(ctx, req);
  if (!p.ok()) return JsonError(p.status());
  auto jobs = ctx.store.ListJobs(p->id);
  if (!jobs.ok()) return JsonError(jobs.status());
  auto finished = ctx.store.NewestJobBuilds(p->id, FinishedStatuses());
  if (!finished.ok()) return JsonError(finished.status());
  Json out = Json::array();
  for (const auto& j : *jobs) {
    if (j.active) out.push_back(JobJson(j, BuildOfJob(*finished, j.id)));
  }
  return Response::Json(200, out);
}

Result<runner::Id> BuildIdOf(const Request& req) { return PathId(req, "build"); }

// The build a trigger or a rerun created, as 201 (or the command's error).
Response CreatedBuild(const Result<runner::CommandReply>& reply, bool rerun) {
  if (!reply.ok()) return JsonError(reply.status());
  const runner::Build& build = *reply->build;
  Json out = BuildJson(build);
  if (rerun) {
    out["rerun_of"] = build.rerun_of;
    out["rerun_number"] = build.rerun_number;
  }
  return Response::Json(201, out);
}

Response Trigger(Context& ctx, Request& req) {
  runner::Id pipeline_id = 0;
  auto job = JobOf(ctx, req, &pipeline_id);
  if (!job.ok()) return JsonError(job.status());
  return ctx.Send(
      runner::commands::TriggerJob{pipeline_id, job->name},
      [](const Result<runner::CommandReply>& reply) { return CreatedBuild(reply, false); });
}

Response PauseJob(Context& ctx, Request& req, bool pause) {
  runner::Id pipeline_id = 0;
  auto job = JobOf(ctx, req, &pipeline_id);
  if (!job.ok()) return JsonError(job.status());
  return ctx.Send(runner::commands::PauseJob{pipeline_id, job->id, pause},
                  [pause](const Result<runner::CommandReply>& reply) {
                    return JsonOr(reply.status(), Json{{"paused", pause}});
                  });
}

Response Abort(Context& ctx, Request& req) {
  auto id = BuildIdOf(req);
  if (!id.ok()) return JsonError(id.status());
  return ctx.Send(runner::commands::AbortBuild{*id},
                  [id = *id](const Result<runner::CommandReply>& reply) {
                    return JsonOr(reply.status(), Json{{"aborting", id}});
                  });
}

Response Rerun(Context& ctx, Request& req) {
  auto id = BuildIdOf(req);
  if (!id.ok()) return JsonError(id.status());
  return ctx.Send(runner::commands::RerunBuild{*id}, [](const Result<runner::CommandReply>& reply) {
    return CreatedBuild(reply, true);
  });
}

void AddJobRoutesImpl(Router& router, std::shared_ptr<Context> ctx) {
  const std::string base = "/api/v1/teams/:team/pipelines/:pipeline/jobs";
  router.Add(
      "GET", base, [ctx](Request& req) { return ListJobs(*ctx, req); }, Access::kToken);
  router.Add(
      "GET", base + "/:job",
      [ctx](Request& req) {
        auto job = JobOf(*ctx, req, nullptr);
        if (!job.ok()) return JsonError(job.status());
        return Response::Json(200, JobJson(*job, LatestFinished(*ctx, job->id)));
      },
      Access::kToken);
  router.Add(
      "POST", base + "/:job/builds", [ctx](Request& req) { return Trigger(*ctx, req); },
      Access::kToken);
  router.Add(
      "GET", base + "/:job/builds",
      [ctx](Request& req) {
        auto job = JobOf(*ctx, req, nullptr);
        if (!job.ok()) return JsonError(job.status());
        runner::BuildQuery q;
        q.job_id = job->id;
        return ListBuilds(*ctx, q, req);
      },
      Access::kToken);
  router.Add(
      "GET", base + "/:job/builds/:name",
      [ctx](Request& req) {
        auto job = JobOf(*ctx, req, nullptr);
        if (!job.ok()) return JsonError(job.status());
        auto build = ctx->store.GetJobBuild(job->id, req.Param("name"));
        return build.ok() ? Response::Json(200, BuildJson(*build)) : JsonError(build.status());
      },
      Access::kToken);
  for (bool pause : {true, false}) {
    router.Add(
        "PUT", base + (pause ? "/:job/pause" : "/:job/unpause"),
        [ctx, pause](Request& req) { return PauseJob(*ctx, req, pause); }, Access::kToken);
  }
}

}  // namespace

void AddJobRoutes(Router& router, std::shared_ptr<Context> ctx) { AddJobRoutesImpl(router, ctx); }

void AddBuildRoutes(Router& router, std::shared_ptr<Context> ctx) {
  router.Add(
      "GET", "/api/v1/builds", [ctx](Request& req) { return ListBuilds(*ctx, {}, req); },
      Access::kToken);
  router.Add(
      "GET", "/api/v1/builds/:build",
      [ctx](Request& req) {
        auto id = BuildIdOf(req);
        if (!id.ok()) return JsonError(id.status());
        auto build = ctx->store.GetBuild(*id);
        return build.ok() ? Response::Json(200, BuildJson(*build)) : JsonError(build.status());
      },
      Access::kToken);
  router.Add(
      "PUT", "/api/v1/builds/:build/abort", [ctx](Request& req) { return Abort(*ctx, req); },
      Access::kToken);
  router.Add(
      "POST", "/api/v1/builds/:build/rerun", [ctx](Request& req) { return Rerun(*ctx, req); },
      Access::kToken);
  router.Add(
      "GET", "/api/v1/builds/:build/events",
      [ctx](Request& req) {
        auto id = BuildIdOf(req);
        if (!id.ok()) return JsonError(id.status());
        auto build = ctx->store.GetBuild(*id);
        if (!build.ok()) return JsonError(build.status());
        // With several nodes the build may run on another one: follow the store, not this
        // process's event hub.
        auto source = ctx->options.cluster
                          ? MakeBuildEventSource(ctx->store, ctx->store, nullptr, *id)
                          : MakeBuildEventSource(ctx->store, ctx->store, *id);
        return Response::EventStream(std::move(source), req.LastEventId());
      },
      Access::kToken);
  router.Add(
      "GET", "/api/v1/builds/:build/plan",
      [ctx](Request& req) {
        auto id = BuildIdOf(req);
        if (!id.ok()) return JsonError(id.status());
        auto build = ctx->store.GetBuild(*id);
        if (!build.ok()) return JsonError(build.status());
        if (!build->plan.is_object() || !build->plan.contains("plan")) {
          return JsonError(NotFound("build " + std::to_string(*id) +
                                    " has no recorded plan (one-off builds and builds made "
                                    "before plans were recorded)"));
        }
        return Response::Json(200, build->plan);
      },
      Access::kToken);
  router.Add(
      "GET", "/api/v1/builds/:build/resources",
      [ctx](Request& req) {
        auto id = BuildIdOf(req);
        if (!id.ok()) return JsonError(id.status());
        auto inputs = ctx->store.ListBuildInputs(*id);
        auto outputs = ctx->store.ListBuildOutputs(*id);
        if (!inputs.ok()) return JsonError(inputs.status());
        if (!outputs.ok()) return JsonError(outputs.status());
        Json in = Json::array(), out = Json::array();
        for (const auto& i : *inputs) {
          in.push_back(
              {{"name", i.name}, {"version", i.version}, {"first_occurrence", i.first_occurrence}});
        }
        for (const auto& o : *outputs) out.push_back({{"name", o.name}, {"version", o.version}});
        return Response::Json(200, Json{{"inputs", in}, {"outputs", out}});
      },
      Access::kToken);
}

}  // namespace baton::webapi::api
