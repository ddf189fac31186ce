// `baton rerun-build -j P/J -b NAME [-w]`: a new build of the job with exactly the inputs of build
// NAME, named NAME.1, NAME.2, ... as in Concourse (it takes no new build number).
#include "client/build_watcher.h"
#include "client/client_command.h"
#include "client/table.h"
#include "command.h"

namespace baton::cli {
namespace {

struct RerunFlags {
  ClientFlags client;
  std::string job_path;  // P/J
  std::string build;     // the build's name within the job
  bool watch = false;
};

// The id of build `name` of job `pj`.
Result<int64_t> BuildIdOf(ApiClient& client, const std::pair<std::string, std::string>& pj,
                          const std::string& name) {
  BATON_ASSIGN_OR_RETURN(Json build, client.Get(client.PipelinePath(
                                         pj.first, "/jobs/" + net::PercentEncode(pj.second) +
                                                       "/builds/" + net::PercentEncode(name))));
  return build.value("id", int64_t{0});
}

int RerunBuild(const RerunFlags& flags) {
  auto pj = SplitPipelinePath(flags.job_path, "-j", "JOB");
  if (!pj.ok()) return ReportError(pj.status(), true);
  auto client = Connect(flags.client);
  if (!client.ok()) return ReportError(client.status());
  auto id = BuildIdOf(*client, *pj, flags.build);
  if (!id.ok()) return ReportError(id.status());
  auto rerun = client->Post("/builds/" + std::to_string(*id) + "/rerun");
  if (!rerun.ok()) return ReportError(rerun.status());
  if (flags.client.json) {
    PrintJson(*rerun);
  } else {
    std::printf("started %s/%s #%s, a rerun of #%s (build id %s)\n", pj->first.c_str(),
                pj->second.c_str(), Field(*rerun, "name").c_str(), flags.build.c_str(),
                Field(*rerun, "id").c_str());
  }
  std::fflush(stdout);
  if (!flags.watch) return kExitOk;
  DetachOnInterrupt();
  BuildWatcher watcher(*client, WantsColor(stdout), WantsColor(stderr));
  auto outcome = watcher.Watch(rerun->value("id", int64_t{0}));
  if (!outcome.ok()) return ReportError(outcome.status());
  return ExitCodeForBuildStatus(outcome->status);
}

void RegisterRerun(CLI::App& root, int& exit_code) {
  auto flags = std::make_shared<RerunFlags>();
  auto* cmd = root.add_subcommand("rerun-build", "Run a build again with the same input versions");
  cmd->alias("rb");
  flags->client.AddTo(cmd, true);
  cmd->add_option("-j,--job", flags->job_path, "PIPELINE/JOB")->required();
  cmd->add_option("-b,--build", flags->build, "The build's name (e.g. 3)")->required();
  cmd->add_flag("-w,--watch", flags->watch, "Stream the rerun until it ends");
  cmd->callback([flags, &exit_code] { exit_code = RerunBuild(*flags); });
}

BATON_COMMAND(RegisterRerun, "rerun-build", "rb");

}  // namespace
}  // namespace baton::cli
