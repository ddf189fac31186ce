// BuildObserver: how a running build tells the layers above (the store, SSE streams, the CLI)
// what is happening. Implemented above runner/; called by BuildExecutor.
//
// Thread-safety: every method is called on the executor's io_context thread, one at a time.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/clock.h"
#include "baton/runner/build_event.h"
#include "baton/runner/build_status.h"
#include "baton/workers/output.h"
#include "baton/workers/worker.h"

namespace baton::runner {

// One entry of a batch for OnLogs: one line, or a run of whole lines of one stream and time
// joined by '\n' (no trailing newline; ForEachLine splits it). The batch lends its texts to the
// observer, which may take one (move it out, as BuildRecorder hands it to the store) once
// neither it nor an observer it forwards the batch to reads it again: an observer that forwards
// a batch forwards it before it takes anything. A run's text then goes from the worker's read to
// the store without another copy (issue 16, W4).
struct LogLine {
  workers::OutputStream stream = workers::OutputStream::kStdout;
  SystemTime time;
  std::string text;
};

// Calls f(line) for each line of a LogLine's text (a text without '\n' is one line).
template <typename F>
void ForEachLine(std::string_view text, F&& f) {
  for (size_t start = 0;;) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) {
      f(text.substr(start));
      return;
    }
    f(text.substr(start, end - start));
    start = end + 1;
  }
}

class BuildObserver {
 public:
  virtual ~BuildObserver() = default;
  // started when the build begins; one of the final statuses when it ends.
  virtual void OnStatus(BuildStatus status, SystemTime time) = 0;
  virtual void OnStepStarted(const StepInfo& step, SystemTime time) = 0;
  virtual void OnStepFinished(const StepFinished& finished, SystemTime time) = 0;
  // One line of a step's output (secrets already redacted). kSystem lines are Baton's own.
  virtual void OnLog(const StepInfo& step, workers::OutputStream stream, SystemTime time,
                     std::string_view line) = 0;
  // Several lines of one step's output in order, as the worker read them (secrets already
  // redacted), an entry per run of lines (LogLine): an observer that writes them somewhere
  // writes them at once (one store append, one console write). Default: OnLog for each line.
  // Texts may be taken (LogLine).
  virtual void OnLogs(const StepInfo& step, std::span<LogLine> lines) {
    for (const LogLine& run : lines) {
      ForEachLine(run.text,
                  [&](std::string_view line) { OnLog(step, run.stream, run.time, line); });
    }
  }
  // A get fetched, or a put created, `version` of `resource`.
  virtual void OnVersion(const StepInfo& step, const std::string& resource, const Json& version,
                         const std::vector<MetadataField>& metadata) = 0;
  // Values the build must not show from now on (load_var without `reveal`, var-source vars),
  // sent before anything that may contain them. Step infos, messages and log lines arrive
  // redacted already; OnVersion's version and metadata are the real data (a put's version is
  // recorded as is), so an observer that displays them redacts them itself (runner/redactor.h).
  // An observer that forwards to another forwards this too. Default: ignored.
  virtual void OnSecrets(const std::vector<std::string>& values) { (void)values; }
};

}  // namespace baton::runner
