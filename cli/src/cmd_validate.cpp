// `baton validate-pipeline`: checks a pipeline file the way `fly validate-pipeline` does, with
// every problem reported at its line and column.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "baton/pipelines/loader.h"
#include "command.h"
#include "var_flags.h"

namespace baton::cli {
namespace {

using pipelines::Diagnostic;
using pipelines::Diagnostics;
using pipelines::PipelineLoad;
using pipelines::Severity;

struct ValidateFlags {
  std::string config;
  VarFlags vars;
  bool strict = false;
  bool check_vars = false;
  std::string output = "text";
};

std::string Plural(size_t n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

nlohmann::json DiagnosticJson(const Diagnostic& d) {
  return {{"file", d.file},          {"line", d.mark.line},
          {"column", d.mark.column}, {"severity", pipelines::ToString(d.severity)},
          {"message", d.message},    {"hint", d.hint},
          {"location", d.location}};
}

void PrintJson(const PipelineLoad& load, bool valid) {
  nlohmann::json out = {{"valid", valid},
                        {"errors", nlohmann::json::array()},
                        {"warnings", nlohmann::json::array()},
                        {"unresolved_vars", nlohmann::json::array()}};
  for (const auto& d : load.diagnostics.items()) {
    out[d.severity == Severity::kError ? "errors" : "warnings"].push_back(DiagnosticJson(d));
  }
  for (const auto& v : load.unresolved_vars) {
    out["unresolved_vars"].push_back(
        {{"name", v.name}, {"line", v.mark.line}, {"column", v.mark.column}});
  }
  std::cout << out.dump(2) << "\n";
}

void PrintText(const PipelineLoad& load, std::string_view source, bool valid, bool strict) {
  bool color = ::isatty(STDOUT_FILENO) != 0;
  std::cout << pipelines::RenderAll(load.diagnostics, source, color);
  size_t errors = load.diagnostics.ErrorCount();
  size_t warnings = load.diagnostics.WarningCount();
  if (valid) {
    std::cout << "looks good";
    if (warnings > 0) std::cout << " (" << Plural(warnings, "warning") << ")";
    std::cout << "\n";
    return;
  }
  std::cout << Plural(errors, "error") << ", " << Plural(warnings, "warning")
            << ": configuration invalid";
  if (errors == 0 && strict) std::cout << " (--strict treats warnings as errors)";
  std::cout << "\n";
}

int RunValidate(const ValidateFlags& flags) {
  if (flags.output != "text" && flags.output != "json") {
    std::cerr << "error: --output must be `text` or `json`\n";
    return kExitErrored;
  }
  auto source = pipelines::ReadTextFile(flags.config);
  if (!source.ok()) {
    std::cerr << "error: " << source.status().ToString() << "\n";
    return kExitErrored;
  }
  pipelines::Vars vars;
  if (Status s = flags.vars.Collect(vars); !s.ok()) {
    std::cerr << "error: " << s.ToString() << "\n";
    return kExitErrored;
  }
  pipelines::LoadOptions options;
  options.file_name = flags.config;
  options.vars = &vars;
  options.strict = flags.strict;
  options.check_vars = flags.check_vars;
  PipelineLoad load = pipelines::LoadPipeline(*source, options);
  bool valid = load.ok() && !(flags.strict && load.diagnostics.WarningCount() > 0);
  if (flags.output == "json") {
    PrintJson(load, valid);
  } else {
    PrintText(load, *source, valid, flags.strict);
  }
  return valid ? kExitOk : kExitFailed;
}

void RegisterValidate(CLI::App& root, int& exit_code) {
  auto flags = std::make_shared<ValidateFlags>();
  CLI::App* cmd = root.add_subcommand("validate-pipeline", "Check a pipeline file for errors");
  cmd->add_option("-c,--config", flags->config, "Pipeline file to validate")->required();
  flags->vars.AddTo(cmd);
  cmd->add_flag("--strict", flags->strict, "Fail on warnings and unknown top-level fields as well");
  cmd->add_flag("--check-vars", flags->check_vars, "Fail when a ((var)) has no value");
  cmd->add_option("--output", flags->output, "Output format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->callback([flags, &exit_code] { exit_code = RunValidate(*flags); });
}

BATON_COMMAND(RegisterValidate, "validate-pipeline");

}  // namespace
}  // namespace baton::cli
