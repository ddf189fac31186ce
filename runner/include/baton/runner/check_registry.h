// CheckRegistry: the checks users asked for (through the API, the CLI or a webhook), each with
// an id to follow, as Concourse's check builds: pending -> started -> succeeded | errored.
// The scheduler runs them; the API reads them without waiting for the runner's thread. Records
// live in memory on the web node that took the request (the newest kKeptFinished finished ones
// are kept); the lasting outcome is the resource's check_error and its versions in the store.
//
// Thread-safety: every method may be called from any thread (one mutex).
#pragma once

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "baton/common/clock.h"
#include "baton/common/status.h"
#include "baton/runner/store_types.h"

namespace baton::runner {

enum class CheckStatus { kPending, kStarted, kSucceeded, kErrored };
const char* ToString(CheckStatus status);

struct CheckRecord {
  Id id = 0;
  std::string team;
  std::string pipeline;
  Id pipeline_id = 0;
  std::string resource;
  CheckStatus status = CheckStatus::kPending;
  std::string error;     // errored: what went wrong and what to do
  int new_versions = 0;  // succeeded: versions the check saved that were new
  SystemTime create_time;
  std::optional<SystemTime> start_time;
  std::optional<SystemTime> end_time;

  bool finished() const {
    return status == CheckStatus::kSucceeded || status == CheckStatus::kErrored;
  }
};

class CheckRegistry {
 public:
  // How many finished checks stay readable (older ones are forgotten first).
  static constexpr size_t kKeptFinished = 1000;

  // REQUIRES: `clock` outlives the registry.
  explicit CheckRegistry(const Clock& clock) : clock_(clock) {}

  // A new pending check of `resource`; its id is unique in this process.
  CheckRecord Create(std::string team, std::string pipeline, Id pipeline_id, std::string resource);
  // pending -> started (no effect on a check already started or finished).
  void Start(Id id);
  // -> succeeded with `outcome` new versions, or errored with its message.
  void Finish(Id id, const Result<int>& outcome);
  std::optional<CheckRecord> Get(Id id) const;

 private:
  const Clock& clock_;
  mutable std::mutex mu_;
  Id next_id_ = 1;                    // GUARDED_BY(mu_)
  std::map<Id, CheckRecord> checks_;  // GUARDED_BY(mu_)
  std::deque<Id> finished_order_;     // GUARDED_BY(mu_); oldest first
};

}  // namespace baton::runner
