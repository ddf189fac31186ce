// Job and build commands: `jobs`, `builds`, `trigger-job [-w]`, `pause-job`, `unpause-job`,
// `watch`, `abort-build`.
#include "client/build_watcher.h"
#include "client/client_command.h"
#include "client/table.h"
#include "command.h"

namespace baton::cli {
namespace {

struct JobFlags {
  ClientFlags client;
  std::string pipeline;
  std::string job_path;  // P/J
  std::string build;     // -b: build name with -j, build id without
  int count = 50;
  bool watch = false;
};

Cell StatusCell(const std::string& status) { return Cell(status, StatusColor(status)); }

int ListJobs(const JobFlags& flags) {
  auto client = Connect(flags.client);
  if (!client.ok()) return ReportError(client.status());
  auto jobs = client->Get(client->PipelinePath(flags.pipeline, "/jobs"));
  if (!jobs.ok()) return ReportError(jobs.status());
  if (flags.client.json) {
    PrintJson(*jobs);
    return kExitOk;
  }
  Table table({"name", "paused", "status", "next"});
  for (const auto& j : *jobs) {
    bool paused = j.value("paused", false);
    std::string status = j.contains("finished_build") && j["finished_build"].is_object()
                             ? Field(j["finished_build"], "status")
                             : "n/a";
    table.AddRow({Field(j, "name"),
                  Cell(paused ? "yes" : "no", paused ? StatusColor("paused") : ""),
                  StatusCell(status), Field(j, "next_build_number")});
  }
  table.Print(stdout, WantsColor(stdout));
  return kExitOk;
}

int ListBuilds(const JobFlags& flags) {
  auto client = Connect(flags.client);
  if (!client.ok()) return ReportError(client.status());
  std::string path = "/builds";
  if (!flags.job_path.empty()) {
    auto pj = SplitPipelinePath(flags.job_path, "-j", "JOB");
    if (!pj.ok()) return ReportError(pj.status(), true);
    path = client->PipelinePath(pj->first, "/jobs/" + net::PercentEncode(pj->second) + "/builds");
  }
  auto builds = client->Get(path + "?limit=" + std::to_string(flags.count));
  if (!builds.ok()) return ReportError(builds.status());
  if (flags.client.json) {
    PrintJson(*builds);
    return kExitOk;
  }
  Table table({"id", "pipeline/job", "build", "status", "start", "end"});
  for (const auto& b : *builds) {
    std::string where = Field(b, "job_name").empty()
                            ? "one-off"
                            : Field(b, "pipeline_name") + "/" + Field(b, "job_name");
    std::string start = Field(b, "start_time"), end = Field(b, "end_time");
    table.AddRow({Field(b, "id"), where, Field(b, "name"), StatusCell(Field(b, "status")),
                  start.empty() ? "n/a" : start, end.empty() ? "n/a" : end});
  }
  table.Print(stdout, WantsColor(stdout));
  return kExitOk;
}

int WatchBuild(ApiClient& client, int64_t id) {
  DetachOnInterrupt();
  BuildWatcher watcher(client, WantsColor(stdout), WantsColor(stderr));
  auto outcome = watcher.Watch(id);
  if (!outcome.ok()) return ReportError(outcome.status());
  return ExitCodeForBuildStatus(outcome->status);
}

int TriggerJob(const JobFlags& flags) {
  auto pj = SplitPipelinePath(flags.job_path, "-j", "JOB");
  if (!pj.ok()) return ReportError(pj.status(), true);
  auto client = Connect(flags.client);
  if (!client.ok()) return ReportError(client.status());
  auto build = client->Post(
      client->PipelinePath(pj->first, "/jobs/" + net::PercentEncode(pj->second) + "/builds"));
  if (!build.ok()) return ReportError(build.status());
  std::printf("started %s/%s #%s (build id %s)\n", pj->first.c_str(), pj->second.c_str(),
              Field(*build, "name").c_str(), Field(*build, "id").c_str());
  std::fflush(stdout);
  if (!flags.watch) return kExitOk;
  return WatchBuild(*client, build->value("id", int64_t{0}));
}

// The build -j/-b name: by job (latest, or -b NAME), or by id (-b ID).
Result<int64_t> FindBuild(ApiClient& client, const JobFlags& flags) {
  if (flags.job_path.empty()) {
    char* end = nullptr;
    long long id = std::strtoll(flags.build.c_str(), &end, 10);
    if (flags.build.empty() || *end != '\0' || id <= 0) {
      return InvalidArgument("watch needs -j PIPELINE/JOB [-b NAME] or -b BUILD_ID");
    }
    return static_cast<int64_t>(id);
  }
  BATON_ASSIGN_OR_RETURN(auto pj, SplitPipelinePath(flags.job_path, "-j", "JOB"));
  std::string base =
      client.PipelinePath(pj.first, "/jobs/" + net::PercentEncode(pj.second) + "/builds");
  if (!flags.build.empty()) {
    BATON_ASSIGN_OR_RETURN(Json b, client.Get(base + "/" + net::PercentEncode(flags.build)));
    return b.value("id", int64_t{0});
  }
  BATON_ASSIGN_OR_RETURN(Json list, client.Get(base + "?limit=1"));
  if (!list.is_array() || list.empty()) {
    return NotFound("job " + flags.job_path + " has no builds yet");
  }
  return list[0].value("id", int64_t{0});
}

int Watch(const JobFlags& flags) {
  auto client = Connect(flags.client);
  if (!client.ok()) return ReportError(client.status());
  auto id = FindBuild(*client, flags);
  if (!id.ok()) return ReportError(id.status(), id.status().code() == StatusCode::kInvalidArgument);
  return WatchBuild(*client, *id);
}

int AbortBuild(const JobFlags& flags) {
  auto client = Connect(flags.client);
  if (!client.ok()) return ReportError(client.status());
  auto id = FindBuild(*client, flags);
  if (!id.ok()) return ReportError(id.status(), id.status().code() == StatusCode::kInvalidArgument);
  auto done = client->Put("/builds/" + std::to_string(*id) + "/abort");
  if (!done.ok()) return ReportError(done.status());
  std::printf("build %lld aborted\n", static_cast<long long>(*id));
  return kExitOk;
}

int JobAction(const JobFlags& flags, const std::string& action, const std::string& message) {
  auto pj = SplitPipelinePath(flags.job_path, "-j", "JOB");
  if (!pj.ok()) return ReportError(pj.status(), true);
  auto client = Connect(flags.client);
  if (!client.ok()) return ReportError(client.status());
  auto done = client->Put(
      client->PipelinePath(pj->first, "/jobs/" + net::PercentEncode(pj->second) + "/" + action));
  if (!done.ok()) return ReportError(done.status());
  std::printf("%s `%s`\n", message.c_str(), flags.job_path.c_str());
  return kExitOk;
}

void RegisterLists(CLI::App& root, int& exit_code) {
  auto jobs = std::make_shared<JobFlags>();
  auto* jobs_cmd = root.add_subcommand("jobs", "List a pipeline's jobs and their latest status");
  jobs->client.AddTo(jobs_cmd, true);
  jobs_cmd->add_option("-p,--pipeline", jobs->pipeline, "Pipeline name")->required();
  jobs_cmd->callback([jobs, &exit_code] { exit_code = ListJobs(*jobs); });

  auto builds = std::make_shared<JobFlags>();
  auto* builds_cmd = root.add_subcommand("builds", "List builds, newest first");
  builds->client.AddTo(builds_cmd, true);
  builds_cmd->add_option("-j,--job", builds->job_path, "Only this job: PIPELINE/JOB");
  builds_cmd->add_option("-c,--count", builds->count, "How many (default 50)")
      ->check(CLI::Range(1, 500));
  builds_cmd->callback([builds, &exit_code] { exit_code = ListBuilds(*builds); });
}

void RegisterBuildCommands(CLI::App& root, int& exit_code) {
  auto trigger = std::make_shared<JobFlags>();
  auto* trigger_cmd = root.add_subcommand("trigger-job", "Start a new build of a job");
  trigger_cmd->alias("tj");
  trigger->client.AddTo(trigger_cmd);
  trigger_cmd->add_option("-j,--job", trigger->job_path, "PIPELINE/JOB")->required();
  trigger_cmd->add_flag("-w,--watch", trigger->watch, "Stream the build until it ends");
  trigger_cmd->callback([trigger, &exit_code] { exit_code = TriggerJob(*trigger); });

  for (bool watch : {true, false}) {
    auto flags = std::make_shared<JobFlags>();
    auto* cmd = root.add_subcommand(
        watch ? "watch" : "abort-build",
        watch ? "Stream a build's log live (Ctrl-C detaches)" : "Abort a running build");
    flags->client.AddTo(cmd);
    cmd->add_option("-j,--job", flags->job_path, "PIPELINE/JOB (latest build unless -b)");
    cmd->add_option("-b,--build", flags->build, "Build name with -j, else the build id");
    cmd->callback(
        [flags, watch, &exit_code] { exit_code = watch ? Watch(*flags) : AbortBuild(*flags); });
  }
  for (bool pause : {true, false}) {
    auto flags = std::make_shared<JobFlags>();
    auto* cmd = root.add_subcommand(
        pause ? "pause-job" : "unpause-job",
        pause ? "Stop scheduling new builds of a job" : "Resume scheduling builds of a job");
    flags->client.AddTo(cmd);
    cmd->add_option("-j,--job", flags->job_path, "PIPELINE/JOB")->required();
    cmd->callback([flags, pause, &exit_code] {
      exit_code = JobAction(*flags, pause ? "pause" : "unpause", pause ? "paused" : "unpaused");
    });
  }
}

void RegisterJobCommands(CLI::App& root, int& exit_code) {
  RegisterLists(root, exit_code);
  RegisterBuildCommands(root, exit_code);
}

BATON_COMMAND(RegisterJobCommands, "jobs", "builds", "trigger-job", "tj", "watch", "abort-build",
              "pause-job", "unpause-job");

}  // namespace
}  // namespace baton::cli
