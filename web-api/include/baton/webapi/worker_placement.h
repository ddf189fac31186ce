// Worker placement: which `baton worker` runs a step, as Concourse places work, and why a step
// that no worker can take must wait.
//
// A worker fits a step (workers::WorkerSpec) when it has every tag the step names (an untagged
// step: when it has no tags) and it belongs to the step's team or to no team. Among the workers
// that fit, are not landing and run fewer steps than their capacity: a worker of the step's own
// team first (as Concourse prefers team workers), then the one holding most of the step's
// volumes already (nothing to send), then the fewest running steps, then the one given work
// longest ago, so consecutive steps spread over idle workers.
//
// Pure functions over values; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "baton/workers/worker.h"

namespace baton::webapi {

// A registered worker as placement sees it at one moment.
struct PlacementCandidate {
  std::string name;
  std::vector<std::string> tags;
  std::string team;  // "" = any team's work
  int capacity = 1;
  int running = 0;  // steps placed on it and not finished
  bool landing = false;
  uint64_t last_given = 0;  // placement counter when it last got a step (0 = never)
  int volumes_held = 0;     // how many of the step's volumes it holds at their digest
};

// Whether `worker` may ever run a step with `spec` (load and landing aside).
bool Fits(const PlacementCandidate& worker, const workers::WorkerSpec& spec);

// The index of the worker to run a step with `spec`, or none when it must wait.
std::optional<size_t> ChooseWorker(const std::vector<PlacementCandidate>& workers,
                                   const workers::WorkerSpec& spec);

// Why a step with `spec` waits ("no worker with tags [gpu]; start one with ..."), for the build
// log. REQUIRES: ChooseWorker(workers, spec) found none.
std::string WhyNoWorker(const std::vector<PlacementCandidate>& workers,
                        const workers::WorkerSpec& spec);

}  // namespace baton::webapi
