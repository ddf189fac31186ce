// YamlNode: Baton's own tree of a parsed YAML document, with a 1-based source mark on every node.
//
// Built from yaml-cpp's event parser (not YAML::Node) so that the loader controls what
// yaml-cpp 0.7 does not: duplicate mapping keys are errors, `<<` merge keys are applied, and
// every scalar keeps whether it was plain (so `"true"` stays a string). Aliases share the
// anchored node (a shared node is walked once by whatever memoises on its address, and its
// expanded size is counted against ParseLimits as the document is read). Nodes are immutable
// once built; thread-compatible.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "baton/pipelines/diagnostics.h"
#include "baton/pipelines/loader.h"
#include "baton/pipelines/task_config.h"

namespace baton::pipelines {

struct YamlNode;
using YamlNodePtr = std::shared_ptr<const YamlNode>;

struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  std::string value;  // kScalar
  bool plain = true;  // kScalar: unquoted and untagged, so YAML type resolution applies
  SourceMark mark;
  std::vector<YamlNodePtr> items;                            // kSequence
  std::vector<std::pair<YamlNodePtr, YamlNodePtr>> entries;  // kMap: key, value in order
  // This node and everything under it with aliases expanded (set by ParseYaml).
  uint64_t expanded_nodes = 1;
  uint64_t expanded_scalar_bytes = 0;

  bool IsNull() const { return kind == Kind::kNull; }
  bool IsScalar() const { return kind == Kind::kScalar; }
  bool IsSequence() const { return kind == Kind::kSequence; }
  bool IsMap() const { return kind == Kind::kMap; }
  // The value of `key` in a map, or null if absent (or this is not a map).
  const YamlNode* Find(std::string_view key) const;
  // "a map", "a list", "a string", ... for messages.
  const char* KindName() const;
};

// Parses the first document of `text`. Syntax errors and duplicate keys are reported to
// `diags`; returns null only when the text could not be parsed at all. An empty document
// yields a null node. A text or an alias expansion past `limits` is an error at the position
// where the limit was crossed, and returns null.
YamlNodePtr ParseYaml(std::string_view text, Diagnostics& diags, const ParseLimits& limits = {});

// Converts a node to JSON, resolving plain scalars with YAML 1.2 core rules (null, booleans,
// integers, floats); everything else is a string. Map keys are always strings.
Json ToJson(const YamlNode& node);

// The JSON value of one scalar (as ToJson does).
Json ScalarToJson(const YamlNode& node);

// Builds a node tree from JSON, every node carrying `mark` (values substituted from vars).
YamlNodePtr FromJson(const Json& value, SourceMark mark);

}  // namespace baton::pipelines
