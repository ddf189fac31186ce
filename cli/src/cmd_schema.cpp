// `baton schema [--task]`: prints the JSON Schema of pipeline (or task) files, for editors.
#include <iostream>

#include "baton/pipelines/schema.h"
#include "command.h"

namespace baton::cli {
namespace {

void RegisterSchema(CLI::App& root, int& exit_code) {
  auto* cmd = root.add_subcommand(
      "schema", "Print the JSON Schema (draft 2020-12) of pipeline files, for editors");
  auto task = std::make_shared<bool>(false);
  cmd->add_flag("--task", *task, "Print the schema of task config files instead");
  cmd->callback([task, &exit_code] {
    const auto schema = *task ? pipelines::TaskSchema() : pipelines::PipelineSchema();
    std::cout << schema.dump(2) << "\n";
    exit_code = kExitOk;
  });
}

BATON_COMMAND(RegisterSchema, "schema");

}  // namespace
}  // namespace baton::cli
