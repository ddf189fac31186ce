// Interpolation core shared by vars.cpp (JSON values at run time) and the loader (YAML trees
// with marks at load time). Pure functions; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "baton/pipelines/loader.h"
#include "baton/pipelines/vars.h"
#include "yaml_document.h"

namespace baton::pipelines {

// What interpolating one string produced.
struct TextInterpolation {
  bool changed = false;            // at least one var was substituted
  std::optional<Json> whole;       // the string was exactly one resolved ((var)): its value
  std::string text;                // otherwise: the string with resolved vars spliced in
  std::vector<VarRef> unresolved;  // refs left in place, in order
};

// Resolves one reference: the default source from `vars`, "." from `local`. Other sources
// (var_sources, credential managers) are not resolved here.
std::optional<Json> ResolveVarRef(const VarRef& ref, const Vars* vars, const Vars* local);

TextInterpolation InterpolateText(std::string_view text, const Vars* vars, const Vars* local);

struct InterpolationResult {
  YamlNodePtr node;
  std::vector<UnresolvedVar> unresolved;
  // Where substituted values first grew the tree past the limits (substitution stopped there).
  std::optional<SourceMark> over_limit;
};

// Interpolates every scalar (keys and values) of a YAML tree. A scalar that is exactly one
// ((var)) becomes the var's value, marked where the ((var)) was written. Unresolved refs,
// except local `((.:x))` ones (resolved while a build runs), are listed in `unresolved`.
// Subtrees without vars are shared, not copied; an aliased subtree is walked once. The nodes
// and text that substitutions add count against `limits`.
InterpolationResult InterpolateNode(const YamlNodePtr& node, const Vars* vars,
                                    const ParseLimits& limits);

// True if the text contains at least one well-formed ((var)).
bool ContainsVarRef(std::string_view text);

// True if `node` is a scalar that is exactly one ((var)) (left unresolved).
bool IsVarRefScalar(const YamlNode& node);

}  // namespace baton::pipelines
