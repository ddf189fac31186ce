// Scheduler: rerunning a build with the same inputs (Concourse's "rerun build").
#include "baton/runner/plan_json.h"
#include "scheduler_impl.h"

namespace baton::runner {

Result<InputPlan> PlanFromInputs(const pipelines::Job& job, const Build& build,
                                 const std::vector<BuildInput>& used) {
  InputPlan plan;
  for (const JobInput& input : JobInputs(job)) {
    auto it = std::find_if(used.begin(), used.end(),
                           [&](const BuildInput& u) { return u.name == input.name; });
    if (it == used.end()) {
      return FailedPrecondition("build " + build.name + " of `" + job.name +
                                "` has no version for input `" + input.name +
                                "` (the job changed since): trigger the job instead");
    }
    ResolvedInput resolved;
    resolved.name = input.name;
    resolved.resource = input.resource;
    resolved.version_id = it->resource_version_id;
    resolved.version = it->version;
    resolved.trigger = input.trigger;
    plan.inputs.push_back(std::move(resolved));
  }
  plan.resolved = true;
  return plan;
}

Result<Build> Scheduler::Impl::Rerun(Id build_id) {
  BATON_ASSIGN_OR_RETURN(Build build, stores_.builds.GetBuild(build_id));
  if (build.one_off()) {
    return FailedPrecondition("build " + std::to_string(build_id) +
                              " is a one-off build: only builds of a job can be rerun");
  }
  BATON_ASSIGN_OR_RETURN(PipelineState * state, FindOrError(build.pipeline_id));
  const pipelines::Job* job = state->config.FindJob(build.job);
  if (!job || !state->jobs.count(build.job)) {
    return NotFound("pipeline `" + state->record.name + "` has no job `" + build.job +
                    "` any more");
  }
  if (job->disable_manual_trigger) {
    return PermissionDenied("job `" + job->name +
                            "` has disable_manual_trigger: true; it only runs on new inputs");
  }
  BATON_ASSIGN_OR_RETURN(auto used, stores_.builds.ListBuildInputs(build_id));
  BATON_ASSIGN_OR_RETURN(InputPlan plan, PlanFromInputs(*job, build, used));
  BATON_ASSIGN_OR_RETURN(Build rerun, stores_.builds.CreateRerunBuild(build_id, JobPlanJson(*job)));
  if (!leader_) {  // the leader starts it
    Announce({PipelineChange::Kind::kBuildQueued, state->record.id, 0, rerun.id});
    return rerun;
  }
  state->pending[job->name].emplace_back(rerun, plan);
  TrySchedule(*state, job->name);
  return rerun;
}

}  // namespace baton::runner
