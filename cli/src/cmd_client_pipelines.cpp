// Pipeline commands: `pipelines`, `get-pipeline`, `destroy-pipeline`, `pause-pipeline`,
// `unpause-pipeline`, `expose-pipeline`, `hide-pipeline`.
#include "client/client_command.h"
#include "client/table.h"
#include "command.h"

namespace baton::cli {
namespace {

struct PipelineFlags {
  ClientFlags client;
  std::string pipeline;
  bool non_interactive = false;
};

int ListPipelines(const PipelineFlags& flags) {
  auto client = Connect(flags.client);
  if (!client.ok()) return ReportError(client.status());
  auto list = client->Get("/teams/" + client->target().team + "/pipelines");
  if (!list.ok()) return ReportError(list.status());
  if (flags.client.json) {
    PrintJson(*list);
    return kExitOk;
  }
  Table table({"id", "name", "paused", "public", "config version", "created"});
  for (const auto& p : *list) {
    bool paused = p.value("paused", false);
    table.AddRow({Field(p, "id"), Field(p, "name"),
                  Cell(paused ? "yes" : "no", paused ? StatusColor("paused") : ""),
                  p.value("public", false) ? "yes" : "no", Field(p, "config_version"),
                  Field(p, "created_at")});
  }
  table.Print(stdout, WantsColor(stdout));
  return kExitOk;
}

int GetPipeline(const PipelineFlags& flags) {
  auto client = Connect(flags.client);
  if (!client.ok()) return ReportError(client.status());
  auto config = client->Get(client->PipelinePath(flags.pipeline, "/config"));
  if (!config.ok()) return ReportError(config.status());
  if (flags.client.json) {
    PrintJson(*config);
    return kExitOk;
  }
  std::string yaml = Field(*config, "config");
  std::fwrite(yaml.data(), 1, yaml.size(), stdout);
  if (!yaml.empty() && yaml.back() != '\n') std::fputc('\n', stdout);
  return kExitOk;
}

int DestroyPipeline(const PipelineFlags& flags) {
  auto client = Connect(flags.client);
  if (!client.ok()) return ReportError(client.status());
  if (!flags.non_interactive && Interactive() &&
      !AskYesNo("!!! this will remove all data for pipeline `" + flags.pipeline +
                "`\n\nare you sure?")) {
    std::printf("bailing out\n");
    return kExitFailed;
  }
  auto done = client->Delete(client->PipelinePath(flags.pipeline));
  if (!done.ok()) return ReportError(done.status());
  std::printf("`%s` deleted\n", flags.pipeline.c_str());
  return kExitOk;
}

// PUT .../pipelines/P/<action>, then "<message>".
int PipelineAction(const PipelineFlags& flags, const std::string& action,
                   const std::string& message) {
  auto client = Connect(flags.client);
  if (!client.ok()) return ReportError(client.status());
  auto done = client->Put(client->PipelinePath(flags.pipeline, "/" + action));
  if (!done.ok()) return ReportError(done.status());
  std::printf("%s `%s`\n", message.c_str(), flags.pipeline.c_str());
  return kExitOk;
}

CLI::App* Add(CLI::App& root, const char* name, const char* help,
              std::shared_ptr<PipelineFlags> flags, bool with_json = false) {
  auto* cmd = root.add_subcommand(name, help);
  flags->client.AddTo(cmd, with_json);
  return cmd;
}

void RegisterPipelineCommands(CLI::App& root, int& exit_code) {
  auto list = std::make_shared<PipelineFlags>();
  Add(root, "pipelines", "List the team's pipelines", list, true)->callback([list, &exit_code] {
    exit_code = ListPipelines(*list);
  });

  auto get = std::make_shared<PipelineFlags>();
  auto* get_cmd = Add(root, "get-pipeline", "Print a pipeline's current config", get, true);
  get_cmd->add_option("-p,--pipeline", get->pipeline, "Pipeline name")->required();
  get_cmd->callback([get, &exit_code] { exit_code = GetPipeline(*get); });

  auto destroy = std::make_shared<PipelineFlags>();
  auto* destroy_cmd = Add(root, "destroy-pipeline", "Delete a pipeline and its history", destroy);
  destroy_cmd->add_option("-p,--pipeline", destroy->pipeline, "Pipeline name")->required();
  destroy_cmd->add_flag("-n,--non-interactive", destroy->non_interactive, "Do not ask");
  destroy_cmd->callback([destroy, &exit_code] { exit_code = DestroyPipeline(*destroy); });

  struct Action {
    const char* name;
    const char* action;
    const char* help;
    const char* message;
  };
  static const Action kActions[] = {
      {"pause-pipeline", "pause", "Stop scheduling a pipeline's jobs", "paused"},
      {"unpause-pipeline", "unpause", "Resume scheduling a pipeline's jobs", "unpaused"},
      {"expose-pipeline", "expose", "Make a pipeline visible without a token", "exposed"},
      {"hide-pipeline", "hide", "Make a pipeline visible only with a token", "hid"},
  };
  for (const Action& a : kActions) {
    auto flags = std::make_shared<PipelineFlags>();
    auto* cmd = Add(root, a.name, a.help, flags);
    cmd->add_option("-p,--pipeline", flags->pipeline, "Pipeline name")->required();
    cmd->callback(
        [flags, a, &exit_code] { exit_code = PipelineAction(*flags, a.action, a.message); });
  }
}

BATON_COMMAND(RegisterPipelineCommands, "pipelines", "get-pipeline", "destroy-pipeline",
              "pause-pipeline", "unpause-pipeline", "expose-pipeline", "hide-pipeline");

}  // namespace
}  // namespace baton::cli
