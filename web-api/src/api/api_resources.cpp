// Resources: list, versions, check now (and follow the check), pin and unpin.
#include "api_context.h"
#include "api_input.h"
#include "baton/common/strings.h"

namespace baton::webapi::api {
namespace {

std::optional<std::string> Rfc3339(const std::optional<SystemTime>& t) {
  if (!t) return std::nullopt;
  return FormatRfc3339(*t);
}

}  // namespace

Json CheckJson(const runner::CheckRecord& c) {
  Json out = {{"id", c.id},
              {"team", c.team},
              {"pipeline", c.pipeline},
              {"resource", c.resource},
              {"status", runner::ToString(c.status)},
              {"url", "/api/v1/checks/" + std::to_string(c.id)},
              {"create_time", FormatRfc3339(c.create_time)}};
  if (auto t = Rfc3339(c.start_time)) out["start_time"] = *t;
  if (auto t = Rfc3339(c.end_time)) out["end_time"] = *t;
  if (c.status == runner::CheckStatus::kSucceeded) out["new_versions"] = c.new_versions;
  if (c.status == runner::CheckStatus::kErrored) out["error"] = c.error;
  return out;
}

namespace {

// Queues a check and answers at once with its id, as Concourse's check API does: the I/O
// thread never waits for a check (a remote that never answers would hold it for minutes).
Response CheckNow(Context& ctx, Request& req) {
  auto p = PipelineOf(ctx, req);
  if (!p.ok()) return JsonError(p.status());
  std::string resource = req.Param("resource");
  auto r = ctx.store.GetResource(p->id, resource);
  if (!r.ok() && r.status().code() != StatusCode::kNotFound) return JsonError(r.status());
  if (!r.ok() || !r->active) {
    return JsonError(404, "not found",
                     "pipeline `" + p->name + "` has no resource `" + resource +
                         "`: list them with GET .../resources");
  }
  runner::CheckRecord check =
      ctx.scheduler.checks().Create(req.Param("team"), p->name, p->id, resource);
  boost::asio::post(ctx.runner_io, [&ctx, id = check.id] { ctx.scheduler.RunCheck(id); });
  Response response = Response::Json(202, CheckJson(check));
  response.headers.Set("Location", "/api/v1/checks/" + std::to_string(check.id));
  return response;
}

Response GetCheck(Context& ctx, Request& req) {
  const std::string text = req.Param("id");
  runner::Id id = 0;
  for (char c : text) {
    if (c < '0' || c > '9' || id > (INT64_MAX - 9) / 10) {
      id = 0;
      break;
    }
    id = id * 10 + (c - '0');
  }
  if (id <= 0) {
    return JsonError(400, "bad request",
                     "check id `" + text + "` is not a positive number: use the `id` that " +
                         "POST .../resources/:resource/check answered");
  }
  auto check = ctx.scheduler.checks().Get(id);
  if (!check) {
    return JsonError(404, "not found",
                     "no check " + text + " on this server (checks are kept in memory, the " +
                         "newest 1000 finished ones): check the resource again");
  }
  return Response::Json(200, CheckJson(*check));
}

// PUT .../versions/:version/pin with an optional {"comment": "why"} (shown by the UI).
Response Pin(Context& ctx, Request& req) {
  auto p = PipelineOf(ctx, req);
  if (!p.ok()) return JsonError(p.status());
  auto r = ctx.store.GetResource(p->id, req.Param("resource"));
  if (!r.ok()) return JsonError(r.status());
  auto version = PathId(req, "version");
  if (!version.ok()) return JsonError(version.status());
  auto body = JsonObjectBody(req, true);
  if (!body.ok()) return JsonError(body.status());
  auto given = OptionalString(*body, "comment");
  if (!given.ok()) return JsonError(given.status());
  std::string comment = given->value_or("pinned through the API");
  return ctx.Send(runner::commands::PinVersion{p->id, r->id, *version, std::move(comment)},
                  [version = *version](const Result<runner::CommandReply>& reply) {
                    return JsonOr(reply.status(), Json{{"pinned_version_id", version}});
                  });
}

Response Unpin(Context& ctx, Request& req) {
  auto p = PipelineOf(ctx, req);
  if (!p.ok()) return JsonError(p.status());
  auto r = ctx.store.GetResource(p->id, req.Param("resource"));
  if (!r.ok()) return JsonError(r.status());
  return ctx.Send(runner::commands::PinVersion{p->id, r->id, 0, ""},
                  [](const Result<runner::CommandReply>& reply) {
                    return JsonOr(reply.status(), Json{{"pinned_version_id", nullptr}});
                  });
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
        // ?limit= (1 or more; above 1000 it is capped), ?before= (a check order).
        auto limit = QueryInteger(req, "limit", 1, INT64_MAX);
        if (!limit.ok()) return JsonError(limit.status());
        auto before = QueryInteger(req, "before", 0, INT64_MAX);
        if (!before.ok()) return JsonError(before.status());
        runner::VersionPage page;
        if (*limit) page.limit = static_cast<int>(std::min<int64_t>(**limit, 1000));
        if (*before) page.before_check_order = **before;
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
      "GET", "/api/v1/checks/:id", [ctx](Request& req) { return GetCheck(*ctx, req); },
      Access::kToken);
  router.Add(
      "PUT", base + "/:resource/versions/:version/pin",
      [ctx](Request& req) { return Pin(*ctx, req); }, Access::kToken);
  router.Add(
      "PUT", base + "/:resource/unpin", [ctx](Request& req) { return Unpin(*ctx, req); },
      Access::kToken);
}

}  // namespace baton::webapi::api
