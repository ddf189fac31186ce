// What happens to the steps of a build, as the people watching it see it.
//
// The build engine (build_engine.h) emits these as part of its action list; the build executor
// (build_executor.h) stamps them with the time and hands them to a BuildObserver.
//
// Values; thread-compatible.
#pragma once

#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "baton/common/json.h"
#include "baton/runner/build_status.h"

namespace baton::runner {

// One run of a leaf step (get, put, task, load_var, set_pipeline). A step that runs several
// times (attempts, across, a hook per iteration) gets a new StepInfo each time.
struct StepInfo {
  std::string id;                      // unique within the build: "s1", "s2", ...
  std::string name;                    // as written: the task/get/put/load_var/set_pipeline value
  std::string type;                    // "task", "get", "put", "load_var", "set_pipeline"
  std::string path;                    // where it is in the config: "jobs.build.plan[2]"
  int attempt = 1;                     // 1-based; >1 only under `attempts:`
  std::map<std::string, Json> across;  // the across values of this iteration, by var name
  std::string hook;  // "" or the hook that ran it: "on_failure", "ensure", ... (nearest one)
};

// A leaf step begins: the executor shows "initializing" and starts timing it.
struct StepStarted {
  StepInfo step;
};

// A leaf step ended. `message` explains errored/aborted ("missing inputs: repo",
// "timeout exceeded"); empty otherwise.
struct StepFinished {
  StepInfo step;
  BuildStatus status = BuildStatus::kSucceeded;
  std::string message;
  int exit_code = -1;  // tasks only; -1 when no process exited
};

// A line Baton itself writes into a step's log ("missing inputs: repo").
struct StepLog {
  StepInfo step;
  std::string line;
};

}  // namespace baton::runner
