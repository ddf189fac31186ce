#include "client/line_diff.h"

#include <algorithm>
#include <cstdint>

namespace baton::cli {
namespace {

constexpr size_t kMaxLines = 4000;

std::vector<std::string> SplitLines(std::string_view text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    lines.emplace_back(text.substr(start, end - start));
    start = end + 1;
  }
  return lines;
}

// lcs[i][j]: length of the LCS of a[i..] and b[j..].
std::vector<std::vector<uint16_t>> LcsTable(const std::vector<std::string>& a,
                                            const std::vector<std::string>& b) {
  std::vector<std::vector<uint16_t>> lcs(a.size() + 1, std::vector<uint16_t>(b.size() + 1, 0));
  for (size_t i = a.size(); i-- > 0;) {
    for (size_t j = b.size(); j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  return lcs;
}

}  // namespace

std::vector<DiffLine> DiffLines(std::string_view before, std::string_view after) {
  auto a = SplitLines(before), b = SplitLines(after);
  std::vector<DiffLine> out;
  if (a.size() > kMaxLines || b.size() > kMaxLines) {
    for (auto& l : a) out.push_back({DiffLine::Kind::kRemoved, std::move(l)});
    for (auto& l : b) out.push_back({DiffLine::Kind::kAdded, std::move(l)});
    return out;
  }
  auto lcs = LcsTable(a, b);
  size_t i = 0, j = 0;
  while (i < a.size() || j < b.size()) {
    if (i < a.size() && j < b.size() && a[i] == b[j]) {
      out.push_back({DiffLine::Kind::kSame, a[i]});
      ++i, ++j;
    } else if (i < a.size() && (j == b.size() || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push_back({DiffLine::Kind::kRemoved, a[i++]});  // removals first, as diff shows them
    } else {
      out.push_back({DiffLine::Kind::kAdded, b[j++]});
    }
  }
  return out;
}

std::string RenderDiff(const std::vector<DiffLine>& diff, bool color, size_t context) {
  std::vector<bool> shown(diff.size(), false);
  bool any = false;
  for (size_t k = 0; k < diff.size(); ++k) {
    if (diff[k].kind == DiffLine::Kind::kSame) continue;
    any = true;
    size_t from = k >= context ? k - context : 0;
    size_t to = std::min(diff.size(), k + context + 1);
    for (size_t m = from; m < to; ++m) shown[m] = true;
  }
  if (!any) return "";
  std::string out;
  bool skipped = false;
  for (size_t k = 0; k < diff.size(); ++k) {
    if (!shown[k]) {
      skipped = true;
      continue;
    }
    if (skipped) out += color ? "\033[2m  …\033[0m\n" : "  …\n";
    skipped = false;
    const DiffLine& d = diff[k];
    if (d.kind == DiffLine::Kind::kSame) {
      out += "  " + d.text + "\n";
    } else {
      bool added = d.kind == DiffLine::Kind::kAdded;
      std::string line = std::string(added ? "+ " : "- ") + d.text;
      out += color ? (added ? "\033[32m" : "\033[31m") + line + "\033[0m\n" : line + "\n";
    }
  }
  if (skipped) out += color ? "\033[2m  …\033[0m\n" : "  …\n";
  return out;
}

}  // namespace baton::cli
