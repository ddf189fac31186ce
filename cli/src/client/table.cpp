#include "client/table.h"

#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace baton::cli {
namespace {

constexpr const char* kReset = "\033[0m";

// Display width of UTF-8 text: code points, not bytes.
size_t Width(const std::string& text) {
  size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

}  // namespace

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::AddRow(std::vector<Cell> cells) {
  cells.resize(headers_.size());
  rows_.push_back(std::move(cells));
}

std::string Table::Render(bool color) const {
  std::vector<size_t> widths(headers_.size());
  for (size_t i = 0; i < headers_.size(); ++i) widths[i] = Width(headers_[i]);
  for (const auto& row : rows_) {
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], Width(row[i].text));
  }
  auto line = [&](const std::vector<Cell>& cells) {
    std::string out;
    for (size_t i = 0; i < cells.size(); ++i) {
      bool paint = color && !cells[i].color.empty();
      if (paint) out += cells[i].color;
      out += cells[i].text;
      if (paint) out += kReset;
      if (i + 1 < cells.size()) out += std::string(widths[i] - Width(cells[i].text) + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::vector<Cell> header_cells;
  for (const auto& h : headers_) header_cells.emplace_back(h, "\033[1m");
  std::string out = line(header_cells);
  for (const auto& row : rows_) out += line(row);
  return out;
}

void Table::Print(std::FILE* out, bool color) const {
  std::string text = Render(color);
  std::fwrite(text.data(), 1, text.size(), out);
}

std::string StatusColor(const std::string& status) {
  if (status == "succeeded") return "\033[32m";
  if (status == "failed") return "\033[31m";
  if (status == "errored") return "\033[33m";
  if (status == "aborted") return "\033[35m";
  if (status == "started" || status == "pending") return "\033[36m";
  if (status == "paused") return "\033[34m";
  return "";
}

bool WantsColor(std::FILE* out) {
  return isatty(fileno(out)) && std::getenv("NO_COLOR") == nullptr;
}

}  // namespace baton::cli
