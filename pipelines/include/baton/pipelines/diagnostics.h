// Diagnostics: what the pipeline language tells authors about their files.
//
// A Diagnostic is one error or warning with a source position. Rendering prints the classic
// compiler form with the offending line and a caret:
//
//   pipeline.yml:12:5: error: unknown field `serial_group` in job `build`
//       serial_group: [deploy]
//       ^
//   hint: did you mean `serial_groups`?
//
// Values; thread-compatible.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace baton::pipelines {

// A position in a source file. Lines and columns are 1-based; line 0 means "unknown".
struct SourceMark {
  int line = 0;
  int column = 0;
  bool known() const { return line > 0; }
};

enum class Severity { kError, kWarning };
const char* ToString(Severity s);

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;      // as the user named it ("ci/pipeline.yml")
  SourceMark mark;       // where
  std::string message;   // what is wrong, one line
  std::string hint;      // what to do ("did you mean `serial_groups`?"), may be empty
  std::string location;  // logical path: "jobs.build.plan[2].task", may be empty
};

// Collects diagnostics for one file. Thread-compatible.
class Diagnostics {
 public:
  explicit Diagnostics(std::string file = {}) : file_(std::move(file)) {}

  void Error(SourceMark mark, std::string message, std::string hint = {},
             std::string location = {});
  void Warning(SourceMark mark, std::string message, std::string hint = {},
               std::string location = {});
  void Add(Diagnostic d) { items_.push_back(std::move(d)); }

  bool HasErrors() const;
  size_t ErrorCount() const;
  size_t WarningCount() const;
  const std::vector<Diagnostic>& items() const { return items_; }
  std::vector<Diagnostic>& mutable_items() { return items_; }
  const std::string& file() const { return file_; }
  // Sorts by (line, column) keeping insertion order for ties.
  void SortByPosition();

 private:
  std::string file_;
  std::vector<Diagnostic> items_;
};

// Renders one diagnostic. `source` is the file's text (for the quoted line and caret); pass an
// empty view to omit it. `color` adds ANSI colours for terminals.
std::string Render(const Diagnostic& d, std::string_view source, bool color = false);

// Renders every diagnostic, each followed by a blank line.
std::string RenderAll(const Diagnostics& diags, std::string_view source, bool color = false);

}  // namespace baton::pipelines
