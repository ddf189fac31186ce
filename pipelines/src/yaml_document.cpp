#include "yaml_document.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <charconv>
#include <map>
#include <sstream>
#include <unordered_map>

namespace baton::pipelines {

const YamlNode* YamlNode::Find(std::string_view key) const {
  if (kind != Kind::kMap) return nullptr;
  for (const auto& [k, v] : entries) {
    if (k->IsScalar() && k->value == key) return v.get();
  }
  return nullptr;
}

const char* YamlNode::KindName() const {
  switch (kind) {
    case Kind::kNull:
      return "null";
    case Kind::kScalar:
      return "a scalar";
    case Kind::kSequence:
      return "a list";
    case Kind::kMap:
      return "a map";
  }
  return "a node";
}

namespace {

SourceMark ToMark(const YAML::Mark& m) {
  if (m.is_null()) return {};
  return {m.line + 1, m.column + 1};
}

bool IsMergeKey(const YamlNode& key) { return key.IsScalar() && key.plain && key.value == "<<"; }

// Thrown by TreeBuilder to stop yaml-cpp's parser when a ParseLimits bound is crossed.
struct LimitExceeded {
  SourceMark mark;
  std::string message;
  std::string hint;
};

std::string LimitHint() {
  return "this is a fixed limit that keeps the server safe: anchor smaller pieces, or split the "
         "pipeline into several (a set_pipeline step can set the others)";
}

// Builds YamlNodes from parser events; applies merge keys and reports duplicates as maps end.
class TreeBuilder : public YAML::EventHandler {
 public:
  TreeBuilder(Diagnostics& diags, const ParseLimits& limits) : diags_(diags), limits_(limits) {}

  YamlNodePtr root() const { return root_; }

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto node = std::make_shared<YamlNode>();
    node->mark = ToMark(mark);
    Charge(node->expanded_nodes, node->expanded_scalar_bytes, node->mark, false);
    Add(std::move(node), anchor);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {
      diags_.Error(ToMark(mark), "unknown YAML alias");
      OnNull(mark, 0);
      return;
    }
    Charge(it->second->expanded_nodes, it->second->expanded_scalar_bytes, ToMark(mark), true);
    Add(it->second, 0);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    auto node = std::make_shared<YamlNode>();
    node->kind = YamlNode::Kind::kScalar;
    node->value = value;
    node->plain = tag == "?" || tag.empty();
    node->mark = ToMark(mark);
    node->expanded_scalar_bytes = value.size();
    Charge(node->expanded_nodes, node->expanded_scalar_bytes, node->mark, false);
    Add(std::move(node), anchor);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(YamlNode::Kind::kSequence, mark, anchor);
  }
  void OnSequenceEnd() override { Close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(YamlNode::Kind::kMap, mark, anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Open_ {
    std::shared_ptr<YamlNode> node;
    YAML::anchor_t anchor;
    YamlNodePtr pending_key;  // maps: a key waiting for its value
  };

  void Open(YamlNode::Kind kind, const YAML::Mark& mark, YAML::anchor_t anchor) {
    auto node = std::make_shared<YamlNode>();
    node->kind = kind;
    node->mark = ToMark(mark);
    Charge(node->expanded_nodes, node->expanded_scalar_bytes, node->mark, false);
    stack_.push_back({std::move(node), anchor, nullptr});
  }

  void Close() {
    Open_ open = std::move(stack_.back());
    stack_.pop_back();
    if (open.node->IsMap()) FinishMap(*open.node);
    CountExpanded(*open.node);
    Add(std::move(open.node), open.anchor);
  }

  static void CountExpanded(YamlNode& node) {
    auto add = [&node](const YamlNodePtr& child) {
      node.expanded_nodes += child->expanded_nodes;
      node.expanded_scalar_bytes += child->expanded_scalar_bytes;
    };
    for (const auto& item : node.items) add(item);
    for (const auto& [k, v] : node.entries) {
      add(k);
      add(v);
    }
  }

  // Adds what `node` expands to (an alias: the whole anchored tree) to the document's total,
  // and stops the parse at `node`'s position once a limit is crossed.
  void Charge(uint64_t nodes, uint64_t scalar_bytes, SourceMark mark, bool alias) {
    total_nodes_ += nodes;
    total_scalar_bytes_ += scalar_bytes;
    if (total_nodes_ > limits_.max_expanded_nodes) {
      Refuse(mark, alias, std::to_string(limits_.max_expanded_nodes) + " nodes");
    }
    if (total_scalar_bytes_ > limits_.max_expanded_scalar_bytes) {
      Refuse(mark, alias, std::to_string(limits_.max_expanded_scalar_bytes) + " bytes of text");
    }
  }

  [[noreturn]] static void Refuse(SourceMark mark, bool alias, const std::string& limit) {
    std::string what = alias ? "YAML aliases (*name) expand this document to more than "
                             : "this document has more than ";
    throw LimitExceeded{mark, what + limit + " (the most Baton loads)", LimitHint()};
  }

  void Add(YamlNodePtr node, YAML::anchor_t anchor) {
    if (anchor != 0) anchors_[anchor] = node;
    if (stack_.empty()) {
      if (!root_) root_ = std::move(node);
      return;
    }
    Open_& top = stack_.back();
    if (top.node->IsSequence()) {
      top.node->items.push_back(std::move(node));
    } else if (!top.pending_key) {
      top.pending_key = std::move(node);
    } else {
      top.node->entries.emplace_back(std::move(top.pending_key), std::move(node));
      top.pending_key = nullptr;
    }
  }

  void FinishMap(YamlNode& map);
  void CollectMergeSources(const YamlNode& value, std::vector<const YamlNode*>& out);

  Diagnostics& diags_;
  const ParseLimits& limits_;
  uint64_t total_nodes_ = 0;
  uint64_t total_scalar_bytes_ = 0;
  std::vector<Open_> stack_;
  std::unordered_map<YAML::anchor_t, YamlNodePtr> anchors_;
  YamlNodePtr root_;
};

void TreeBuilder::CollectMergeSources(const YamlNode& value, std::vector<const YamlNode*>& out) {
  if (value.IsMap()) {
    out.push_back(&value);
  } else if (value.IsSequence()) {
    for (const auto& item : value.items) {
      if (item->IsMap()) {
        out.push_back(item.get());
      } else {
        diags_.Error(item->mark, "a `<<` merge list may only contain maps");
      }
    }
  } else {
    diags_.Error(value.mark, "the value of a `<<` merge key must be a map or a list of maps");
  }
}

// Reports duplicate keys (keeping the last value, as most YAML loaders do) and applies `<<`
// merge keys: explicit keys win over merged ones, earlier merge sources win over later ones.
void TreeBuilder::FinishMap(YamlNode& map) {
  std::vector<std::pair<YamlNodePtr, YamlNodePtr>> explicit_entries;
  std::vector<const YamlNode*> sources;
  std::unordered_map<std::string, size_t> seen;  // key -> index in explicit_entries
  for (auto& entry : map.entries) {
    const YamlNode& key = *entry.first;
    if (IsMergeKey(key)) {
      CollectMergeSources(*entry.second, sources);
      continue;
    }
    if (key.IsScalar()) {
      auto [it, inserted] = seen.emplace(key.value, explicit_entries.size());
      if (!inserted) {
        const YamlNode& first = *explicit_entries[it->second].first;
        diags_.Error(key.mark,
                     "mapping key \"" + key.value + "\" already defined at line " +
                         std::to_string(first.mark.line),
                     "remove one of the two `" + key.value + "` keys");
        explicit_entries[it->second].second = entry.second;
        continue;
      }
    }
    explicit_entries.push_back(std::move(entry));
  }
  if (sources.empty()) {
    map.entries = std::move(explicit_entries);
    return;
  }
  std::vector<std::pair<YamlNodePtr, YamlNodePtr>> merged;
  for (const YamlNode* source : sources) {
    for (const auto& entry : source->entries) {
      if (!entry.first->IsScalar()) continue;
      if (seen.emplace(entry.first->value, SIZE_MAX).second) merged.push_back(entry);
    }
  }
  map.entries = std::move(merged);
  for (auto& entry : explicit_entries) map.entries.push_back(std::move(entry));
}

bool IsNullWord(std::string_view s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> BoolWord(std::string_view s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

std::optional<int64_t> IntWord(std::string_view s) {
  std::string_view digits = s;
  bool negative = false;
  if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
    negative = digits[0] == '-';
    digits.remove_prefix(1);
  }
  int base = 10;
  if (digits.size() > 2 && digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'o')) {
    base = digits[1] == 'x' ? 16 : 8;
    digits.remove_prefix(2);
  }
  if (digits.empty()) return std::nullopt;
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value, base);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return negative ? -value : value;
}

std::optional<double> FloatWord(std::string_view s) {
  if (s == ".inf" || s == "+.inf" || s == ".Inf") return std::numeric_limits<double>::infinity();
  if (s == "-.inf" || s == "-.Inf") return -std::numeric_limits<double>::infinity();
  bool has_digit = false;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      has_digit = true;
    } else if (c != '.' && c != '-' && c != '+' && c != 'e' && c != 'E') {
      return std::nullopt;
    }
  }
  if (!has_digit) return std::nullopt;
  double value = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return value;
}

}  // namespace

// Where byte `offset` of `text` is, 1-based.
SourceMark MarkAt(std::string_view text, size_t offset) {
  SourceMark mark{1, 1};
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++mark.line;
      mark.column = 1;
    } else {
      ++mark.column;
    }
  }
  return mark;
}

YamlNodePtr ParseYaml(std::string_view text, Diagnostics& diags, const ParseLimits& limits) {
  if (text.size() > limits.max_file_bytes) {
    diags.Error(MarkAt(text, limits.max_file_bytes),
                "the file is " + std::to_string(text.size()) + " bytes, more than the " +
                    std::to_string(limits.max_file_bytes) + " bytes Baton loads",
                "split the pipeline into several (a set_pipeline step can set the others), or "
                "keep large data in a resource instead of the pipeline");
    return nullptr;
  }
  std::istringstream in{std::string(text)};
  TreeBuilder builder(diags, limits);
  try {
    YAML::Parser parser(in);
    parser.HandleNextDocument(builder);
  } catch (const LimitExceeded& e) {
    diags.Error(e.mark, e.message, e.hint);
    return nullptr;
  } catch (const YAML::Exception& e) {
    diags.Error(ToMark(e.mark), "invalid YAML: " + e.msg,
                "check the indentation, quotes and brackets here and on the lines before");
    return nullptr;
  } catch (const std::exception& e) {
    diags.Error({}, std::string("invalid YAML: ") + e.what());
    return nullptr;
  }
  if (!builder.root()) return std::make_shared<YamlNode>();
  return builder.root();
}

Json ScalarToJson(const YamlNode& node) {
  if (!node.plain) return node.value;
  if (IsNullWord(node.value)) return nullptr;
  if (auto b = BoolWord(node.value)) return *b;
  if (auto i = IntWord(node.value)) return *i;
  if (auto f = FloatWord(node.value)) return *f;
  return node.value;
}

Json ToJson(const YamlNode& node) {
  switch (node.kind) {
    case YamlNode::Kind::kNull:
      return nullptr;
    case YamlNode::Kind::kScalar:
      return ScalarToJson(node);
    case YamlNode::Kind::kSequence: {
      Json out = Json::array();
      for (const auto& item : node.items) out.push_back(ToJson(*item));
      return out;
    }
    case YamlNode::Kind::kMap: {
      Json out = Json::object();
      for (const auto& [k, v] : node.entries) {
        out[k->IsScalar() ? k->value
                          : ToJson(*k).dump(-1, ' ', false, Json::error_handler_t::replace)] =
            ToJson(*v);
      }
      return out;
    }
  }
  return nullptr;
}

YamlNodePtr FromJson(const Json& value, SourceMark mark) {
  auto node = std::make_shared<YamlNode>();
  node->mark = mark;
  if (value.is_null()) return node;
  if (value.is_array()) {
    node->kind = YamlNode::Kind::kSequence;
    for (const auto& item : value) node->items.push_back(FromJson(item, mark));
  } else if (value.is_object()) {
    node->kind = YamlNode::Kind::kMap;
    for (const auto& [k, v] : value.items()) {
      node->entries.emplace_back(FromJson(Json(k), mark), FromJson(v, mark));
    }
  } else {
    node->kind = YamlNode::Kind::kScalar;
    node->plain = !value.is_string();
    node->value = value.is_string() ? value.get<std::string>()
                                    : value.dump(-1, ' ', false, Json::error_handler_t::replace);
  }
  return node;
}

}  // namespace baton::pipelines
