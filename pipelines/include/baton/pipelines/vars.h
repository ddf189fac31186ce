// ((var)) interpolation, Concourse style.
//
// A var reference is `((name))`, `((name.field.sub))`, `((source:name.field))`, or with quoted
// segments `((source:"name.with.dots".field))`. Local build vars (from load_var and across) use
// the source `.`: `((.:name))`.
//
// Interpolation is structural: a string that is exactly one `((var))` is replaced by the var's
// value of any type (map, list, number); a string with text around the var gets the value's
// string form spliced in. Vars that are not found are left in place (a credential manager may
// supply them at run time) and reported to the caller.
//
// Values; thread-compatible.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "baton/common/status.h"
#include "baton/pipelines/pipeline_config.h"
#include "baton/pipelines/task_config.h"

namespace baton::pipelines {

struct VarRef {
  std::string source;               // "" for the default source, "." for local build vars
  std::string name;                 // first path segment
  std::vector<std::string> fields;  // remaining segments
  std::string text;                 // the whole reference as written, without the parens

  // "source:name.field" form, for messages.
  std::string ToString() const { return text; }
};

// Parses the text between `((` and `))`. Whitespace around it is ignored.
Result<VarRef> ParseVarRef(std::string_view inside);

// A set of named values, layered: later Set() calls win.
class Vars {
 public:
  // Sets a top-level var. `name` may be dotted ("a.b") to set a nested field, as fly's -v does.
  void Set(std::string_view name, Json value);
  // Sets the top-level var called exactly `name`, dots included: `load_var: local.var` is read
  // back as ((.:"local.var")), as Concourse does.
  void SetExact(std::string_view name, Json value);
  // Looks a reference up, walking fields. nullopt when the var or a field is missing.
  // REQUIRES: ref.source is "" (other sources are resolved by the caller).
  std::optional<Json> Lookup(const VarRef& ref) const;
  bool empty() const { return values_.empty(); }
  const std::map<std::string, Json>& values() const { return values_; }

  // -v name=value (value is a string).
  Status AddStringFlag(std::string_view name_equals_value);
  // -y name=<yaml> (value parsed as YAML).
  Status AddYamlFlag(std::string_view name_equals_yaml);
  // -l file.yml: every top-level key of a YAML map file.
  Status AddFile(const std::string& path);

 private:
  std::map<std::string, Json> values_;
};

// Finds every ((var)) in a string; returns the refs in order. Malformed refs are skipped.
std::vector<VarRef> FindVarRefs(std::string_view text);

// Interpolates every string in `value` (keys and values) with `vars`.
// Unresolved reference texts are appended to `unresolved` when not null.
// Lookups use `local` for the "." source when given.
Json InterpolateJson(const Json& value, const Vars& vars, std::vector<std::string>* unresolved,
                     const Vars* local = nullptr);

// Interpolates a string; the whole string must stay a string (embedded form).
std::string InterpolateString(std::string_view text, const Vars& vars,
                              std::vector<std::string>* unresolved, const Vars* local = nullptr);

// Resolves one reference at run time: its value, or nullopt to leave it in place (unresolved).
using VarResolver = std::function<std::optional<Json>(const VarRef& ref)>;

// Like InterpolateJson / InterpolateString, with every lookup made by `resolve`.
Json InterpolateJsonWith(const Json& value, const VarResolver& resolve,
                         std::vector<std::string>* unresolved);
std::string InterpolateStringWith(std::string_view text, const VarResolver& resolve,
                                  std::vector<std::string>* unresolved);

// Concourse's credential manager types (`var_sources[].type`). Others are invalid.
bool IsKnownVarSourceType(std::string_view type);
// The types Baton resolves itself: `dummy` (`config: {vars: {...}}`).
bool IsResolvableVarSourceType(std::string_view type);

// A pipeline's `var_sources`, read while a build runs: ((name:path.field)) looks `path` up in
// the source called `name`. Only `dummy` sources resolve; a var of another known type (vault,
// credhub, ...) is an error naming where the source is declared. Values; thread-compatible.
class VarSources {
 public:
  VarSources() = default;
  // `file` names the pipeline file in messages ("pipeline.yml:3:3: ...").
  VarSources(std::vector<VarSource> sources, std::string file);

  bool empty() const { return sources_.empty(); }
  // True if a var source is called `name`.
  bool Has(std::string_view name) const;
  // The value of `ref` (REQUIRES: Has(ref.source)): nullopt when the var or a field is missing;
  // an error when the source cannot be read by Baton.
  Result<std::optional<Json>> Lookup(const VarRef& ref) const;
  // Interpolates every ((source:var)) of a declared source in `value`; other refs stay as
  // written. Errors name the first var that is undefined or cannot be read. String values
  // resolved (map leaves included) are appended to `credentials` when not null, for redaction.
  Result<Json> Interpolate(const Json& value, std::vector<std::string>* credentials) const;

 private:
  const VarSource* Find(std::string_view name) const;
  std::string Where(const VarSource& source) const;

  std::vector<VarSource> sources_;
  std::string file_;
};

// The string values inside `value` Concourse would redact once used: a string, or the string
// leaves of a map (lists and numbers are not tracked). Empty strings are skipped.
void CollectCredentialStrings(const Json& value, std::vector<std::string>& out);

}  // namespace baton::pipelines
