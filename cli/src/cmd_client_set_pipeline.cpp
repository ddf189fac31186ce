// `baton set-pipeline`: validate locally, show what changes, confirm, and send it with the
// version it was compared against so a concurrent change is refused rather than overwritten.
#include "baton/pipelines/loader.h"
#include "client/client_command.h"
#include "client/line_diff.h"
#include "client/table.h"
#include "command.h"
#include "local_env.h"
#include "var_flags.h"

namespace baton::cli {
namespace {

struct SetPipelineFlags {
  ClientFlags client;
  std::string pipeline;
  std::string config;
  VarFlags vars;
  bool non_interactive = false;
  bool paused = false;
};

struct CurrentConfig {
  bool exists = false;
  std::string yaml;
  Json vars = Json::object();
  int64_t version = 0;
};

Result<CurrentConfig> FetchCurrent(ApiClient& client, const std::string& pipeline) {
  CurrentConfig current;
  auto got = client.Get(client.PipelinePath(pipeline, "/config"));
  if (!got.ok()) {
    if (client.last_http_status() == 404) return current;
    return got.status();
  }
  current.exists = true;
  current.yaml = Field(*got, "config");
  if (got->contains("vars") && (*got)["vars"].is_object()) current.vars = (*got)["vars"];
  current.version = got->value("version", int64_t{0});
  return current;
}

// Loads the file with the vars and prints every diagnostic; an error when it is invalid.
Status ValidateLocally(const SetPipelineFlags& flags, const std::string& yaml,
                       const pipelines::Vars& vars) {
  pipelines::LoadOptions options;
  options.file_name = flags.config;
  options.vars = &vars;
  auto load = pipelines::LoadPipeline(yaml, options);
  if (!load.diagnostics.items().empty()) {
    std::fputs(pipelines::RenderAll(load.diagnostics, yaml, WantsColor(stderr)).c_str(), stderr);
  }
  if (!load.ok()) return InvalidArgument(flags.config + " is invalid; fix the errors above");
  return Status::Ok();
}

Json VarsJson(const pipelines::Vars& vars) {
  Json out = Json::object();
  for (const auto& [name, value] : vars.values()) out[name] = value;
  return out;
}

// Prints the change; false when there is none.
bool ShowChanges(const SetPipelineFlags& flags, const CurrentConfig& current,
                 const std::string& yaml, const Json& vars) {
  bool color = WantsColor(stdout);
  if (!current.exists) {
    std::printf("creating pipeline `%s` (%s)\n", flags.pipeline.c_str(), flags.config.c_str());
    std::fputs(RenderDiff(DiffLines("", yaml), color, 3).c_str(), stdout);
    return true;
  }
  std::string diff = RenderDiff(DiffLines(current.yaml, yaml), color, 3);
  bool vars_changed = current.vars != vars;
  if (diff.empty() && !vars_changed) return false;
  std::printf("changes to pipeline `%s` (config version %lld):\n", flags.pipeline.c_str(),
              static_cast<long long>(current.version));
  std::fputs(diff.c_str(), stdout);
  if (vars_changed)
    std::printf("vars change: %s -> %s\n", current.vars.dump().c_str(), vars.dump().c_str());
  return true;
}

int SetPipeline(const SetPipelineFlags& flags) {
  auto yaml = ReadInputFile(flags.config);
  if (!yaml.ok()) return ReportError(yaml.status());
  pipelines::Vars vars;
  if (Status s = flags.vars.Collect(vars); !s.ok()) return ReportError(s, true);
  if (Status s = ValidateLocally(flags, *yaml, vars); !s.ok()) return ReportError(s);
  auto client = Connect(flags.client);
  if (!client.ok()) return ReportError(client.status());
  auto current = FetchCurrent(*client, flags.pipeline);
  if (!current.ok()) return ReportError(current.status());
  Json vars_json = VarsJson(vars);
  if (!ShowChanges(flags, *current, *yaml, vars_json)) {
    std::printf("no changes to apply\n");
    return kExitOk;
  }
  if (!flags.non_interactive && Interactive() && !AskYesNo("apply configuration?")) {
    std::printf("bailing out\n");
    return kExitFailed;
  }
  Json body = {{"config", *yaml},
               {"vars", vars_json},
               {"expected_version", current->version},
               {"paused", flags.paused}};
  auto saved = client->Put(client->PipelinePath(flags.pipeline, "/config"), body);
  if (!saved.ok()) {
    if (client->last_http_status() == 409) {
      std::fprintf(stderr,
                   "error: pipeline `%s` changed on the server while you were looking at it "
                   "(you compared against config version %lld)\n%s\nrun set-pipeline again to "
                   "see the new differences\n",
                   flags.pipeline.c_str(), static_cast<long long>(current->version),
                   saved.status().message().c_str());
      return kExitFailed;
    }
    return ReportError(saved.status());
  }
  std::printf("pipeline `%s` is at config version %s%s\n", flags.pipeline.c_str(),
              Field(*saved, "config_version").c_str(),
              saved->value("paused", false) ? " (paused: baton unpause-pipeline -p ...)" : "");
  return kExitOk;
}

void RegisterSetPipeline(CLI::App& root, int& exit_code) {
  auto flags = std::make_shared<SetPipelineFlags>();
  auto* cmd = root.add_subcommand("set-pipeline", "Create or update a pipeline on the server");
  cmd->alias("sp");
  flags->client.AddTo(cmd);
  cmd->add_option("-p,--pipeline", flags->pipeline, "Pipeline name")->required();
  cmd->add_option("-c,--config", flags->config, "Pipeline file")->required();
  flags->vars.AddTo(cmd);
  cmd->add_flag("-n,--non-interactive", flags->non_interactive, "Apply without asking");
  cmd->add_flag("--paused", flags->paused, "Create the pipeline paused");
  cmd->callback([flags, &exit_code] { exit_code = SetPipeline(*flags); });
}

BATON_COMMAND(RegisterSetPipeline, "set-pipeline", "sp");

}  // namespace
}  // namespace baton::cli
