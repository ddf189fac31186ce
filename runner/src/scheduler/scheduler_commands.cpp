// Scheduler: applying users' commands (commands.h). Each writes the store and this scheduler's
// in-memory state together, on the scheduler's thread, so no one re-reads or re-parses a whole
// pipeline after a change.
#include "baton/common/logging.h"
#include "scheduler_impl.h"

namespace baton::runner {

namespace {

CommandReply PipelineReply(PipelineRecord record) {
  CommandReply reply;
  reply.pipeline = std::move(record);
  return reply;
}

}  // namespace

void Scheduler::Impl::Apply(Command command, CommandDone done) {
  auto reply = std::visit([this](auto& c) { return Run(c); }, command);
  if (!reply.ok()) {
    ModuleLogger("runner")->info("{} refused: {}", Describe(command), reply.status().ToString());
  }
  if (done) done(std::move(reply));
}

void Scheduler::Impl::Announce(const PipelineChange& change) {
  if (options_.on_pipeline_change) options_.on_pipeline_change(change);
}

// The pipeline as the store has it now (what the API answers with).
Result<CommandReply> Scheduler::Impl::ReplyWith(Id pipeline_id) {
  BATON_ASSIGN_OR_RETURN(PipelineRecord record, stores_.pipelines.GetPipelineById(pipeline_id));
  return PipelineReply(std::move(record));
}

Result<CommandReply> Scheduler::Impl::Run(const commands::SetPipeline& c) {
  BATON_ASSIGN_OR_RETURN(PipelineRecord saved, stores_.pipelines.SetPipeline(c.update));
  // The sender parsed this config; it is what the store now holds as `saved.config_version`.
  BATON_RETURN_IF_ERROR(Install(saved, *c.config));
  Announce({PipelineChange::Kind::kConfig, saved.id, saved.config_version});
  return PipelineReply(saved);
}

Result<CommandReply> Scheduler::Impl::Run(const commands::PausePipeline& c) {
  BATON_RETURN_IF_ERROR(stores_.pipelines.SetPipelinePaused(c.pipeline_id, c.paused));
  if (PipelineState* state = Find(c.pipeline_id)) {
    state->record.paused = c.paused;
    if (!c.paused) ScheduleAll(*state);
  }
  Announce({PipelineChange::Kind::kPaused, c.pipeline_id, 0});
  return ReplyWith(c.pipeline_id);
}

Result<CommandReply> Scheduler::Impl::Run(const commands::ExposePipeline& c) {
  BATON_RETURN_IF_ERROR(stores_.pipelines.SetPipelinePublic(c.pipeline_id, c.exposed));
  if (PipelineState* state = Find(c.pipeline_id)) state->record.public_ = c.exposed;
  Announce({PipelineChange::Kind::kPublic, c.pipeline_id, 0});
  return ReplyWith(c.pipeline_id);
}

Result<CommandReply> Scheduler::Impl::Run(const commands::DestroyPipeline& c) {
  // Checks stop first, so that none saves versions of a pipeline that is going away; builds
  // already running go on.
  Deactivate(c.pipeline_id);
  BATON_RETURN_IF_ERROR(stores_.pipelines.DestroyPipeline(c.team, c.name));
  Announce({PipelineChange::Kind::kDestroyed, c.pipeline_id, 0});
  return CommandReply{};
}

Result<CommandReply> Scheduler::Impl::Run(const commands::PauseJob& c) {
  BATON_RETURN_IF_ERROR(stores_.pipelines.SetJobPaused(c.job_id, c.paused));
  if (PipelineState* state = Find(c.pipeline_id)) {
    for (auto& [name, job] : state->jobs) {
      if (job.id != c.job_id) continue;
      job.paused = c.paused;
      if (!c.paused) TrySchedule(*state, name);
    }
  }
  Announce({PipelineChange::Kind::kJobPaused, c.pipeline_id, 0});
  return ReplyWith(c.pipeline_id);
}

Result<CommandReply> Scheduler::Impl::Run(const commands::PinVersion& c) {
  BATON_RETURN_IF_ERROR(
      stores_.pipelines.PinResourceVersion(c.resource_id, c.version_id, c.comment));
  if (PipelineState* state = Find(c.pipeline_id)) {
    for (auto& [name, resource] : state->resources) {
      if (resource.id != c.resource_id) continue;
      resource.pinned_version_id = c.version_id;
      resource.pin_comment = c.version_id ? c.comment : "";
      if (c.version_id) {
        state->snapshot.pins[name] = c.version_id;
      } else {
        state->snapshot.pins.erase(name);
      }
    }
    ScheduleAll(*state);
  }
  Announce({PipelineChange::Kind::kPin, c.pipeline_id, 0});
  return ReplyWith(c.pipeline_id);
}

// A build this node starts is no other node's business; one it leaves pending for the leader is
// announced (Trigger, Rerun).
Result<CommandReply> Scheduler::Impl::Run(const commands::TriggerJob& c) {
  BATON_ASSIGN_OR_RETURN(Build build, Trigger(c.pipeline_id, c.job));
  CommandReply reply;
  reply.build = std::move(build);
  return reply;
}

Result<CommandReply> Scheduler::Impl::Run(const commands::RerunBuild& c) {
  BATON_ASSIGN_OR_RETURN(Build build, Rerun(c.build_id));
  CommandReply reply;
  reply.build = std::move(build);
  return reply;
}

Result<CommandReply> Scheduler::Impl::Run(const commands::AbortBuild& c) {
  BATON_RETURN_IF_ERROR(AbortAnywhere(c.build_id));
  return CommandReply{};
}

// Another node changed the pipeline in the store: read what changed (a new config is loaded and
// parsed once, here, for this node), never write.
Result<CommandReply> Scheduler::Impl::Run(const commands::Refresh& c) {
  const PipelineChange& change = c.change;
  if (change.kind == PipelineChange::Kind::kAbort) {
    if (leader_) (void)AbortAnywhere(change.build_id);  // already finished: nothing to do
    return CommandReply{};
  }
  if (change.kind == PipelineChange::Kind::kBuildQueued) {
    BATON_ASSIGN_OR_RETURN(PipelineState * state, FindOrError(change.pipeline_id));
    if (!leader_) return CommandReply{};
    // The notification names the build: read it alone, not every pending build of the pipeline
    // (Resync still adopts any whose notification was lost).
    if (change.build_id) {
      AdoptBuild(*state, change.build_id);
    } else {
      AdoptPending(*state);
    }
    return CommandReply{};
  }
  if (change.kind == PipelineChange::Kind::kVersions) {
    BATON_ASSIGN_OR_RETURN(PipelineState * state, FindOrError(change.pipeline_id));
    if (leader_) {
      BATON_RETURN_IF_ERROR(ReloadHistory(*state));
      ScheduleAll(*state);
    }
    return CommandReply{};
  }
  if (change.kind == PipelineChange::Kind::kDestroyed) {
    Deactivate(change.pipeline_id);
    return CommandReply{};
  }
  PipelineState* state = Find(change.pipeline_id);
  if (!state || change.kind == PipelineChange::Kind::kConfig) {
    if (state && state->record.config_version == change.config_version) {
      return ReplyWith(change.pipeline_id);  // this node made the change
    }
    BATON_RETURN_IF_ERROR(Activate(change.pipeline_id));
    return ReplyWith(change.pipeline_id);
  }
  BATON_ASSIGN_OR_RETURN(PipelineRecord record,
                         stores_.pipelines.GetPipelineById(change.pipeline_id));
  BATON_RETURN_IF_ERROR(RereadState(*state, std::move(record)).status());
  ScheduleAll(*state);
  return PipelineReply(state->record);
}

void Scheduler::Impl::ScheduleAll(PipelineState& state) {
  for (const auto& job : state.config.jobs) TrySchedule(state, job.name);
}

}  // namespace baton::runner
