#include "client/table.h"

#include <unistd.h>

#include <algorithm>
#include <cstdint>
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

void AppendHex(std::string& out, const char* prefix, uint32_t value, int digits) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += prefix;
  for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4) out += kHex[(value >> shift) & 15];
}

// The length of the valid UTF-8 sequence at text[i] (2-4), or 0.
size_t Utf8Length(std::string_view text, size_t i, uint32_t* code_point) {
  unsigned char c = static_cast<unsigned char>(text[i]);
  size_t n = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || i + n > text.size()) return 0;
  uint32_t cp = c & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    unsigned char cc = static_cast<unsigned char>(text[i + k]);
    if ((cc & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  *code_point = cp;
  return n;
}

}  // namespace

std::string Printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c < 0x20 || c == 0x7f) {
        AppendHex(out, "\\x", c, 2);
      } else {
        out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    uint32_t cp = 0;
    size_t n = Utf8Length(text, i, &cp);
    if (n == 0) {
      AppendHex(out, "\\x", c, 2);
      ++i;
    } else if (cp <= 0x9F) {
      AppendHex(out, "\\u", cp, 4);
      i += n;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

Table::Table(std::vector<std::string> headers) : headers_(std::move(headers)) {}

void Table::AddRow(std::vector<Cell> cells) {
  cells.resize(headers_.size());
  for (Cell& cell : cells) cell.text = Printable(cell.text);
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
