#include "double_brace_vars.h"

#include <cctype>
#include <string>
#include <unordered_set>

namespace baton::pipelines {
namespace {

// "name" when `node` is `{{name}}` as YAML reads it: a map with one entry whose value is null
// and whose key is a map with one entry, a plain scalar key and a null value.
std::string NestedMapVar(const YamlNode& node) {
  if (!node.IsMap() || node.entries.size() != 1) return "";
  const auto& [key, value] = node.entries[0];
  if (!value->IsNull() || !key->IsMap() || key->entries.size() != 1) return "";
  const auto& [name, inner] = key->entries[0];
  if (!name->IsScalar() || !name->plain || name->value.empty() || !inner->IsNull()) return "";
  return name->value;
}

bool IsVarNameChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '-' || c == '.' ||
         c == ':' || c == '/';
}

// The first `{{name}}` in `text` whose name starts with a letter or '_' and has no spaces (old
// Concourse's form); "" when there is none.
std::string VarInString(const std::string& text) {
  for (size_t open = text.find("{{"); open != std::string::npos; open = text.find("{{", open + 1)) {
    size_t start = open + 2;
    size_t end = start;
    while (end < text.size() && IsVarNameChar(text[end])) ++end;
    bool starts_well =
        start < text.size() &&
        (std::isalpha(static_cast<unsigned char>(text[start])) != 0 || text[start] == '_');
    if (starts_well && text.compare(end, 2, "}}") == 0) return text.substr(start, end - start);
  }
  return "";
}

class Walker {
 public:
  explicit Walker(Diagnostics& diags) : diags_(diags) {}

  void Walk(const YamlNode& node) {
    if (!seen_.insert(&node).second) return;  // an alias: reported where it was anchored
    if (std::string name = NestedMapVar(node); !name.empty()) {
      diags_.Error(node.mark,
                   "`{{" + name +
                       "}}` is the {{var}} interpolation that Concourse removed: YAML reads it "
                       "as a map nested in a map, not as a var",
                   "write ((" + name + ")) instead");
      return;
    }
    if (node.IsScalar()) {
      if (std::string name = VarInString(node.value); !name.empty()) {
        diags_.Warning(node.mark,
                       "`{{" + name +
                           "}}` in this string is the {{var}} interpolation that Concourse "
                           "removed: it stays as written",
                       "write ((" + name + ")) to use the var");
      }
      return;
    }
    for (const auto& item : node.items) Walk(*item);
    for (const auto& [key, value] : node.entries) {
      Walk(*key);
      Walk(*value);
    }
  }

 private:
  Diagnostics& diags_;
  std::unordered_set<const YamlNode*> seen_;
};

}  // namespace

void ReportDoubleBraceVars(const YamlNode& root, Diagnostics& diags) { Walker(diags).Walk(root); }

}  // namespace baton::pipelines
