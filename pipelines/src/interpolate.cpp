// Structural ((var)) interpolation over YAML trees, keeping marks.
#include "interpolate.h"

#include <unordered_map>

namespace baton::pipelines {

namespace {

uint64_t CountNodes(const YamlNode& node) {
  uint64_t n = 1;
  for (const auto& item : node.items) n += CountNodes(*item);
  for (const auto& [k, v] : node.entries) n += CountNodes(*k) + CountNodes(*v);
  return n;
}

// One walk over a tree. Aliased nodes (shared by several parents) are interpolated once and
// the result shared again, so an alias bomb costs its size in the file, not its expansion.
// What substitutions add is charged against the limits: a large var used in many places
// could otherwise grow the tree past anything the parser allowed.
class Interpolation {
 public:
  Interpolation(const Vars* vars, const ParseLimits& limits, InterpolationResult& result)
      : vars_(vars), limits_(limits), result_(result) {}

  YamlNodePtr Walk(const YamlNodePtr& node) {
    if (node->IsScalar()) return Scalar(node);
    if (node->IsNull()) return node;
    if (node.use_count() == 1) return Collection(node);  // not aliased: nothing to share
    auto [it, inserted] = memo_.try_emplace(node.get());
    if (inserted) it->second = Collection(node);
    return it->second;
  }

 private:
  void Report(const TextInterpolation& t, SourceMark mark) {
    for (const auto& ref : t.unresolved) {
      if (ref.source == ".") continue;  // local build vars are resolved while the build runs
      result_.unresolved.push_back({ref.text, mark});
    }
  }

  // False (once, with the error position recorded) when what substitution added passes a limit.
  bool Charge(uint64_t nodes, uint64_t bytes, SourceMark mark) {
    added_nodes_ += nodes;
    added_bytes_ += bytes;
    if (added_nodes_ <= limits_.max_expanded_nodes &&
        added_bytes_ <= limits_.max_expanded_scalar_bytes) {
      return true;
    }
    if (!result_.over_limit) result_.over_limit = mark;
    return false;
  }

  YamlNodePtr Scalar(const YamlNodePtr& node) {
    if (result_.over_limit || node->value.find("((") == std::string::npos) return node;
    TextInterpolation t = InterpolateText(node->value, vars_, nullptr);
    Report(t, node->mark);
    if (!t.changed) return node;
    if (t.whole) {
      YamlNodePtr value = FromJson(*t.whole, node->mark);
      uint64_t bytes = t.whole->is_string() ? t.whole->get_ref<const std::string&>().size() : 0;
      return Charge(CountNodes(*value), bytes, node->mark) ? value : node;
    }
    if (!Charge(0, t.text.size(), node->mark)) return node;
    auto copy = std::make_shared<YamlNode>(*node);
    copy->value = std::move(t.text);
    copy->plain = false;  // text with a var spliced in is a string
    return copy;
  }

  YamlNodePtr Collection(const YamlNodePtr& node) {
    std::shared_ptr<YamlNode> copy;
    for (size_t i = 0; i < node->items.size(); ++i) {
      YamlNodePtr item = Walk(node->items[i]);
      if (item == node->items[i]) continue;
      if (!copy) copy = std::make_shared<YamlNode>(*node);
      copy->items[i] = std::move(item);
    }
    for (size_t i = 0; i < node->entries.size(); ++i) {
      const auto& [k, v] = node->entries[i];
      YamlNodePtr key = Walk(k);
      YamlNodePtr value = Walk(v);
      if (key == k && value == v) continue;
      if (!copy) copy = std::make_shared<YamlNode>(*node);
      copy->entries[i] = {std::move(key), std::move(value)};
    }
    return copy ? YamlNodePtr(copy) : node;
  }

  const Vars* vars_;
  const ParseLimits& limits_;
  InterpolationResult& result_;
  std::unordered_map<const YamlNode*, YamlNodePtr> memo_;
  uint64_t added_nodes_ = 0;
  uint64_t added_bytes_ = 0;
};

}  // namespace

InterpolationResult InterpolateNode(const YamlNodePtr& node, const Vars* vars,
                                    const ParseLimits& limits) {
  InterpolationResult result;
  result.node = Interpolation(vars, limits, result).Walk(node);
  return result;
}

}  // namespace baton::pipelines
