// Validation of `var_sources`, as Concourse's configvalidate does it: the type must be a known
// credential manager, and a `dummy` source needs `config: {vars: {...}}`.
#include "baton/pipelines/validate.h"
#include "baton/pipelines/vars.h"

namespace baton::pipelines {

void CheckVarSources(const PipelineConfig& config, Diagnostics& diags) {
  for (const auto& source : config.var_sources) {
    if (source.type.empty()) continue;  // reported where the field is read
    if (!IsKnownVarSourceType(source.type)) {
      diags.Error(
          source.mark,
          "var source `" + source.name + "`: unknown credential manager type `" + source.type + "`",
          "use dummy (resolved by Baton), or vault, credhub, ssm, secretsmanager, "
          "conjur, kubernetes or idtoken");
      continue;
    }
    if (source.type != "dummy") continue;
    const Json& vars = source.config.is_object() && source.config.contains("vars")
                           ? source.config["vars"]
                           : Json();
    if (!vars.is_object()) {
      diags.Error(source.mark, "var source `" + source.name + "`: invalid vars config",
                  "a dummy var source needs `config: {vars: {name: value, ...}}`");
    }
  }
}

}  // namespace baton::pipelines
