// `baton open [-p P | -j P/J | -b ID]`: the web UI's URL for a pipeline, a job or a build (the
// dashboard without one), printed, and opened in a browser when a person is at a terminal.
#include <cstdlib>

#include "baton/webapi/http_types.h"
#include "client/client_command.h"
#include "command.h"

namespace baton::cli {
namespace {

struct OpenFlags {
  ClientFlags client;
  std::string pipeline;
  std::string job;
  std::string build;
  bool print_only = false;
};

// The UI path for the flags; its routes mirror the API's (/teams/T/pipelines/P/jobs/J).
Result<std::string> UiPath(const ApiClient& client, const OpenFlags& flags) {
  if (!flags.build.empty()) {
    if (flags.build.find_first_not_of("0123456789") != std::string::npos) {
      return InvalidArgument("-b takes a build id (a number, as `baton builds` shows), got \"" +
                             flags.build + "\"");
    }
    return "/builds/" + flags.build;
  }
  if (!flags.job.empty()) {
    BATON_ASSIGN_OR_RETURN(auto pj, SplitPipelinePath(flags.job, "-j", "JOB"));
    return client.PipelinePath(pj.first, "/jobs/" + net::PercentEncode(pj.second));
  }
  if (!flags.pipeline.empty()) return client.PipelinePath(flags.pipeline);
  return std::string("/");
}

int Open(const OpenFlags& flags) {
  auto client = Connect(flags.client);
  if (!client.ok()) return ReportError(client.status());
  auto path = UiPath(*client, flags);
  if (!path.ok()) return ReportError(path.status(), true);
  std::string url = client->target().url + *path;
  std::printf("%s\n", url.c_str());
  if (flags.print_only || !Interactive()) return kExitOk;
  const char* browser = std::getenv("BROWSER");
  std::string opener = browser && *browser ? browser : "xdg-open";
  // The URL is ours (target URL + encoded names); quote it for the shell all the same.
  std::string quoted = "'";
  for (char c : url) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  quoted += "'";
  if (std::system((opener + " " + quoted + " >/dev/null 2>&1 &").c_str()) != 0) {
    std::fprintf(stderr, "(could not start %s; open the URL above yourself)\n", opener.c_str());
  }
  return kExitOk;
}

void RegisterOpen(CLI::App& root, int& exit_code) {
  auto flags = std::make_shared<OpenFlags>();
  auto* cmd =
      root.add_subcommand("open", "Print (and open) the web UI's URL for a pipeline, job or build");
  flags->client.AddTo(cmd);
  auto* p = cmd->add_option("-p,--pipeline", flags->pipeline, "Pipeline");
  auto* j = cmd->add_option("-j,--job", flags->job, "Job, as PIPELINE/JOB");
  auto* b = cmd->add_option("-b,--build", flags->build, "Build id");
  p->excludes(j)->excludes(b);
  j->excludes(b);
  cmd->add_flag("--print", flags->print_only, "Only print the URL, never start a browser");
  cmd->callback([flags, &exit_code] { exit_code = Open(*flags); });
}

BATON_COMMAND(RegisterOpen, "open");

// `-t TARGET` before the verb, as fly takes it: `baton -t ci set-pipeline ...`.
void RegisterTargetBeforeVerb(CLI::App& root, int&) {
  root.add_option("-t,--target", TargetBeforeVerb(),
                  "Target for the command that follows (as saved by `baton login`)");
}

BATON_ROOT_OPTIONS(RegisterTargetBeforeVerb);

}  // namespace
}  // namespace baton::cli
