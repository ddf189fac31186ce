#include "baton/runner/check_registry.h"

namespace baton::runner {

const char* ToString(CheckStatus status) {
  switch (status) {
    case CheckStatus::kPending:
      return "pending";
    case CheckStatus::kStarted:
      return "started";
    case CheckStatus::kSucceeded:
      return "succeeded";
    case CheckStatus::kErrored:
      return "errored";
  }
  return "unknown";
}

CheckRecord CheckRegistry::Create(std::string team, std::string pipeline, Id pipeline_id,
                                  std::string resource) {
  CheckRecord c;
  c.team = std::move(team);
  c.pipeline = std::move(pipeline);
  c.pipeline_id = pipeline_id;
  c.resource = std::move(resource);
  c.create_time = clock_.Now();
  std::lock_guard lock(mu_);
  c.id = next_id_++;
  checks_[c.id] = c;
  return c;
}

void CheckRegistry::Start(Id id) {
  std::lock_guard lock(mu_);
  auto it = checks_.find(id);
  if (it == checks_.end() || it->second.status != CheckStatus::kPending) return;
  it->second.status = CheckStatus::kStarted;
  it->second.start_time = clock_.Now();
}

void CheckRegistry::Finish(Id id, const Result<int>& outcome) {
  std::lock_guard lock(mu_);
  auto it = checks_.find(id);
  if (it == checks_.end() || it->second.finished()) return;
  CheckRecord& c = it->second;
  c.end_time = clock_.Now();
  if (!c.start_time) c.start_time = c.end_time;
  if (outcome.ok()) {
    c.status = CheckStatus::kSucceeded;
    c.new_versions = *outcome;
  } else {
    c.status = CheckStatus::kErrored;
    c.error = outcome.status().message();
  }
  finished_order_.push_back(id);
  while (finished_order_.size() > kKeptFinished) {
    checks_.erase(finished_order_.front());
    finished_order_.pop_front();
  }
}

std::optional<CheckRecord> CheckRegistry::Get(Id id) const {
  std::lock_guard lock(mu_);
  auto it = checks_.find(id);
  if (it == checks_.end()) return std::nullopt;
  return it->second;
}

}  // namespace baton::runner
