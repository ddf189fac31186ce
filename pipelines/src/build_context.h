// Helpers for turning YAML nodes into the typed model: field readers that report type errors at
// the node's mark and tolerate a scalar that is one unresolved ((var)) (its value will come from
// a credential manager at run time). Used by build_*.cpp. Thread-compatible.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "baton/common/duration.h"
#include "baton/pipelines/diagnostics.h"
#include "baton/pipelines/loader.h"
#include "yaml_document.h"

namespace baton::pipelines {

struct BuildContext {
  Diagnostics& diags;
  const LoadOptions& options;
};

// Reports every key of `map` not in `known` as `unknown field `X` in WHAT`, with a
// "did you mean" hint. Returns false if there were unknown keys.
bool CheckFields(const YamlNode& map, const std::vector<std::string>& known,
                 const std::string& what, BuildContext& ctx, const std::string& location = {});

// Reports an error unless `node` is a map (null is accepted as empty). Returns true if usable.
bool ExpectMap(const YamlNode* node, const std::string& what, BuildContext& ctx);

std::string ReadString(const YamlNode* node, const std::string& field, BuildContext& ctx);
bool ReadBool(const YamlNode* node, const std::string& field, bool fallback, BuildContext& ctx);
int64_t ReadInt(const YamlNode* node, const std::string& field, int64_t fallback,
                BuildContext& ctx);
// A list of strings; a single string is accepted as a one-item list when `allow_single`.
std::vector<std::string> ReadStringList(const YamlNode* node, const std::string& field,
                                        BuildContext& ctx, std::vector<SourceMark>* marks = nullptr,
                                        bool allow_single = false);
std::map<std::string, std::string> ReadStringMap(const YamlNode* node, const std::string& field,
                                                 BuildContext& ctx);
// A map as JSON (null -> {}); reports an error if it is neither a map nor a ((var)).
Json ReadJsonMap(const YamlNode* node, const std::string& field, BuildContext& ctx);
// A duration such as "1h30m". An unresolved ((var)) is kept in `text` without error.
std::optional<Duration> ReadDuration(const YamlNode* node, const std::string& field,
                                     std::string* text, BuildContext& ctx);

// The candidate `word` is most likely a typo of: baton::ClosestMatch, plus swapped adjacent
// letters ("rpeo" -> "repo", "biuld" -> "build"), which plain edit distance counts as two.
std::optional<std::string> SuggestName(std::string_view word,
                                       const std::vector<std::string>& candidates);

// Where the key `key` of `map` is written (for errors about the key rather than its value).
SourceMark KeyMark(const YamlNode& map, std::string_view key);

}  // namespace baton::pipelines
