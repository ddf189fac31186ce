// BuildWatcher: follows one build's event stream (/api/v1/builds/:id/events) and prints it as
// it happens — step headers, log lines (stderr lines on stderr, red on a terminal), failed
// steps with their message — then the build's outcome. Used by `baton watch` and
// `baton trigger-job -w`. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>

#include "client/api_client.h"

namespace baton::cli {

struct WatchOutcome {
  std::string status;  // "succeeded", "failed", "errored", "aborted"; "" if unknown
  std::string error;   // the build's error message, when it errored
};

// The exit code for a build status: 0 succeeded, 1 failed, 2 errored, 3 aborted (1 otherwise).
int ExitCodeForBuildStatus(const std::string& status);

// After this, Ctrl-C (SIGINT/SIGTERM) prints "detached; the build goes on" and exits 130
// without aborting anything.
void DetachOnInterrupt();

class BuildWatcher {
 public:
  BuildWatcher(ApiClient& client, bool color_out, bool color_err);

  // Streams build `build_id` until it has finished and every event was printed; reconnects
  // (resuming after the last event) when the stream breaks. Then reads the final status.
  Result<WatchOutcome> Watch(int64_t build_id);

 private:
  bool OnEvent(const std::string& type, const Json& data);
  void PrintStepStart(const Json& step);
  void PrintStepFinish(const Json& step);
  void PrintLog(const std::string& stream, const std::string& line);

  ApiClient& client_;
  bool color_out_;
  bool color_err_;
  int64_t last_seq_ = 0;
  std::string last_status_;
};

}  // namespace baton::cli
