#include "baton/runner/scheduler.h"

#include "scheduler_impl.h"

namespace baton::runner {

Scheduler::Scheduler(boost::asio::io_context& io, SchedulerStores stores, workers::Worker& worker,
                     SchedulerOptions options)
    : impl_(std::make_unique<Impl>(io, stores, worker, std::move(options))) {}

Scheduler::~Scheduler() { *impl_->alive_ = false; }

Status Scheduler::ActivatePipeline(Id pipeline_id) { return impl_->Activate(pipeline_id); }
Status Scheduler::ActivatePipeline(const PipelineRecord& record, pipelines::PipelineConfig config) {
  return impl_->Install(record, std::move(config));
}

void Scheduler::DeactivatePipeline(Id pipeline_id) { impl_->Deactivate(pipeline_id); }

void Scheduler::Apply(Command command, CommandDone done) {
  impl_->Apply(std::move(command), std::move(done));
}

void Scheduler::CheckResource(Id pipeline_id, const std::string& resource,
                              std::function<void(Result<int>)> done) {
  auto state = impl_->FindOrError(pipeline_id);
  if (!state.ok()) {
    if (done) done(state.status());
    return;
  }
  impl_->Check(**state, resource, std::move(done));
}

CheckRegistry& Scheduler::checks() { return impl_->checks_; }

void Scheduler::RunCheck(Id check_id) { impl_->RunCheck(check_id); }

void Scheduler::RecordPushedVersion(Id check_id, const Json& version) {
  impl_->RecordPushedVersion(check_id, version);
}

void Scheduler::SetLeader(bool leader, const std::string& orphan_message) {
  impl_->SetLeader(leader, orphan_message);
}

bool Scheduler::leader() const { return impl_->leader_; }

void Scheduler::Resync() { impl_->Resync(); }

void Scheduler::RunOnce(Id pipeline_id, std::vector<std::string> jobs, int parallel,
                        std::function<void(std::vector<JobOutcome>)> done) {
  impl_->RunOnce(pipeline_id, std::move(jobs), parallel, std::move(done));
}

std::vector<ActiveResource> Scheduler::ActiveResources() const {
  std::vector<ActiveResource> out;
  for (const auto& [id, state] : impl_->pipelines_) {
    for (const auto& r : state->config.resources) {
      out.push_back(
          {id, state->record.team, state->record.name, r.name, r.type, r.source, r.webhook_token});
    }
  }
  return out;
}

Status Scheduler::ResumeBuild(const Build& build) { return impl_->ResumeBuild(build); }
bool Scheduler::CanResume(const Build& build) const { return impl_->CanResume(build); }

void Scheduler::AbortAll() {
  for (auto& [id, run] : impl_->running_) run->executor->Abort();
}

size_t Scheduler::running_builds() const { return impl_->running_.size(); }

}  // namespace baton::runner
