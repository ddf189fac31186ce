#include "baton/pipelines/diagnostics.h"

#include <algorithm>

namespace baton::pipelines {

const char* ToString(Severity s) { return s == Severity::kError ? "error" : "warning"; }

void Diagnostics::Error(SourceMark mark, std::string message, std::string hint,
                        std::string location) {
  items_.push_back(
      {Severity::kError, file_, mark, std::move(message), std::move(hint), std::move(location)});
}

void Diagnostics::Warning(SourceMark mark, std::string message, std::string hint,
                          std::string location) {
  items_.push_back(
      {Severity::kWarning, file_, mark, std::move(message), std::move(hint), std::move(location)});
}

bool Diagnostics::HasErrors() const { return ErrorCount() > 0; }

size_t Diagnostics::ErrorCount() const {
  return std::count_if(items_.begin(), items_.end(),
                       [](const Diagnostic& d) { return d.severity == Severity::kError; });
}

size_t Diagnostics::WarningCount() const { return items_.size() - ErrorCount(); }

void Diagnostics::SortByPosition() {
  std::stable_sort(items_.begin(), items_.end(), [](const Diagnostic& a, const Diagnostic& b) {
    if (a.mark.line != b.mark.line) return a.mark.line < b.mark.line;
    return a.mark.column < b.mark.column;
  });
}

namespace {

// Returns line `n` (1-based) of `source`, without its newline; empty if out of range.
std::string_view SourceLine(std::string_view source, int n) {
  size_t start = 0;
  for (int i = 1; i < n; ++i) {
    size_t nl = source.find('\n', start);
    if (nl == std::string_view::npos) return {};
    start = nl + 1;
  }
  size_t end = source.find('\n', start);
  std::string_view line = source.substr(start, end == std::string_view::npos ? end : end - start);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

}  // namespace

std::string Render(const Diagnostic& d, std::string_view source, bool color) {
  const char* bold = color ? "\033[1m" : "";
  const char* sev_color =
      color ? (d.severity == Severity::kError ? "\033[1;31m" : "\033[1;35m") : "";
  const char* green = color ? "\033[1;32m" : "";
  const char* cyan = color ? "\033[36m" : "";
  const char* reset = color ? "\033[0m" : "";

  std::string out = bold;
  out += d.file.empty() ? "<input>" : d.file;
  if (d.mark.known()) {
    out += ":" + std::to_string(d.mark.line) + ":" + std::to_string(d.mark.column);
  }
  out += std::string(": ") + reset + sev_color + ToString(d.severity) + ":" + reset + " ";
  out += bold + d.message + reset + "\n";
  if (d.mark.known() && !source.empty()) {
    std::string_view line = SourceLine(source, d.mark.line);
    if (!line.empty()) {
      out += "    " + std::string(line) + "\n";
      std::string pad;
      for (int i = 1; i < d.mark.column && i <= static_cast<int>(line.size()); ++i) {
        pad += line[i - 1] == '\t' ? '\t' : ' ';
      }
      out += "    " + pad + green + "^" + reset + "\n";
    }
  }
  if (!d.hint.empty()) out += std::string(cyan) + "hint: " + reset + d.hint + "\n";
  return out;
}

std::string RenderAll(const Diagnostics& diags, std::string_view source, bool color) {
  std::string out;
  for (const auto& d : diags.items()) out += Render(d, source, color) + "\n";
  return out;
}

}  // namespace baton::pipelines
