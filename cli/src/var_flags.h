// The -v/-y/-l flags every pipeline-reading command takes, as fly has them.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "baton/common/status.h"
#include "baton/pipelines/vars.h"

namespace baton::cli {

struct VarFlags {
  std::vector<std::string> vars;       // -v NAME=VALUE
  std::vector<std::string> yaml_vars;  // -y NAME=YAML
  std::vector<std::string> var_files;  // -l FILE

  void AddTo(CLI::App* cmd);
  // Files first, then -v, then -y: later ones win, as in fly.
  Status Collect(pipelines::Vars& out) const;
};

}  // namespace baton::cli
