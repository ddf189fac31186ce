// LineDiff: what changes between two texts, line by line (longest common subsequence), for
// `baton set-pipeline` to show before it replaces a config. Pure; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace baton::cli {

struct DiffLine {
  enum class Kind { kSame, kAdded, kRemoved };
  Kind kind = Kind::kSame;
  std::string text;
};

// Every line of `before` and `after` in order, marked same/added/removed. Inputs over ~4000
// lines each are compared as wholes (one removal block, one addition block) to bound memory.
std::vector<DiffLine> DiffLines(std::string_view before, std::string_view after);

// Only the changes with `context` unchanged lines around each, "-"/"+"/" " prefixed, red/green
// when `color`; "" when the texts are equal. Skipped stretches show as "…".
std::string RenderDiff(const std::vector<DiffLine>& diff, bool color, size_t context = 3);

}  // namespace baton::cli
