// The worker endpoint (/worker/v2/...): how `baton worker` registers, heartbeats, takes steps,
// moves their volumes, streams their output, reports their results and deregisters
// (docs/workers.md). Every request carries `Authorization: Bearer <worker key>`, checked against
// WorkerKeys only — never against API tokens — and names its session: a worker reports only on
// the steps given to its own session.
#pragma once

#include <memory>

#include "baton/webapi/router.h"
#include "baton/webapi/worker_keys.h"
#include "runtime/remote_workers.h"
#include "worker_endpoint/worker_registry.h"

namespace baton::webapi {

struct WorkerEndpoint {
  WorkerKeys keys;
  WorkerRegistry& registry;
  RemoteWorkers* steps = nullptr;  // null: this web node runs its steps itself (--local-worker)
};

void AddWorkerRoutes(Router& router, std::shared_ptr<const WorkerEndpoint> endpoint);

}  // namespace baton::webapi
