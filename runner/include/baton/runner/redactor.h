// Redactor: replaces secret values with "((redacted))" in what a build shows (log lines, step
// messages, step infos, versions on a console), as Concourse does with redaction on. Secrets are
// matched line by line: a multi-line secret is redacted one (trimmed) line at a time, so it is
// caught even when a shell joins its lines or JSON escapes them.
//
// Each secret is also redacted in the forms a task commonly prints it in: JSON-escaped (both
// `\uXXXX` and UTF-8 output), URL-encoded (`%XX` in upper and lower case, `+` for spaces) and
// base64 (standard and URL-safe alphabets, at each of the three alignments the secret can have
// inside a longer encoded text, as GitHub Actions does; only the characters that depend on the
// secret alone are matched). Encoded forms are added only for secrets of at least
// kMinEncodedSecret bytes, and only when at least kMinEncodedForm characters long: the encoding
// of a short secret is a common fragment of ordinary text (base64 of "1" is "MQ"), and masking
// it would hide unrelated output (Woodpecker's over-masking bug). Short secrets are still
// redacted as written.
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
  static constexpr size_t kMinEncodedSecret = 6;
  static constexpr size_t kMinEncodedForm = 6;

  // The encoded forms of `secret` redacted besides the secret itself (see above).
  static std::vector<std::string> EncodedForms(std::string_view secret);

 private:
  void AddForm(std::string form, bool& added);

  std::vector<std::string> secrets_;  // unique, longest first
};

}  // namespace baton::runner
