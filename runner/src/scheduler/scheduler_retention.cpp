// Scheduler: build_log_retention — reaping old builds' logs after each build of a job (and when
// a pipeline is activated), then pruning the artifact versions only reaped builds used.
#include <algorithm>
#include <set>

#include "baton/common/logging.h"
#include "baton/common/sha256.h"
#include "baton/workers/artifact_store.h"
#include "scheduler_impl.h"

namespace baton::runner {
namespace {

// The key of an `artifact` resource's version list, as the artifact resource type derives it
// (workers/src/resources/artifact_resource.cpp): its source.name, else a hash of the source.
std::string ArtifactKey(const Json& source) {
  if (source.is_object() && source.contains("name") && source["name"].is_string() &&
      !source["name"].get<std::string>().empty()) {
    return "name:" + source["name"].get<std::string>();
  }
  return "source:" + Sha256Hex(source.dump());
}

// How many of `versions` (oldest first) to keep: from the oldest one a build uses to the newest,
// and always at least the newest.
size_t VersionsToKeep(const std::vector<workers::ArtifactVersion>& versions,
                      const std::set<std::string>& used) {
  for (size_t i = 0; i < versions.size(); ++i) {
    if (used.count(versions[i].digest)) return versions.size() - i;
  }
  return 1;
}

}  // namespace

void Scheduler::Impl::ApplyRetention(PipelineState& state, const pipelines::Job& job) {
  if (!job.build_log_retention) return;
  auto record = state.jobs.find(job.name);
  if (record == state.jobs.end()) return;
  auto reaped =
      stores_.builds.ReapBuilds(record->second.id, *job.build_log_retention, clock_->Now());
  if (!reaped.ok()) {
    ModuleLogger("runner")->error("retention of {}/{}: {}", state.record.name, job.name,
                                  reaped.status().ToString());
    return;
  }
  if (reaped->builds.empty()) return;
  // The builds stay (with their inputs and outputs), so what the planner knows is unchanged.
  ModuleLogger("runner")->info("retention of {}/{}: reaped the logs of {} build(s)",
                               state.record.name, job.name, reaped->builds.size());
  PruneArtifacts(state);
}

void Scheduler::Impl::PruneArtifacts(PipelineState& state) {
  if (!options_.artifacts) return;
  for (const auto& resource : state.config.resources) {
    auto record = state.resources.find(resource.name);
    if (resource.type != "artifact" || record == state.resources.end()) continue;
    auto used = stores_.builds.ListVersionsUsedByBuilds(record->second.id);
    const std::string key = ArtifactKey(resource.source);
    auto versions = options_.artifacts->List(key);
    if (!used.ok() || !versions.ok()) continue;
    std::set<std::string> digests;
    for (const auto& v : *used) {
      if (v.version.is_object()) digests.insert(v.version.value("digest", std::string()));
    }
    size_t keep = VersionsToKeep(*versions, digests);
    if (keep >= versions->size()) continue;
    auto pruned = options_.artifacts->Prune(key, keep);
    if (!pruned.ok()) {
      ModuleLogger("runner")->error("retention of artifact `{}`: {}", resource.name,
                                    pruned.status().ToString());
    } else {
      ModuleLogger("runner")->info("retention of artifact `{}`: removed {} version(s), {} bytes",
                                   resource.name, pruned->versions_removed, pruned->bytes_freed);
    }
  }
}

}  // namespace baton::runner
