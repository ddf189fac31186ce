// Scheduler: versions named by a verified push (a forge webhook), recorded before the check
// that confirms them: the build of the pushed commit starts without waiting for a fetch.
#include "scheduler_impl.h"

namespace baton::runner {

void Scheduler::Impl::RecordPushedVersion(Id check_id, const Json& version) {
  auto record = checks_.Get(check_id);
  if (!record) return;
  PipelineState* state = Find(record->pipeline_id);
  if (state && version.is_object() && PushIsAVersion(*state, record->resource)) {
    SavePushedVersion(*state, record->resource, version);
  }
  // A check already running began before the push and may not see its commit: the push's check
  // runs after it (for git, also the one that leaves a spare checkout for the next push's get).
  if (state && state->checks_in_flight.count(record->resource)) {
    CheckRegistry& checks = checks_;
    state->checks_after[record->resource].push_back(
        [&checks, check_id](Result<int> outcome) { checks.Finish(check_id, outcome); });
    checks.Start(check_id);
    return;
  }
  RunCheck(check_id);
}

bool Scheduler::Impl::PushIsAVersion(const PipelineState& state,
                                     const std::string& resource) const {
  const pipelines::Resource* config = state.config.FindResource(resource);
  if (!config || config->type != "git" || !state.resources.count(resource)) return false;
  // A pipeline's own resource type named `git` replaces the builtin one (ResolveResourceType):
  // its check may record anything.
  for (const auto& type : state.config.resource_types) {
    if (type.name == "git") return false;
  }
  return true;
}

void Scheduler::Impl::SavePushedVersion(PipelineState& state, const std::string& resource,
                                        const Json& version) {
  const ResourceRecord& record = state.resources.at(resource);
  auto saved = stores_.pipelines.SaveResourceVersions(record.id, {{version, Json::array()}});
  if (!saved.ok() || saved->empty()) return;  // the check that follows records what it finds
  int added = 0;
  AddVersions(state, resource, *saved, &added);
  if (added == 0) return;  // known already (a branch reset to an older commit): as a check does
  state.pushed_unchecked[resource][saved->front().id] = check_runs_;
  WakeJobsUsing(state, resource);
  if (!leader_) Announce({PipelineChange::Kind::kVersions, state.record.id});
}

}  // namespace baton::runner
