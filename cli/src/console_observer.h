// ConsoleObserver: prints a build live on a terminal — step headers, each output line prefixed
// with the job and step, and the outcome of every step — as `baton run` and `baton execute`
// show it. Secrets (runner/redactor.h) never reach the terminal: lines arrive redacted, and the
// versions it prints are redacted here. Colours only on a TTY. Thread-safe (one mutex around stdout
// writes), since several builds may print at once.
#pragma once

#include <cstdio>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "baton/runner/build_observer.h"
#include "baton/runner/redactor.h"

namespace baton::cli {

struct ConsoleStyle {
  bool color = false;
  bool prefix = true;  // "job/step │ " before each line; off for a single task
};

ConsoleStyle DetectConsoleStyle(std::FILE* out);

class ConsoleObserver final : public runner::BuildObserver {
 public:
  ConsoleObserver(std::string label, ConsoleStyle style, std::mutex& out_mu);

  void OnStatus(runner::BuildStatus status, SystemTime time) override;
  void OnStepStarted(const runner::StepInfo& step, SystemTime time) override;
  void OnStepFinished(const runner::StepFinished& finished, SystemTime time) override;
  void OnLog(const runner::StepInfo& step, workers::OutputStream stream, SystemTime time,
             std::string_view line) override;
  void OnLogs(const runner::StepInfo& step, std::span<runner::LogLine> lines) override;
  void OnVersion(const runner::StepInfo& step, const std::string& resource, const Json& version,
                 const std::vector<MetadataField>& metadata) override;
  void OnSecrets(const std::vector<std::string>& values) override;

 private:
  std::string Prefix(const runner::StepInfo& step) const;
  void Print(const std::string& text);
  void AppendLine(std::string& out, const std::string& prefix, workers::OutputStream stream,
                  std::string_view line) const;

  std::string label_;
  ConsoleStyle style_;
  std::mutex& out_mu_;
  SystemTime started_{};
  runner::Redactor redactor_;  // for versions, which arrive unredacted
};

// "succeeded" in green, "failed" in red, ... (plain without colour).
std::string ColoredStatus(runner::BuildStatus status, bool color);

}  // namespace baton::cli
