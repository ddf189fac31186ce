// Table: aligned columns for the list commands (`baton pipelines`, `jobs`, `builds`, ...).
// A cell may carry an ANSI colour that does not count towards its width. Values;
// thread-compatible.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace baton::cli {

struct Cell {
  std::string text;
  std::string color;                            // ANSI SGR sequence ("\033[32m") or "" for plain
  Cell(std::string t = {}, std::string c = {})  // NOLINT: implicit from text by design
      : text(std::move(t)), color(std::move(c)) {}
  Cell(const char* t) : text(t) {}  // NOLINT
};

class Table {
 public:
  explicit Table(std::vector<std::string> headers);
  void AddRow(std::vector<Cell> cells);
  size_t rows() const { return rows_.size(); }
  // Two spaces between columns, the last column unpadded; colours only when `color`.
  std::string Render(bool color) const;
  void Print(std::FILE* out, bool color) const;

 private:
  std::vector<std::string> headers_;
  std::vector<std::vector<Cell>> rows_;
};

// `text` safe to print on a terminal: control characters (C0, DEL, and C1 in UTF-8) and
// invalid UTF-8 bytes become visible escapes (`\x1b`, `\u009b`, `\xff`), so a name or message
// from a server cannot move the cursor, retitle the window or hide what it says. Tables and
// error messages go through it; build logs do not (task output keeps its colours, as in fly).
std::string Printable(std::string_view text);

// The colour a build or pipeline status is shown in ("succeeded" green, "failed" red, ...).
std::string StatusColor(const std::string& status);

// Whether `out` is a terminal that wants colour (NO_COLOR unset).
bool WantsColor(std::FILE* out);

}  // namespace baton::cli
