// `baton graph -c FILE [--format text|dot]`: shows how a pipeline's jobs depend on each other
// through `passed:` constraints, as stages in a terminal or as Graphviz dot.
#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>

#include "baton/pipelines/graph.h"
#include "baton/pipelines/loader.h"
#include "command.h"
#include "var_flags.h"

namespace baton::cli {
namespace {

struct GraphFlags {
  std::string config;
  std::string format = "text";
  VarFlags var_flags;
};

int RunGraph(const GraphFlags& flags) {
  auto source = pipelines::ReadTextFile(flags.config);
  if (!source.ok()) {
    std::cerr << "error: " << source.status().ToString() << "\n";
    return kExitErrored;
  }
  pipelines::Vars vars;
  if (Status s = flags.var_flags.Collect(vars); !s.ok()) {
    std::cerr << "error: " << s.ToString() << "\n";
    return kExitErrored;
  }
  pipelines::LoadOptions options;
  options.file_name = flags.config;
  options.vars = &vars;
  pipelines::PipelineLoad load = pipelines::LoadPipeline(*source, options);
  if (!load.ok()) {
    std::cerr << pipelines::RenderAll(load.diagnostics, *source, ::isatty(STDERR_FILENO) != 0);
    std::cerr << "configuration invalid: fix the errors above to see the graph\n";
    return kExitFailed;
  }
  const auto graph = pipelines::JobGraph::Build(*load.config);
  std::cout << (flags.format == "dot" ? graph.RenderDot(*load.config) : graph.RenderText());
  return kExitOk;
}

void RegisterGraph(CLI::App& root, int& exit_code) {
  auto flags = std::make_shared<GraphFlags>();
  CLI::App* cmd = root.add_subcommand(
      "graph", "Show how a pipeline's jobs depend on each other (passed: constraints)");
  cmd->add_option("-c,--config", flags->config, "Pipeline file")->required();
  cmd->add_option("--format", flags->format, "Output format: text (stages) or dot (Graphviz)")
      ->check(CLI::IsMember({"text", "dot"}));
  flags->var_flags.AddTo(cmd);
  cmd->callback([flags, &exit_code] { exit_code = RunGraph(*flags); });
}

BATON_COMMAND(RegisterGraph, "graph");

}  // namespace
}  // namespace baton::cli
