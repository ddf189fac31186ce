// The worker endpoint (/worker/v1/...): how `baton worker` registers, heartbeats and
// deregisters (docs/workers.md). Every request carries `Authorization: Bearer <worker key>`,
// checked against WorkerKeys only — never against API tokens.
#pragma once

#include <memory>

#include "baton/webapi/router.h"
#include "baton/webapi/worker_keys.h"
#include "worker_endpoint/worker_registry.h"

namespace baton::webapi {

struct WorkerEndpoint {
  WorkerKeys keys;
  WorkerRegistry& registry;
};

void AddWorkerRoutes(Router& router, std::shared_ptr<const WorkerEndpoint> endpoint);

}  // namespace baton::webapi
