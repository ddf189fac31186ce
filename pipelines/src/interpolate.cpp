// Structural ((var)) interpolation over YAML trees, keeping marks.
#include "interpolate.h"

namespace baton::pipelines {

namespace {

void Report(const TextInterpolation& t, SourceMark mark, std::vector<UnresolvedVar>& unresolved) {
  for (const auto& ref : t.unresolved) {
    if (ref.source == ".") continue;  // local build vars are resolved while the build runs
    unresolved.push_back({ref.text, mark});
  }
}

YamlNodePtr InterpolateScalar(const YamlNodePtr& node, const Vars* vars,
                              std::vector<UnresolvedVar>& unresolved) {
  if (node->value.find("((") == std::string::npos) return node;
  TextInterpolation t = InterpolateText(node->value, vars, nullptr);
  Report(t, node->mark, unresolved);
  if (!t.changed) return node;
  if (t.whole) return FromJson(*t.whole, node->mark);
  auto copy = std::make_shared<YamlNode>(*node);
  copy->value = std::move(t.text);
  copy->plain = false;  // text with a var spliced in is a string
  return copy;
}

}  // namespace

YamlNodePtr InterpolateNode(const YamlNodePtr& node, const Vars* vars,
                            std::vector<UnresolvedVar>& unresolved) {
  switch (node->kind) {
    case YamlNode::Kind::kNull:
      return node;
    case YamlNode::Kind::kScalar:
      return InterpolateScalar(node, vars, unresolved);
    case YamlNode::Kind::kSequence: {
      std::shared_ptr<YamlNode> copy;
      for (size_t i = 0; i < node->items.size(); ++i) {
        YamlNodePtr item = InterpolateNode(node->items[i], vars, unresolved);
        if (item == node->items[i]) continue;
        if (!copy) copy = std::make_shared<YamlNode>(*node);
        copy->items[i] = std::move(item);
      }
      return copy ? YamlNodePtr(copy) : node;
    }
    case YamlNode::Kind::kMap: {
      std::shared_ptr<YamlNode> copy;
      for (size_t i = 0; i < node->entries.size(); ++i) {
        const auto& [k, v] = node->entries[i];
        YamlNodePtr key = InterpolateNode(k, vars, unresolved);
        YamlNodePtr value = InterpolateNode(v, vars, unresolved);
        if (key == k && value == v) continue;
        if (!copy) copy = std::make_shared<YamlNode>(*node);
        copy->entries[i] = {std::move(key), std::move(value)};
      }
      return copy ? YamlNodePtr(copy) : node;
    }
  }
  return node;
}

}  // namespace baton::pipelines
