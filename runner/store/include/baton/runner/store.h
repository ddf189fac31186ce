// Store: Baton's persistent state, as four roles (DESIGN.md §4, §5):
//   PipelineStore (store_pipelines.h)  teams, pipelines and their config history, jobs,
//                                      resources, versions and pins;
//   BuildStore    (store_builds.h)     builds, their inputs/outputs, retention, artifacts index;
//   EventLog      (store_events.h)     builds' append-only event logs;
//   AccessStore   (store_access.h)     API tokens, webhook deliveries, workers.
// A consumer takes the role it uses; `Store` is every role at once, for the code that composes
// the server (and for one class implementing them all, as SqliteStore does). Every role has one
// conformance suite (tests/runner/store_*_conformance_test.cpp) run against every
// implementation.
//
// The interfaces are value based (Result<T>); every call that changes state is one transaction:
// it happens completely or not at all.
//
// Thread-safety: implementations are safe to call from any thread concurrently.
#pragma once

#include "baton/runner/store_access.h"
#include "baton/runner/store_builds.h"
#include "baton/runner/store_events.h"
#include "baton/runner/store_pipelines.h"

namespace baton::runner {

class Store : public PipelineStore, public BuildStore, public EventLog, public AccessStore {
 public:
  ~Store() override = default;

  // Gives back memory the store keeps only to be faster next time (page caches, compression
  // contexts); they fill again when used. For a server that has gone quiet after work.
  virtual void ReleaseCaches() {}
};

}  // namespace baton::runner
