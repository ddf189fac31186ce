#include "worker_endpoint/worker_routes.h"

#include "baton/common/json.h"
#include "baton/webapi/auth.h"

namespace baton::webapi {

namespace {

using Endpoint = std::shared_ptr<const WorkerEndpoint>;

// The 401 for a request without an accepted worker key, or nullopt when the key is good.
std::optional<Response> RefuseUnknownKey(const WorkerEndpoint& endpoint, const Request& req) {
  auto key = BearerToken(req.headers.Get("Authorization").value_or(""));
  if (!key) {
    return JsonError(401, "worker key missing",
                     "send `Authorization: Bearer <key>` with the key of the worker's --key file");
  }
  if (endpoint.keys.empty()) {
    return JsonError(401, "this web node accepts no workers",
                     "start the web node with --worker-key FILE (the worker's key file, or a "
                     "file of keys one per line)");
  }
  if (!endpoint.keys.Accepts(*key)) {
    return JsonError(401, "unknown worker key",
                     "the key in the worker's --key file is not in any of the web node's "
                     "--worker-key files; add it there and restart the web node");
  }
  return std::nullopt;
}

Result<Json> Body(const Request& req) {
  Json body = Json::parse(req.body, nullptr, false);
  if (!body.is_object()) return InvalidArgument("the request body is not a JSON object");
  return body;
}

std::vector<std::string> Strings(const Json& value) {
  std::vector<std::string> out;
  if (value.is_array()) {
    for (const auto& v : value) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
  }
  return out;
}

Response Register(const WorkerEndpoint& endpoint, const Request& req) {
  auto body = Body(req);
  if (!body.ok()) return JsonError(body.status());
  int protocol = body->value("protocol", 0);
  if (protocol != kWorkerProtocolVersion) {
    return JsonError(400, "unsupported worker protocol",
                     "this web node speaks worker protocol " +
                         std::to_string(kWorkerProtocolVersion) + ", the worker " +
                         std::to_string(protocol) + "; run the same baton version on both");
  }
  WorkerRegistration worker;
  worker.name = body->value("name", "");
  worker.platform = body->value("platform", "linux");
  worker.tags = Strings(body->value("tags", Json::array()));
  worker.team = body->value("team", "");
  worker.capacity = body->value("capacity", 0);
  worker.version = body->value("version", "");
  worker.hostname = body->value("hostname", "");
  worker.isolation = body->value("isolation", "");
  auto session = endpoint.registry.Register(worker);
  if (!session.ok()) return JsonError(session.status());
  return Response::Json(200,
                        Json{{"protocol", kWorkerProtocolVersion},
                             {"session", *session},
                             {"heartbeat_every_ms", endpoint.registry.heartbeat_every().count()}});
}

Response Heartbeat(const WorkerEndpoint& endpoint, const Request& req) {
  auto body = Body(req);
  if (!body.ok()) return JsonError(body.status());
  WorkerActivity activity;
  activity.active_containers = body->value("active_containers", 0);
  activity.active_tasks = body->value("active_tasks", 0);
  auto state = endpoint.registry.Heartbeat(body->value("session", ""), activity);
  if (!state.ok()) return JsonError(state.status());
  return Response::Json(200, Json{{"state", *state}});
}

Response Deregister(const WorkerEndpoint& endpoint, const Request& req) {
  auto body = Body(req);
  if (!body.ok()) return JsonError(body.status());
  Status s = endpoint.registry.Deregister(body->value("session", ""));
  if (!s.ok()) return JsonError(s);
  return Response::Json(200, Json::object());
}

// Wraps a worker handler with the key check.
Handler WithKey(Endpoint endpoint, Response (*handler)(const WorkerEndpoint&, const Request&)) {
  return [endpoint = std::move(endpoint), handler](Request& req) {
    if (auto refusal = RefuseUnknownKey(*endpoint, req)) return std::move(*refusal);
    return handler(*endpoint, req);
  };
}

}  // namespace

void AddWorkerRoutes(Router& router, Endpoint endpoint) {
  router.Add("POST", "/worker/v1/register", WithKey(endpoint, Register));
  router.Add("POST", "/worker/v1/heartbeat", WithKey(endpoint, Heartbeat));
  router.Add("POST", "/worker/v1/deregister", WithKey(endpoint, Deregister));
}

}  // namespace baton::webapi
