#include "build_context.h"

#include <algorithm>

#include "baton/common/strings.h"
#include "interpolate.h"

namespace baton::pipelines {

namespace {

std::string Quoted(const std::vector<std::string>& names) {
  std::vector<std::string> quoted;
  quoted.reserve(names.size());
  for (const auto& n : names) quoted.push_back("`" + n + "`");
  return Join(quoted, ", ");
}

void TypeError(const YamlNode& node, const std::string& field, const std::string& expected,
               BuildContext& ctx) {
  std::string got = node.IsScalar() ? "`" + node.value + "`" : std::string(node.KindName());
  ctx.diags.Error(node.mark, "`" + field + "` must be " + expected + ", got " + got);
}

}  // namespace

bool CheckFields(const YamlNode& map, const std::vector<std::string>& known,
                 const std::string& what, BuildContext& ctx, const std::string& location) {
  bool ok = true;
  for (const auto& [key, value] : map.entries) {
    std::string name = key->IsScalar()
                           ? key->value
                           : ToJson(*key).dump(-1, ' ', false, Json::error_handler_t::replace);
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    ok = false;
    std::string hint;
    if (auto close = SuggestName(name, known)) {
      hint = "did you mean `" + *close + "`?";
    } else {
      hint = "valid fields are " + Quoted(known);
    }
    ctx.diags.Error(key->mark, "unknown field `" + name + "` in " + what, hint, location);
  }
  return ok;
}

bool ExpectMap(const YamlNode* node, const std::string& what, BuildContext& ctx) {
  if (!node || node->IsNull()) return false;
  if (node->IsMap()) return true;
  if (IsVarRefScalar(*node)) return false;
  TypeError(*node, what, "a map", ctx);
  return false;
}

std::string ReadString(const YamlNode* node, const std::string& field, BuildContext& ctx) {
  if (!node || node->IsNull()) return {};
  if (node->IsScalar()) return node->value;
  TypeError(*node, field, "a string", ctx);
  return {};
}

bool ReadBool(const YamlNode* node, const std::string& field, bool fallback, BuildContext& ctx) {
  if (!node || node->IsNull()) return fallback;
  if (node->IsScalar()) {
    Json v = ScalarToJson(*node);
    if (v.is_boolean()) return v.get<bool>();
    if (IsVarRefScalar(*node)) return fallback;
  }
  TypeError(*node, field, "true or false", ctx);
  return fallback;
}

int64_t ReadInt(const YamlNode* node, const std::string& field, int64_t fallback,
                BuildContext& ctx) {
  if (!node || node->IsNull()) return fallback;
  if (node->IsScalar()) {
    Json v = ScalarToJson(*node);
    if (v.is_number_integer()) return v.get<int64_t>();
    if (!node->plain && !node->value.empty()) {
      YamlNode unquoted = *node;
      unquoted.plain = true;
      v = ScalarToJson(unquoted);
      if (v.is_number_integer()) return v.get<int64_t>();
    }
    if (IsVarRefScalar(*node)) return fallback;
  }
  TypeError(*node, field, "a whole number", ctx);
  return fallback;
}

std::vector<std::string> ReadStringList(const YamlNode* node, const std::string& field,
                                        BuildContext& ctx, std::vector<SourceMark>* marks,
                                        bool allow_single) {
  std::vector<std::string> out;
  if (!node || node->IsNull()) return out;
  if (node->IsScalar() && (allow_single || !IsVarRefScalar(*node))) {
    if (!allow_single) {
      TypeError(*node, field, "a list of strings", ctx);
      return out;
    }
    out.push_back(node->value);
    if (marks) marks->push_back(node->mark);
    return out;
  }
  if (node->IsScalar()) return out;  // one ((var)) standing for the whole list
  if (!node->IsSequence()) {
    TypeError(*node, field, "a list of strings", ctx);
    return out;
  }
  for (const auto& item : node->items) {
    if (!item->IsScalar()) {
      TypeError(*item, field + "[]", "a string", ctx);
      continue;
    }
    out.push_back(item->value);
    if (marks) marks->push_back(item->mark);
  }
  return out;
}

std::map<std::string, std::string> ReadStringMap(const YamlNode* node, const std::string& field,
                                                 BuildContext& ctx) {
  std::map<std::string, std::string> out;
  if (!ExpectMap(node, field, ctx)) return out;
  for (const auto& [k, v] : node->entries) {
    out[k->value] = ReadString(v.get(), field + "." + k->value, ctx);
  }
  return out;
}

Json ReadJsonMap(const YamlNode* node, const std::string& field, BuildContext& ctx) {
  if (!node || node->IsNull()) return Json::object();
  if (node->IsMap()) return ToJson(*node);
  if (IsVarRefScalar(*node)) return node->value;
  TypeError(*node, field, "a map", ctx);
  return Json::object();
}

std::optional<Duration> ReadDuration(const YamlNode* node, const std::string& field,
                                     std::string* text, BuildContext& ctx) {
  if (!node || node->IsNull()) return std::nullopt;
  if (!node->IsScalar()) {
    TypeError(*node, field, "a duration like `90s` or `1h30m`", ctx);
    return std::nullopt;
  }
  if (text) *text = node->value;
  if (ContainsVarRef(node->value)) return std::nullopt;
  auto parsed = ParseDuration(node->value);
  if (!parsed.ok()) {
    ctx.diags.Error(
        node->mark, "invalid duration `" + node->value + "` for `" + field + "`",
        "use a duration like `90s`, `5m` or `1h30m` (" + parsed.status().message() + ")");
    return std::nullopt;
  }
  return *parsed;
}

std::optional<std::string> SuggestName(std::string_view word,
                                       const std::vector<std::string>& candidates) {
  if (auto close = ClosestMatch(word, candidates)) return close;
  for (const auto& c : candidates) {
    if (c.size() != word.size()) continue;
    size_t first = 0;
    while (first < c.size() && c[first] == word[first]) ++first;
    if (first + 1 >= c.size() || c[first] != word[first + 1] || c[first + 1] != word[first]) {
      continue;
    }
    if (c.compare(first + 2, std::string::npos, word.substr(first + 2)) == 0) return c;
  }
  return std::nullopt;
}

SourceMark KeyMark(const YamlNode& map, std::string_view key) {
  for (const auto& [k, v] : map.entries) {
    if (k->IsScalar() && k->value == key) return k->mark;
  }
  return map.mark;
}

}  // namespace baton::pipelines
