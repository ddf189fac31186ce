#include "worker_endpoint/worker_routes.h"

#include <algorithm>

#include "baton/common/json.h"
#include "baton/webapi/auth.h"

namespace baton::webapi {

namespace {

// The largest volume chunk one GET answers (the worker sends PUT chunks of at most this size).
constexpr size_t kVolumeChunkBytes = 4u << 20;

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

// A Status as the worker's answer: an unknown session has its own `error`, so that the worker
// registers again and retries instead of dropping the step.
Response WorkerError(const Status& status) {
  if (IsUnknownSession(status)) return JsonError(404, "unknown session", status.message());
  return JsonError(status);
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
  for (const char* held : {"running", "finished"}) {
    for (std::string& id : Strings(body->value(held, Json::array()))) {
      worker.held.push_back(std::move(id));
    }
  }
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
  if (!state.ok()) return WorkerError(state.status());
  return Response::Json(200, Json{{"state", *state}});
}

Response Deregister(const WorkerEndpoint& endpoint, const Request& req) {
  auto body = Body(req);
  if (!body.ok()) return JsonError(body.status());
  Status s = endpoint.registry.Deregister(body->value("session", ""));
  if (!s.ok()) return JsonError(s);
  return Response::Json(200, Json::object());
}

// The steps routes' refusal on a web node that runs its steps itself.
std::optional<Response> RefuseWithoutDispatch(const WorkerEndpoint& endpoint) {
  if (endpoint.steps) return std::nullopt;
  return JsonError(409, "this web node runs its steps itself",
                   "it was started with --local-worker; start it without to give steps to "
                   "`baton worker`s");
}

// Answers an awaited request with a Status: 200 {} or the error.
void ReplyStatus(const Responder& respond, const Status& status) {
  respond(status.ok() ? Response::Json(200, Json::object()) : WorkerError(status));
}

Response TakeWork(const WorkerEndpoint& endpoint, const Request& req) {
  if (auto refusal = RefuseWithoutDispatch(endpoint)) return std::move(*refusal);
  auto body = Body(req);
  if (!body.ok()) return JsonError(body.status());
  std::string session = body->value("session", "");
  // Below the worker's read timeout, so an idle poll ends with an answer, not an error.
  auto wait = std::chrono::milliseconds(std::clamp<int64_t>(body->value("wait_ms", 0), 0, 25'000));
  RemoteWorkers* steps = endpoint.steps;
  return Response::Await([steps, session, wait](Responder respond) {
    steps->TakeWork(session, wait, [respond](Result<Json> answer) {
      respond(answer.ok() ? Response::Json(200, *answer) : WorkerError(answer.status()));
    });
  });
}

Response AddOutput(const WorkerEndpoint& endpoint, const Request& req) {
  if (auto refusal = RefuseWithoutDispatch(endpoint)) return std::move(*refusal);
  auto body = Body(req);
  if (!body.ok()) return JsonError(body.status());
  RemoteWorkers* steps = endpoint.steps;
  return Response::Await([steps, session = body->value("session", ""), step = req.Param("step"),
                          lines = body->value("lines", Json::array())](Responder respond) {
    steps->AddOutput(session, step, lines, [respond](Status s) { ReplyStatus(respond, s); });
  });
}

Response FinishStep(const WorkerEndpoint& endpoint, const Request& req) {
  if (auto refusal = RefuseWithoutDispatch(endpoint)) return std::move(*refusal);
  auto body = Body(req);
  if (!body.ok()) return JsonError(body.status());
  RemoteWorkers* steps = endpoint.steps;
  return Response::Await([steps, session = body->value("session", ""), step = req.Param("step"),
                          report = *body](Responder respond) {
    steps->Finish(session, step, report, [respond](Status s) { ReplyStatus(respond, s); });
  });
}

// ?offset=N (default 0) and the volume index of the path.
Result<std::pair<int, uint64_t>> VolumeAt(const Request& req) {
  try {
    int index = std::stoi(req.Param("index"));
    uint64_t offset = std::stoull(req.Query("offset").value_or("0"));
    return std::make_pair(index, offset);
  } catch (const std::exception&) {
    return InvalidArgument("a volume request needs a numeric volume index and ?offset=");
  }
}

Response ReadVolume(const WorkerEndpoint& endpoint, const Request& req) {
  if (auto refusal = RefuseWithoutDispatch(endpoint)) return std::move(*refusal);
  auto at = VolumeAt(req);
  if (!at.ok()) return JsonError(at.status());
  RemoteWorkers* steps = endpoint.steps;
  return Response::Await([steps, session = req.Query("session").value_or(""),
                          step = req.Param("step"), at = *at](Responder respond) {
    steps->ReadVolume(session, step, at.first, at.second, kVolumeChunkBytes,
                      [respond](Result<RemoteWorkers::Chunk> chunk) {
                        if (!chunk.ok()) return respond(WorkerError(chunk.status()));
                        Response r = Response::Text(200, std::move(chunk->bytes),
                                                    "application/octet-stream");
                        r.headers.Set("X-Baton-Volume-Size", std::to_string(chunk->size));
                        respond(std::move(r));
                      });
  });
}

Response WriteVolume(const WorkerEndpoint& endpoint, const Request& req) {
  if (auto refusal = RefuseWithoutDispatch(endpoint)) return std::move(*refusal);
  auto at = VolumeAt(req);
  if (!at.ok()) return JsonError(at.status());
  Status s = endpoint.steps->WriteVolume(req.Query("session").value_or(""), req.Param("step"),
                                         at->first, at->second, req.body);
  if (!s.ok()) return WorkerError(s);
  return Response::Json(200, Json::object());
}

// PUT /api/v1/workers/:name/land (an API token, not a worker key).
Response LandWorker(const WorkerEndpoint& endpoint, const Request& req) {
  Status s = endpoint.registry.Land(req.Param("name"));
  if (!s.ok()) return JsonError(s);
  return Response::Json(200, Json{{"name", req.Param("name")}, {"state", "landing"}});
}

// PUT /api/v1/workers/:name/retire (an API token).
Response RetireWorker(const WorkerEndpoint& endpoint, const Request& req) {
  Status s = endpoint.registry.Retire(req.Param("name"));
  if (!s.ok()) return JsonError(s);
  return Response::Json(200, Json{{"name", req.Param("name")}, {"state", "retiring"}});
}

// DELETE /api/v1/workers/:name (an API token).
Response PruneWorker(const WorkerEndpoint& endpoint, const Request& req) {
  Status s = endpoint.registry.Prune(req.Param("name"));
  if (!s.ok()) return JsonError(s);
  return Response::Json(200, Json{{"name", req.Param("name")}, {"pruned", true}});
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
  router.Add("POST", "/worker/v2/register", WithKey(endpoint, Register));
  router.Add("POST", "/worker/v2/heartbeat", WithKey(endpoint, Heartbeat));
  router.Add("POST", "/worker/v2/deregister", WithKey(endpoint, Deregister));
  router.Add("POST", "/worker/v2/work", WithKey(endpoint, TakeWork));
  router.Add("POST", "/worker/v2/steps/:step/output", WithKey(endpoint, AddOutput));
  router.Add("GET", "/worker/v2/steps/:step/volumes/:index", WithKey(endpoint, ReadVolume));
  router.Add("PUT", "/worker/v2/steps/:step/volumes/:index", WithKey(endpoint, WriteVolume));
  router.Add("POST", "/worker/v2/steps/:step/result", WithKey(endpoint, FinishStep));
  router.Add(
      "PUT", "/api/v1/workers/:name/land",
      [endpoint](Request& req) { return LandWorker(*endpoint, req); }, Access::kToken);
  router.Add(
      "PUT", "/api/v1/workers/:name/retire",
      [endpoint](Request& req) { return RetireWorker(*endpoint, req); }, Access::kToken);
  router.Add(
      "DELETE", "/api/v1/workers/:name",
      [endpoint](Request& req) { return PruneWorker(*endpoint, req); }, Access::kToken);
}

}  // namespace baton::webapi
