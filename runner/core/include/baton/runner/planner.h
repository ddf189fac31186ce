// Planner: decides which resource versions a job's next build should use, with Concourse's
// rules for `passed:` (a version must have gone through every named job; inputs that share an
// upstream job must come from the same successful build of it — fan-in consistency),
// `version: latest | every | {pinned}`, resource-level pins, and `trigger: true`.
//
// Pure: a snapshot of versions and build history in, a decision out. No I/O, no clock.
// Thread-compatible.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "baton/common/json.h"
#include "baton/pipelines/pipeline_config.h"

namespace baton::runner {

// One version of a resource, in check order (older versions have smaller `order`).
struct VersionRecord {
  int64_t id = 0;  // unique across the pipeline
  int64_t order = 0;
  Json version;
  bool disabled = false;
};

// One finished, successful build of a job, with every version it used or produced, by resource.
struct SucceededBuild {
  int64_t build_id = 0;  // larger is newer
  std::map<std::string, std::set<int64_t>> versions_by_resource;
};

// What the planner reads.
struct PlannerSnapshot {
  // resource name -> versions, any order (sorted by `order` internally).
  std::map<std::string, std::vector<VersionRecord>> versions;
  // job name -> its successful builds.
  std::map<std::string, std::vector<SucceededBuild>> succeeded_builds;
  // job name -> input name -> every version id any build of that job has used for the input.
  std::map<std::string, std::map<std::string, std::set<int64_t>>> used_inputs;
  // resource name -> pinned version id (API/CLI pins; override config `version:`).
  std::map<std::string, int64_t> pins;
};

struct ResolvedInput {
  std::string name;      // the get step's name (artifact name)
  std::string resource;  // resource name
  int64_t version_id = 0;
  Json version;
  bool trigger = false;
  bool first_occurrence = false;  // this job never used this version for this input
};

struct InputPlan {
  bool resolved = false;              // every input has a version
  std::vector<ResolvedInput> inputs;  // in plan order; empty unless resolved
  bool should_trigger = false;        // resolved and a trigger input is a first occurrence
  std::string waiting_reason;         // when !resolved: e.g. "no versions of `repo` passed `build`"
};

// One `get` of a job's plan, as the planner sees it.
struct JobInput {
  std::string name;
  std::string resource;
  std::vector<std::string> passed;
  bool trigger = false;
  std::optional<pipelines::VersionSpec> version;
};

// Every get step in the job's plan (nested steps and hooks included), deduplicated by name.
std::vector<JobInput> JobInputs(const pipelines::Job& job);

// Resolves the inputs of `job`. `config` supplies resource-level `version:` pins.
InputPlan ResolveInputs(const pipelines::PipelineConfig& config, const pipelines::Job& job,
                        const PlannerSnapshot& snapshot);

}  // namespace baton::runner
