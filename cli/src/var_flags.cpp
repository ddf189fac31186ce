#include "var_flags.h"

namespace baton::cli {

void VarFlags::AddTo(CLI::App* cmd) {
  cmd->add_option("-v,--var", vars, "Set a var: NAME=VALUE (string)");
  cmd->add_option("-y,--yaml-var", yaml_vars, "Set a var: NAME=YAML");
  cmd->add_option("-l,--load-vars-from", var_files, "Load vars from a YAML file");
}

Status VarFlags::Collect(pipelines::Vars& out) const {
  for (const auto& f : var_files) BATON_RETURN_IF_ERROR(out.AddFile(f));
  for (const auto& v : vars) BATON_RETURN_IF_ERROR(out.AddStringFlag(v));
  for (const auto& y : yaml_vars) BATON_RETURN_IF_ERROR(out.AddYamlFlag(y));
  return Status::Ok();
}

}  // namespace baton::cli
