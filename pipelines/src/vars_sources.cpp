// VarSources: a pipeline's `var_sources`, resolved while a build runs.
#include <array>

#include "baton/pipelines/vars.h"

namespace baton::pipelines {
namespace {

// Concourse's credential managers (atc/creds): the names `var_sources[].type` accepts.
constexpr std::array<std::string_view, 8> kKnownTypes = {
    "dummy", "vault", "credhub", "ssm", "secretsmanager", "conjur", "kubernetes", "idtoken"};

// Walks `fields` into `value`: maps only, as Concourse's vars.Traverse (no list indexing).
std::optional<Json> Traverse(const Json& value, const std::vector<std::string>& fields) {
  const Json* current = &value;
  for (const auto& field : fields) {
    if (!current->is_object()) return std::nullopt;
    auto it = current->find(field);
    if (it == current->end()) return std::nullopt;
    current = &*it;
  }
  return *current;
}

}  // namespace

bool IsKnownVarSourceType(std::string_view type) {
  for (std::string_view known : kKnownTypes) {
    if (known == type) return true;
  }
  return false;
}

bool IsResolvableVarSourceType(std::string_view type) { return type == "dummy"; }

VarSources::VarSources(std::vector<VarSource> sources, std::string file)
    : sources_(std::move(sources)), file_(std::move(file)) {}

const VarSource* VarSources::Find(std::string_view name) const {
  for (const auto& source : sources_) {
    if (source.name == name) return &source;
  }
  return nullptr;
}

bool VarSources::Has(std::string_view name) const { return Find(name) != nullptr; }

std::string VarSources::Where(const VarSource& source) const {
  std::string where = file_.empty() ? "pipeline" : file_;
  if (source.mark.known()) {
    where += ":" + std::to_string(source.mark.line) + ":" + std::to_string(source.mark.column);
  }
  return where;
}

Result<std::optional<Json>> VarSources::Lookup(const VarRef& ref) const {
  const VarSource* source = Find(ref.source);
  if (source == nullptr) return std::optional<Json>();
  if (!IsResolvableVarSourceType(source->type)) {
    return FailedPrecondition(Where(*source) + ": var source `" + source->name + "` of type `" +
                              source->type + "` cannot be read by Baton (only `dummy` is " +
                              "supported); needed for ((" + ref.text + "))");
  }
  const Json vars = source->config.is_object() ? source->config.value("vars", Json()) : Json();
  if (!vars.is_object()) {
    return InvalidArgument(Where(*source) + ": var source `" + source->name +
                           "`: a dummy var source needs `config: {vars: {...}}`");
  }
  auto it = vars.find(ref.name);
  if (it == vars.end()) return std::optional<Json>();
  return Traverse(*it, ref.fields);
}

Result<Json> VarSources::Interpolate(const Json& value,
                                     std::vector<std::string>* credentials) const {
  Status failure = Status::Ok();
  std::vector<std::string> unresolved;
  Json out = InterpolateJsonWith(
      value,
      [&](const VarRef& ref) -> std::optional<Json> {
        if (ref.source.empty() || ref.source == "." || !Has(ref.source)) return std::nullopt;
        auto found = Lookup(ref);
        if (!found.ok()) {
          if (failure.ok()) failure = found.status();
          return std::nullopt;
        }
        if (!*found) {
          unresolved.push_back(ref.text);
          return std::nullopt;
        }
        if (credentials != nullptr) CollectCredentialStrings(**found, *credentials);
        return *found;
      },
      nullptr);
  if (!failure.ok()) return failure;
  if (!unresolved.empty()) return NotFound("undefined var: " + unresolved.front());
  return out;
}

void CollectCredentialStrings(const Json& value, std::vector<std::string>& out) {
  if (value.is_string()) {
    if (!value.get_ref<const std::string&>().empty()) out.push_back(value.get<std::string>());
  } else if (value.is_object()) {
    for (const auto& [key, item] : value.items()) CollectCredentialStrings(item, out);
  }
}

}  // namespace baton::pipelines
