// Redactor: replaces secret values with "((redacted))" in what a build shows (log lines, step
// messages, step infos, versions on a console), as Concourse does with redaction on. Secrets are
// matched line by line: a multi-line secret is redacted one (trimmed) line at a time, so it is
// caught even when a shell joins its lines or JSON escapes them.
//
// Values; thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "baton/runner/build_event.h"

namespace baton::runner {

class Redactor {
 public:
  // Adds secrets (empty ones, and empty lines of multi-line ones, are ignored).
  void Add(const std::vector<std::string>& values);
  bool empty() const { return secrets_.empty(); }

  std::string Redact(std::string_view text) const;
  // Every string of `value`, object keys included.
  Json RedactJson(const Json& value) const;
  // The name and the across values of a step.
  StepInfo RedactStep(const StepInfo& step) const;

  static constexpr const char* kMask = "((redacted))";

 private:
  std::vector<std::string> secrets_;  // unique, longest first
};

}  // namespace baton::runner
