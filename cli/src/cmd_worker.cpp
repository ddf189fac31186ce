// `baton worker`: a worker on this machine that connects out to a web node, registers,
// heartbeats (workers::WebConnection) and runs the steps it is given (workers::WebStepRunner;
// docs/workers.md). `baton worker-key`: makes a key.
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "baton/common/logging.h"
#include "baton/webapi/auth.h"
#include "baton/webapi/worker_keys.h"
#include "baton/workers/web_connection.h"
#include "baton/workers/web_step_runner.h"
#include "command.h"
#include "local_env.h"

namespace baton::cli {
namespace {

namespace fs = std::filesystem;

struct WorkerFlags {
  std::string web_url;
  std::string name;
  std::string work_dir;
  std::vector<std::string> tags;
  std::string team;
  int capacity = 0;
  std::string key_file;
  std::string ca_cert;
  bool insecure = false;
  LocalFlags local;  // data_dir is --work-dir's
};

std::string HostName() {
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return host;
}

void Say(const std::string& text) {
  std::time_t now = std::time(nullptr);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", std::localtime(&now));
  std::printf("%s %s\n", stamp, text.c_str());
  std::fflush(stdout);
}

workers::WebConnectionOptions ConnectionOptions(const WorkerFlags& flags, std::string key,
                                                const workers::LocalWorker& worker) {
  workers::WebConnectionOptions options;
  options.web_url = flags.web_url;
  while (!options.web_url.empty() && options.web_url.back() == '/') options.web_url.pop_back();
  options.key = std::move(key);
  options.name = flags.name.empty() ? HostName() : flags.name;
  options.tags = flags.tags;
  options.team = flags.team;
  options.capacity =
      flags.capacity > 0 ? flags.capacity : static_cast<int>(std::thread::hardware_concurrency());
  options.version = BATON_VERSION;
  options.hostname = HostName();
  options.isolation = workers::ToString(worker.isolation());
  options.ca_file = flags.ca_cert;
  options.insecure_skip_verify = flags.insecure;
  options.on_event = Say;
  return options;
}

// SIGINT, SIGTERM and SIGUSR1 (Run ended by itself), blocked in the calling thread and so in
// every thread it starts afterwards: only RunUntilSignalled's sigwait takes them.
sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int sig : {SIGINT, SIGTERM, SIGUSR1}) sigaddset(&set, sig);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

// Runs the connection and the steps it is given until SIGINT/SIGTERM (a clean stop: running
// steps are cancelled, the worker deregisters) or a refusal the connection cannot retry past.
Status RunUntilSignalled(workers::WebConnection& link, workers::WebStepRunner& steps) {
  sigset_t stop_signals = StopSignals();
  Status result;
  pthread_t main_thread = pthread_self();
  std::thread poller([&] { steps.Run(); });
  std::thread runner([&] {
    result = link.Run();
    pthread_kill(main_thread, SIGUSR1);  // wakes the sigwait: Run ended on its own
  });
  int sig = 0;
  sigwait(&stop_signals, &sig);
  if (sig != SIGUSR1) Say("stopping (deregistering from the web node)");
  // Deregistering ends the session, which answers the poller's waiting long poll.
  steps.Stop();
  link.Stop();
  runner.join();
  poller.join();
  return result;
}

workers::WebStepRunnerOptions StepRunnerOptions(const workers::WebConnectionOptions& link,
                                                const std::string& work_dir,
                                                workers::Worker& worker) {
  workers::WebStepRunnerOptions options;
  options.web_url = link.web_url;
  options.key = link.key;
  options.work_dir = work_dir;
  options.ca_file = link.ca_file;
  options.insecure_skip_verify = link.insecure_skip_verify;
  options.worker = &worker;
  options.on_event = Say;
  return options;
}

int RunWorker(const WorkerFlags& flags) {
  SetLogLevel(flags.local.log_level);
  StopSignals();  // before the local worker starts threads
  auto key = webapi::ReadWorkerKeyFile(flags.key_file);
  if (!key.ok()) {
    std::fprintf(stderr, "error: %s\n", key.status().ToString().c_str());
    return kExitErrored;
  }
  LocalFlags local = flags.local;
  local.data_dir = flags.work_dir;
  std::string work_dir = local.ResolvedDataDir();
  Status prepared = PrepareDataDir(work_dir);
  auto env = prepared.ok() ? StartLocalWorker(work_dir, local) : Result<LocalWorkerEnv>(prepared);
  if (!env.ok()) {
    std::fprintf(stderr, "error: %s\n", env.status().ToString().c_str());
    return kExitErrored;
  }
  workers::WebConnectionOptions link_options =
      ConnectionOptions(flags, std::move(*key), *env->worker);
  workers::WebStepRunner steps(StepRunnerOptions(link_options, work_dir, *env->worker));
  link_options.on_session = [&steps](const std::string& session) { steps.SetSession(session); };
  link_options.active_containers = [&steps] { return steps.active_steps(); };
  link_options.active_tasks = [&steps] { return steps.active_steps(); };
  link_options.held_steps = [&steps] { return steps.Steps(); };
  workers::WebConnection link(std::move(link_options));
  Say("worker " + (flags.name.empty() ? HostName() : flags.name) + " connecting to " +
      flags.web_url + " (work dir " + work_dir + ", isolation " +
      workers::ToString(env->worker->isolation()) + ")");
  if (Status s = RunUntilSignalled(link, steps); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
    return kExitErrored;
  }
  return kExitOk;
}

// Writes a fresh key to `path` (mode 0600), never over an existing file.
int MakeKey(const std::string& path) {
  if (fs::exists(path)) {
    std::fprintf(stderr, "error: %s exists; pick another -o FILE or remove it first\n",
                 path.c_str());
    return kExitErrored;
  }
  auto key = webapi::GenerateToken();
  if (!key.ok()) {
    std::fprintf(stderr, "error: %s\n", key.status().ToString().c_str());
    return kExitErrored;
  }
  {
    std::ofstream out(path);
    out << *key << "\n";
    if (!out) {
      std::fprintf(stderr, "error: cannot write %s\n", path.c_str());
      return kExitErrored;
    }
  }
  ::chmod(path.c_str(), 0600);
  std::printf(
      "wrote a worker key to %s\n"
      "  worker:   baton worker --key %s ...\n"
      "  web node: add the key to a file given with --worker-key (one key per line)\n",
      path.c_str(), path.c_str());
  return kExitOk;
}

void AddWorkerCommand(CLI::App& root, int& exit_code) {
  auto flags = std::make_shared<WorkerFlags>();
  auto* cmd = root.add_subcommand(
      "worker", "Run steps for a web node: connect out to it, register and heartbeat");
  cmd->add_option("--web", flags->web_url, "The web node's URL (http:// or https://)")->required();
  cmd->add_option("--name", flags->name, "This worker's name (default: the host name)");
  cmd->add_option("--work-dir", flags->work_dir, "Where this worker keeps its volumes and caches")
      ->required();
  cmd->add_option("--tag", flags->tags,
                  "Tag this worker: it takes only steps whose tags: it has all of (repeatable)");
  cmd->add_option("--team", flags->team, "Take only this team's steps (default: any team)");
  cmd->add_option("--capacity", flags->capacity,
                  "Steps to run at once (default: the number of cores)");
  cmd->add_option("--key", flags->key_file,
                  "File holding this worker's key (make one with `baton worker-key -o FILE`)")
      ->required();
  cmd->add_option("--ca-cert", flags->ca_cert, "https: trust this PEM bundle for the web node");
  cmd->add_flag("--insecure", flags->insecure, "https: accept any certificate (unsafe)");
  flags->local.AddImageCacheFlags(cmd);
  cmd->add_flag("--unsafe-no-sandbox", flags->local.unsafe_no_sandbox,
                "Run steps without namespaces when no sandbox can be built (unsafe)");
  cmd->add_option("--task-id-range", flags->local.task_id_range,
                  "Host user/group ids that unprivileged tasks' ids 0.. map to, as FIRST:COUNT");
  cmd->add_option("--mask-path", flags->local.mask_paths,
                  "A host path tasks must not see (repeatable)");
  cmd->add_option("--log-level", flags->local.log_level, "trace, debug, info, warn, error or off");
  cmd->callback([flags, &exit_code] { exit_code = RunWorker(*flags); });

  auto out = std::make_shared<std::string>();
  auto* key_cmd = root.add_subcommand("worker-key", "Make a new worker key");
  key_cmd->add_option("-o,--out", *out, "File to write the key to (mode 0600)")->required();
  key_cmd->callback([out, &exit_code] { exit_code = MakeKey(*out); });
}

BATON_COMMAND(AddWorkerCommand, "worker", "worker-key");

}  // namespace
}  // namespace baton::cli
