// Webhooks: Concourse's per-resource URL with ?webhook_token=, and forge endpoints that verify
// the forge's signature with the matching resources' webhook_token. Both reply at once and run
// the checks afterwards on the runner thread; deliveries are recorded, and a repeated delivery
// id is acknowledged without checking again. A forge push that names exactly a git resource's
// next version (PushedCommit) records it and schedules its jobs before the check runs.
#include <optional>
#include <utility>

#include "api_context.h"
#include "baton/common/clock.h"
#include "baton/common/sha256.h"
#include "baton/webapi/auth.h"
#include "baton/webapi/webhooks.h"

namespace baton::webapi::api {
namespace {

// Records the delivery; false when this delivery id was already handled.
bool FirstDelivery(Context& ctx, const std::string& provider, const std::string& id,
                   const std::string& body, const std::string& status) {
  if (id.empty()) return true;
  runner::WebhookDelivery d;
  d.provider = provider;
  d.delivery_id = id;
  d.received_at = ctx.Now();
  d.status = status;
  d.body_sha256 = Sha256Hex(body);
  auto first = ctx.store.RecordWebhookDelivery(d);
  return !first.ok() || *first;
}

// A resource to check, with the commit its push named when that is exactly its next version
// (PushedCommit): that version is recorded and scheduled before the check runs.
struct ToCheck {
  runner::ActiveResource resource;
  std::optional<std::string> pushed;
};

// Queues a check of each resource (followed like the API's, at GET /api/v1/checks/:id) and
// returns them as JSON; the delivery is answered at once.
Json CheckLater(Context& ctx, const std::vector<ToCheck>& resources) {
  Json checks = Json::array();
  std::vector<std::pair<runner::Id, std::optional<std::string>>> ids;
  for (const auto& [r, pushed] : resources) {
    runner::CheckRecord c =
        ctx.scheduler.checks().Create(r.team, r.pipeline, r.pipeline_id, r.name);
    ids.emplace_back(c.id, pushed);
    checks.push_back(CheckJson(c));
  }
  boost::asio::post(ctx.runner_io, [&ctx, ids] {
    for (const auto& [id, pushed] : ids) {
      if (pushed) {
        ctx.scheduler.RecordPushedVersion(id, Json{{"ref", *pushed}});
      } else {
        ctx.scheduler.RunCheck(id);
      }
    }
  });
  return checks;
}

Response ResourceWebhook(Context& ctx, Request& req, WorkClaim& claim) {
  std::string token = req.Query("webhook_token").value_or("");
  auto all = ctx.OnRunner([&] { return ctx.scheduler.ActiveResources(); });
  for (const auto& r : all) {
    if (r.team != req.Param("team") || r.pipeline != req.Param("pipeline") ||
        r.name != req.Param("resource")) {
      continue;
    }
    if (r.webhook_token.empty() || !ConstantTimeEquals(token, r.webhook_token)) {
      return JsonError(401, "unauthorized",
                       "webhook_token does not match the resource's webhook_token");
    }
    std::string delivery = req.headers.Get("X-GitHub-Delivery").value_or("");
    if (!claim.Commit()) return JsonError(503, "service unavailable", "deadline passed");
    if (!FirstDelivery(ctx, "resource", delivery, req.body, "accepted")) {
      return Response::Json(200, Json{{"duplicate", true}});
    }
    Json checks = CheckLater(ctx, {ToCheck{r, std::nullopt}});
    return Response::Json(201, Json{{"checking", r.name}, {"check", checks[0]}});
  }
  return JsonError(404, "not found",
                   "no resource `" + req.Param("resource") + "` in pipeline `" +
                       req.Param("pipeline") + "` of team `" + req.Param("team") + "`");
}

// The signature is checked before the payload is read: against the webhook_token of every
// active git resource (a forge signs the raw body), so an unsigned or forged delivery costs one
// HMAC per token and is refused without its JSON ever being parsed. Only then is the payload
// parsed (defensively: a wrong type is a 400 naming the field) and matched to the resources
// whose token verified.
Response ForgeWebhook(Context& ctx, Request& req, WorkClaim& claim) {
  auto forge = ParseForge(req.Param("forge"));
  if (!forge.ok()) return JsonError(forge.status());
  HeaderLookup headers = [&req](std::string_view name) {
    return req.headers.Get(name).value_or("");
  };
  auto all = ctx.OnRunner([&] { return ctx.scheduler.ActiveResources(); });
  std::vector<runner::ActiveResource> verified;
  for (const auto& r : all) {
    if (r.type != "git" || r.webhook_token.empty()) continue;
    if (VerifySignature(*forge, headers, req.body, r.webhook_token).ok()) verified.push_back(r);
  }
  if (verified.empty()) {
    return JsonError(401, "unauthorized",
                     std::string("the ") + ToString(*forge) +
                         " signature does not verify with the webhook_token of any git "
                         "resource: set the webhook's secret to the resource's webhook_token");
  }
  auto event = ParseEvent(*forge, headers, req.body);
  if (!event.ok()) return JsonError(event.status());
  std::vector<runner::ActiveResource> matched;
  for (const auto& r : verified) {
    if (EventMatchesGitSource(*event, r.source)) matched.push_back(r);
  }
  if (!claim.Commit()) return JsonError(503, "service unavailable", "deadline passed");
  if (!FirstDelivery(ctx, ToString(*forge), event->delivery_id, req.body, "accepted")) {
    return Response::Json(200, Json{{"duplicate", true}});
  }
  if (event->kind == ForgeEvent::Kind::kPing) return Response::Json(200, Json{{"pong", true}});
  if (event->kind != ForgeEvent::Kind::kPush) {
    return Response::Json(202, Json{{"ignored", event->event_name}});
  }
  if (matched.empty()) {
    return Response::Json(202, Json{{"checking", Json::array()},
                                    {"checks", Json::array()},
                                    {"detail", "no git resource with this secret tracks " +
                                                   event->repository + " on the pushed branch"}});
  }
  // A push that names exactly the resource's next version schedules it before the check.
  std::vector<ToCheck> to_check;
  Json names = Json::array(), pushed = Json::array();
  for (const auto& r : matched) {
    to_check.push_back({r, PushedCommit(*event, r.source)});
    names.push_back(r.pipeline + "/" + r.name);
    if (to_check.back().pushed) pushed.push_back(r.pipeline + "/" + r.name);
  }
  Json checks = CheckLater(ctx, to_check);
  return Response::Json(202, Json{{"checking", names}, {"checks", checks}, {"pushed", pushed}});
}

}  // namespace

void AddWebhookRoutes(Router& router, std::shared_ptr<Context> ctx) {
  // On the server's work threads: reading the scheduler's resources waits for its thread, and
  // an io thread must never wait for the scheduler.
  router.Add("POST", "/api/v1/teams/:team/pipelines/:pipeline/resources/:resource/check/webhook",
             [ctx](Request& req) {
               return Response::Offload(
                   [ctx, req = std::make_shared<Request>(std::move(req))](WorkClaim& claim) {
                     return ResourceWebhook(*ctx, *req, claim);
                   });
             });
  router.Add("POST", "/api/v1/webhooks/:forge", [ctx](Request& req) {
    return Response::Offload([ctx, req = std::make_shared<Request>(std::move(req))](
                                 WorkClaim& claim) { return ForgeWebhook(*ctx, *req, claim); });
  });
}

}  // namespace baton::webapi::api
