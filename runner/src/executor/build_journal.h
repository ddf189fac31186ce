// BuildJournal: what a build's engine was told, in the order it was told: each action's result,
// each timer that fired, an abort. Appended to `<build_root>/journal.jsonl` as it happens, one
// JSON object a line ({"a": id, "r": result} | {"t": timer} | {"abort": true}), with write(2)
// and no buffering of its own: it outlives the process being killed (not the machine losing
// power). The engine is pure, so feeding the same entries to a new engine for the same plan
// yields the same actions with the same ids: that is how a restarted web node resumes a build
// (BuildExecutorOptions::resume).
//
// Thread-compatible: the executor's loop thread.
#pragma once

#include <string>
#include <vector>

#include "baton/common/json.h"
#include "baton/common/status.h"
#include "baton/runner/build_action.h"

namespace baton::runner {

struct JournalEntry {
  enum class Kind { kResult, kTimer, kAbort };
  Kind kind = Kind::kResult;
  int64_t id = 0;  // the action or timer
  ActionResult result;
};

class BuildJournal {
 public:
  BuildJournal() = default;
  ~BuildJournal();
  BuildJournal(const BuildJournal&) = delete;
  BuildJournal& operator=(const BuildJournal&) = delete;

  // The entries of the journal at `path`, in order; a torn last line (the process died while
  // writing it) is left out. kNotFound when there is no journal.
  static Result<std::vector<JournalEntry>> Read(const std::string& path);
  // Appends from now on to `path` (created if missing).
  Status Open(const std::string& path);
  // Best effort: a write that fails makes the build impossible to resume, nothing more.
  void Append(const JournalEntry& entry);

 private:
  int fd_ = -1;
  std::string path_;
};

Json ActionResultJson(const ActionResult& result);
ActionResult ActionResultFromJson(const Json& json);

}  // namespace baton::runner
