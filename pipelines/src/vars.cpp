// ((var)) references and the Vars store.
#include "baton/pipelines/vars.h"

#include "baton/common/strings.h"
#include "baton/pipelines/loader.h"
#include "interpolate.h"
#include "yaml_document.h"

namespace baton::pipelines {

namespace {

bool IsBareSegmentChar(char c) {
  return c != '(' && c != ')' && c != '"' && c != '.' && c != ' ' && c != '\t' && c != '\n';
}

// Splits `path` on dots; segments may be double-quoted to contain dots or colons.
Result<std::vector<std::string>> SplitPath(std::string_view path) {
  std::vector<std::string> segments;
  size_t i = 0;
  while (true) {
    std::string segment;
    if (i < path.size() && path[i] == '"') {
      size_t close = path.find('"', i + 1);
      if (close == std::string_view::npos) return InvalidArgument("unterminated quote");
      segment = std::string(path.substr(i + 1, close - i - 1));
      i = close + 1;
    } else {
      size_t start = i;
      while (i < path.size() && IsBareSegmentChar(path[i])) ++i;
      segment = std::string(path.substr(start, i - start));
    }
    if (segment.empty()) return InvalidArgument("empty name segment");
    segments.push_back(std::move(segment));
    if (i == path.size()) return segments;
    if (path[i] != '.')
      return InvalidArgument("unexpected character '" + std::string(1, path[i]) + "'");
    ++i;
  }
}

}  // namespace

Result<VarRef> ParseVarRef(std::string_view inside) {
  std::string_view text = Trim(inside);
  if (text.empty()) return InvalidArgument("empty var reference");
  VarRef ref;
  ref.text = std::string(text);
  std::string_view path = text;
  size_t colon = text.find(':');
  size_t quote = text.find('"');
  if (colon != std::string_view::npos && colon > 0 && colon < quote) {
    ref.source = std::string(text.substr(0, colon));
    for (char c : ref.source) {
      if (!IsBareSegmentChar(c) && c != '.') return InvalidArgument("bad var source name");
    }
    path = text.substr(colon + 1);
  }
  auto segments = SplitPath(path);
  if (!segments.ok()) {
    return InvalidArgument("invalid var reference ((" + ref.text +
                           ")): " + segments.status().message());
  }
  ref.name = segments->front();
  ref.fields.assign(segments->begin() + 1, segments->end());
  return ref;
}

void Vars::Set(std::string_view name, Json value) {
  auto segments = SplitPath(name);
  if (!segments.ok()) {
    values_[std::string(name)] = std::move(value);
    return;
  }
  Json* slot = &values_[segments->front()];
  for (size_t i = 1; i < segments->size(); ++i) {
    if (!slot->is_object()) *slot = Json::object();
    slot = &(*slot)[(*segments)[i]];
  }
  *slot = std::move(value);
}

void Vars::SetExact(std::string_view name, Json value) {
  values_[std::string(name)] = std::move(value);
}

std::optional<Json> Vars::Lookup(const VarRef& ref) const {
  auto it = values_.find(ref.name);
  if (it == values_.end()) return std::nullopt;
  const Json* current = &it->second;
  for (const auto& field : ref.fields) {
    if (!current->is_object()) return std::nullopt;
    auto f = current->find(field);
    if (f == current->end()) return std::nullopt;
    current = &*f;
  }
  return *current;
}

namespace {
Result<std::pair<std::string, std::string>> SplitAssignment(std::string_view flag,
                                                            const char* what) {
  size_t eq = flag.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return InvalidArgument(std::string("expected ") + what + ", got `" + std::string(flag) + "`");
  }
  return std::make_pair(std::string(flag.substr(0, eq)), std::string(flag.substr(eq + 1)));
}

Status FirstError(const Diagnostics& diags, const std::string& context) {
  for (const auto& d : diags.items()) {
    if (d.severity != Severity::kError) continue;
    std::string where = context;
    if (d.mark.known()) {
      where += ":" + std::to_string(d.mark.line) + ":" + std::to_string(d.mark.column);
    }
    return InvalidArgument(where + ": " + d.message);
  }
  return Status::Ok();
}
}  // namespace

Status Vars::AddStringFlag(std::string_view name_equals_value) {
  auto kv = SplitAssignment(name_equals_value, "NAME=VALUE");
  if (!kv.ok()) return kv.status();
  Set(kv->first, Json(kv->second));
  return Status::Ok();
}

Status Vars::AddYamlFlag(std::string_view name_equals_yaml) {
  auto kv = SplitAssignment(name_equals_yaml, "NAME=YAML");
  if (!kv.ok()) return kv.status();
  Diagnostics diags;
  YamlNodePtr node = ParseYaml(kv->second, diags);
  BATON_RETURN_IF_ERROR(FirstError(diags, "-y " + kv->first));
  Set(kv->first, node ? ToJson(*node) : Json());
  return Status::Ok();
}

Status Vars::AddFile(const std::string& path) {
  auto text = ReadTextFile(path);
  if (!text.ok()) return text.status();
  Diagnostics diags(path);
  YamlNodePtr node = ParseYaml(*text, diags);
  BATON_RETURN_IF_ERROR(FirstError(diags, path));
  if (!node || node->IsNull()) return Status::Ok();
  if (!node->IsMap()) {
    return InvalidArgument(path + ": a vars file must be a map of names to values, got " +
                           node->KindName());
  }
  for (const auto& [key, value] : node->entries) {
    values_[key->IsScalar() ? key->value
                            : ToJson(*key).dump(-1, ' ', false, Json::error_handler_t::replace)] =
        ToJson(*value);
  }
  return Status::Ok();
}

std::vector<VarRef> FindVarRefs(std::string_view text) {
  std::vector<VarRef> refs;
  size_t pos = 0;
  while ((pos = text.find("((", pos)) != std::string_view::npos) {
    size_t close = text.find("))", pos + 2);
    if (close == std::string_view::npos) break;
    auto ref = ParseVarRef(text.substr(pos + 2, close - pos - 2));
    if (ref.ok()) {
      refs.push_back(std::move(*ref));
      pos = close + 2;
    } else {
      ++pos;
    }
  }
  return refs;
}

std::optional<Json> ResolveVarRef(const VarRef& ref, const Vars* vars, const Vars* local) {
  const Vars* store = ref.source.empty() ? vars : ref.source == "." ? local : nullptr;
  if (!store) return std::nullopt;
  if (ref.source.empty()) return store->Lookup(ref);
  VarRef plain = ref;
  plain.source.clear();
  return store->Lookup(plain);
}

namespace {
std::string EmbeddedForm(const Json& value) {
  return value.is_string() ? value.get<std::string>()
                           : value.dump(-1, ' ', false, Json::error_handler_t::replace);
}
}  // namespace

namespace {
TextInterpolation InterpolateTextWith(std::string_view text, const VarResolver& resolve) {
  TextInterpolation out;
  size_t pos = 0, copied = 0;
  while ((pos = text.find("((", pos)) != std::string_view::npos) {
    size_t close = text.find("))", pos + 2);
    if (close == std::string_view::npos) break;
    auto ref = ParseVarRef(text.substr(pos + 2, close - pos - 2));
    if (!ref.ok()) {
      ++pos;
      continue;
    }
    std::optional<Json> value = resolve(*ref);
    if (!value) {
      out.unresolved.push_back(std::move(*ref));
      pos = close + 2;
      continue;
    }
    out.changed = true;
    if (pos == 0 && close + 2 == text.size()) {
      out.whole = std::move(*value);
      return out;
    }
    out.text.append(text.substr(copied, pos - copied));
    out.text += EmbeddedForm(*value);
    pos = copied = close + 2;
  }
  out.text.append(text.substr(copied));
  return out;
}

void NoteUnresolved(const TextInterpolation& t, std::vector<std::string>* unresolved) {
  if (unresolved == nullptr) return;
  for (const auto& ref : t.unresolved) unresolved->push_back(ref.text);
}
}  // namespace

TextInterpolation InterpolateText(std::string_view text, const Vars* vars, const Vars* local) {
  return InterpolateTextWith(text,
                             [&](const VarRef& ref) { return ResolveVarRef(ref, vars, local); });
}

bool ContainsVarRef(std::string_view text) {
  return text.find("((") != std::string_view::npos && !FindVarRefs(text).empty();
}

bool IsVarRefScalar(const YamlNode& node) {
  if (!node.IsScalar()) return false;
  std::string_view v = node.value;
  return StartsWith(v, "((") && EndsWith(v, "))") && FindVarRefs(v).size() == 1 &&
         v.find("((", 2) == std::string_view::npos;
}

Json InterpolateJsonWith(const Json& value, const VarResolver& resolve,
                         std::vector<std::string>* unresolved) {
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (s.find("((") == std::string::npos) return value;
    TextInterpolation t = InterpolateTextWith(s, resolve);
    NoteUnresolved(t, unresolved);
    if (t.whole) return *t.whole;
    return t.text;
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (const auto& item : value) out.push_back(InterpolateJsonWith(item, resolve, unresolved));
    return out;
  }
  if (value.is_object()) {
    Json out = Json::object();
    for (const auto& [k, v] : value.items()) {
      out[InterpolateStringWith(k, resolve, unresolved)] =
          InterpolateJsonWith(v, resolve, unresolved);
    }
    return out;
  }
  return value;
}

std::string InterpolateStringWith(std::string_view text, const VarResolver& resolve,
                                  std::vector<std::string>* unresolved) {
  if (text.find("((") == std::string_view::npos) return std::string(text);
  TextInterpolation t = InterpolateTextWith(text, resolve);
  NoteUnresolved(t, unresolved);
  return t.whole ? EmbeddedForm(*t.whole) : t.text;
}

Json InterpolateJson(const Json& value, const Vars& vars, std::vector<std::string>* unresolved,
                     const Vars* local) {
  return InterpolateJsonWith(
      value, [&](const VarRef& ref) { return ResolveVarRef(ref, &vars, local); }, unresolved);
}

std::string InterpolateString(std::string_view text, const Vars& vars,
                              std::vector<std::string>* unresolved, const Vars* local) {
  return InterpolateStringWith(
      text, [&](const VarRef& ref) { return ResolveVarRef(ref, &vars, local); }, unresolved);
}

}  // namespace baton::pipelines
