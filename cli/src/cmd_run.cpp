// `baton run`: run a whole pipeline locally with the server's engine, scheduler and store.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>

#include <malloc.h>

#include <cstring>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <variant>

#include "baton/common/duration.h"
#include "baton/common/logging.h"
#include "baton/pipelines/loader.h"
#include "baton/pipelines/pipeline_config.h"
#include "baton/runner/pipeline_update.h"
#include "baton/runner/scheduler.h"
#include "baton/runner/sqlite_store.h"
#include "command.h"
#include "console_observer.h"
#include "local_env.h"
#include "var_flags.h"

namespace baton::cli {
namespace {

namespace asio = boost::asio;

struct RunFlags {
  std::string config;
  std::string pipeline_name;
  std::vector<std::string> jobs;
  int parallel = 2;
  VarFlags vars;
  LocalFlags local;
};

Result<pipelines::PipelineConfig> LoadForRun(const RunFlags& flags, const std::string& yaml,
                                             pipelines::Vars& vars) {
  BATON_RETURN_IF_ERROR(flags.vars.Collect(vars));
  pipelines::LoadOptions options;
  options.file_name = flags.config;
  options.vars = &vars;
  auto load = pipelines::LoadPipeline(yaml, options);
  if (!load.diagnostics.items().empty()) {
    std::fputs(
        pipelines::RenderAll(load.diagnostics, yaml, DetectConsoleStyle(stderr).color).c_str(),
        stderr);
  }
  if (!load.ok()) return InvalidArgument("the pipeline is invalid; fix the errors above");
  for (const auto& job : flags.jobs) {
    if (!load.config->FindJob(job)) {
      return NotFound("the pipeline has no job `" + job + "`");
    }
  }
  return std::move(*load.config);
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

int PrintSummary(const std::vector<runner::JobOutcome>& outcomes, bool color) {
  size_t width = 3;
  for (const auto& o : outcomes) width = std::max(width, o.job.size());
  std::printf("\n%s  %-9s  %s\n", Pad("JOB", width).c_str(), "STATUS", "DURATION");
  int exit_code = kExitOk;
  for (const auto& o : outcomes) {
    std::string status, duration = "-";
    if (o.build) {
      status = ColoredStatus(o.build->status, color);
      if (color)
        status += std::string(
            9 - std::min<size_t>(9, std::strlen(runner::ToString(o.build->status))), ' ');
      if (o.build->started_at && o.build->finished_at) {
        duration = HumanDuration(*o.build->finished_at - *o.build->started_at);
      }
      if (o.build->status != runner::BuildStatus::kSucceeded) exit_code = kExitFailed;
    } else {
      status = "skipped  ";
      duration = o.skipped_reason;
      exit_code = kExitFailed;
    }
    if (!color) status = Pad(status, 9);
    std::printf("%s  %s  %s\n", Pad(o.job, width).c_str(), status.c_str(), duration.c_str());
  }
  return exit_code;
}

// The builds a `baton run` killed mid-way (kill -9, a crash, a reboot) left unfinished: the next
// run on the data dir errors them (when no other process has it open), so none stays `started`.
constexpr const char* kOrphanMessage =
    "the `baton run` running this build stopped before it finished (killed or crashed); "
    "run the pipeline again";

void ReportOrphans(const std::vector<runner::Build>& orphans) {
  for (const auto& b : orphans) {
    std::fprintf(stderr,
                 "note: %s/%s #%s was left unfinished by a `baton run` that stopped; it is now "
                 "errored\n",
                 b.pipeline.c_str(), b.job.c_str(), b.name.c_str());
  }
}

// Whether a task of `config` may need a network, as Concourse's tasks have by default: a task
// step that is not hermetic, or one whose config comes from a file (read only when it runs) and
// that does not say hermetic itself; or a resource type of the pipeline's own, whose check, get
// and put run in the sandbox with a network. Only then does the worker make the first network
// (a namespace and a slirp4netns, ~3 ms of CPU) while it starts; a task needing one later gets it
// then.
bool MayUseNetworks(const pipelines::PipelineConfig& config) {
  if (!config.resource_types.empty()) return true;
  bool network = false;
  for (const auto& job : config.jobs) {
    pipelines::ForEachStep(job, [&](const pipelines::Step& step) {
      // The step's hermetic over its config's, as the engine has it (task_node.cpp).
      if (const auto* task = std::get_if<pipelines::TaskStep>(&step.body)) {
        network |= !task->hermetic.value_or(task->config && task->config->hermetic);
      }
    });
    if (network) return true;
  }
  return false;
}

// Whether the pipeline's text may make a task hermetic: only then can MayUseNetworks be false
// with tasks to run (a var may hold a whole task config, so the answer may still be true).
bool MayNameHermetic(const std::string& yaml) { return yaml.find("hermetic") != std::string::npos; }

int RunPipeline(const RunFlags& flags) {
  SetLogLevel(flags.local.log_level);
  // One short-lived process: freed heap up to 4 MiB stays for the next allocation instead of going
  // back to the system at each free, as glibc's 128 KiB default does; a long log's 64 KiB runs,
  // each freed by the store's writer after its commit, were faulted in again one by one
  // (docs/benchmarks.md, branch `bytes`). No-op under AddressSanitizer's allocator.
  mallopt(M_TRIM_THRESHOLD, 4 << 20);
  auto yaml = ReadInputFile(flags.config);
  if (!yaml.ok()) {
    std::fprintf(stderr, "error: %s\n", yaml.status().ToString().c_str());
    return kExitErrored;
  }
  std::string data_dir = flags.local.ResolvedDataDir();
  if (Status s = PrepareDataDir(data_dir); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
    return kExitErrored;
  }
  // The worker starts, and the store opens, while the pipeline is parsed and checked (~1 ms):
  // the worker's sandbox, its probe and the first network take longest, and the first task waits
  // for them (docs/benchmarks.md). One pipeline: its later tasks mostly take the network an
  // earlier one left (the sandbox's shelf), so none is kept made ahead after the first; one was
  // mostly a slirp4netns started and stopped for no task (~3 ms of a one-job run's CPU), and
  // none is made when every task is hermetic, which only a pipeline saying `hermetic` can be:
  // that one's worker starts once the parsed pipeline has told. The artifact store's five
  // directories are made only if the pipeline uses it.
  LocalWorkerStart start;
  start.await_sandbox = false;
  start.networks_ahead = 0;
  start.artifacts_on_first_use = true;
  start.max_tasks = flags.parallel;
  auto start_worker = [&] {
    return std::async(std::launch::async,
                      [&] { return StartLocalWorker(data_dir, flags.local, start); });
  };
  std::future<Result<LocalWorkerEnv>> starting;
  if (!MayNameHermetic(*yaml)) starting = start_worker();
  runner::SqliteStoreOptions store_options;
  store_options.orphan_message = kOrphanMessage;
  store_options.reads_on_idle_writer = true;  // its few reads need no reader of their own
  auto opening = std::async(std::launch::async, [&] {
    return runner::SqliteStore::OpenDataDir(data_dir, RealClock(), store_options);
  });
  pipelines::Vars vars;
  auto config = LoadForRun(flags, *yaml, vars);
  if (!config.ok()) {
    std::fprintf(stderr, "error: %s\n", config.status().ToString().c_str());
    return kExitFailed;
  }
  if (!starting.valid()) {
    start.prepare_networks = MayUseNetworks(*config);
    starting = start_worker();
  }
  auto store = opening.get();
  if (!store.ok()) {
    std::fprintf(stderr, "error: cannot open the store in %s: %s\n", data_dir.c_str(),
                 store.status().ToString().c_str());
    return kExitErrored;
  }
  ReportOrphans((*store)->settled_orphans());
  std::string name = flags.pipeline_name.empty()
                         ? std::filesystem::path(flags.config).stem().string()
                         : flags.pipeline_name;
  auto update = runner::MakePipelineUpdate("main", name, *yaml, vars, *config);
  update.paused_when_created = false;
  auto pipeline = (*store)->SetPipeline(update);
  if (!pipeline.ok()) {
    std::fprintf(stderr, "error: %s\n", pipeline.status().ToString().c_str());
    return kExitErrored;
  }
  // The scheduler takes the pipeline (the store's reads, the plan) while the worker starts; its
  // first step waits for the worker (StartingWorker).
  std::optional<StartingWorker> worker;  // stopped at the end, beside the store's close
  worker.emplace(std::move(starting));
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::mutex out_mu;
  ConsoleStyle style = DetectConsoleStyle(stdout);
  std::map<runner::Id, std::unique_ptr<ConsoleObserver>> consoles;
  runner::SchedulerOptions options;
  options.data_dir = data_dir;
  options.periodic_checks = false;
  options.cache_dir = [&](const std::string& key, const std::string& path) {
    auto started = worker->Env();
    return started.ok() ? (*started)->worker->CacheDir(key, path) : std::string();
  };
  options.observe_build = [&](const runner::Build& build) -> runner::BuildObserver* {
    auto& c = consoles[build.id];
    c = std::make_unique<ConsoleObserver>(build.job + " #" + build.name, style, out_mu);
    return c.get();
  };
  std::optional<runner::Scheduler> scheduler;
  scheduler.emplace(io, runner::SchedulerStores{**store, **store, **store}, *worker, options);
  if (Status s = scheduler->ActivatePipeline(*pipeline, std::move(*config)); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
    return kExitErrored;
  }
  std::vector<runner::JobOutcome> outcomes;
  bool aborted = false;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  std::function<void(const boost::system::error_code&, int)> on_signal =
      [&](const boost::system::error_code& ec, int) {
        if (ec) return;
        if (aborted) std::_Exit(kExitAborted);  // second Ctrl-C: leave now
        aborted = true;
        std::fputs("\naborting (Ctrl-C again to quit at once)...\n", stderr);
        scheduler->AbortAll();
        signals.async_wait(on_signal);
      };
  signals.async_wait(on_signal);
  auto env = worker->Env();
  if (!env.ok()) {
    std::fprintf(stderr, "error: %s\n", env.status().ToString().c_str());
    return kExitErrored;
  }
  // A refusal known already (not root, no sandbox to build) stops the run before anything runs.
  // The run does not wait for the sandbox's probe (~1-2 ms): the check, the first build and its
  // gets go on meanwhile and its first task waits for it; a refusal then ends the run (below).
  if (const std::string* why = (*env)->worker->known_refusal(); why && !why->empty()) {
    std::fprintf(stderr, "error: %s\n", why->c_str());
    return kExitErrored;
  }
  worker->OnRefusal([&] { asio::post(io, [&] { scheduler->AbortAll(); }); });
  // --parallel tasks at once (the worker's slots), twice as many builds under way: the next ones
  // create their builds and fetch their inputs while tasks run, as make works out what comes
  // next while -j recipes run. --parallel 1 stays one build at a time.
  const int builds_at_once = flags.parallel == 1 ? 1 : 2 * flags.parallel;
  scheduler->RunOnce(pipeline->id, flags.jobs, builds_at_once,
                     [&](std::vector<runner::JobOutcome> result) {
                       // Every build is done: the stacks made ahead stop while the run ends.
                       (*env)->worker->StopNetworks();
                       outcomes = std::move(result);
                       signals.cancel();
                       guard.reset();
                     });
  io.run();
  int code = PrintSummary(outcomes, style.color);
  if (Status s = WorkerRefusal(**env); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
    return kExitErrored;
  }
  std::printf("history: %s/baton.db (pipeline `%s`)\n", data_dir.c_str(), name.c_str());
  std::fflush(stdout);
  // The run is over: the store makes its last commit and closes while the worker stops (its
  // networks, its shared root, its groups). Both wait on the kernel; each on a CPU of its own.
  scheduler.reset();
  std::thread closing([&store] { store->reset(); });
  worker.reset();
  closing.join();
  return aborted ? kExitAborted : code;
}

void RegisterRun(CLI::App& root, int& exit_code) {
  auto flags = std::make_shared<RunFlags>();
  auto* cmd = root.add_subcommand("run",
                                  "Run a pipeline locally: check, then every job in "
                                  "DAG order, with live logs and a summary");
  cmd->add_option("-c,--config", flags->config, "Pipeline file")->required();
  cmd->add_option("-j,--job", flags->jobs, "Run only this job (repeatable)");
  cmd->add_option("-p,--pipeline", flags->pipeline_name,
                  "Pipeline name in the history (default: the file name)");
  cmd->add_option("--parallel", flags->parallel,
                  "Tasks at once (default 2); up to twice as many builds fetch their inputs "
                  "meanwhile (1: one build at a time)")
      ->check(CLI::Range(1, 256));
  flags->vars.AddTo(cmd);
  flags->local.AddTo(cmd);
  cmd->callback([flags, &exit_code] { exit_code = RunPipeline(*flags); });
}

BATON_COMMAND(RegisterRun, "run");

}  // namespace
}  // namespace baton::cli
