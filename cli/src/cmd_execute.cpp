// `baton execute`: run one task like `fly execute`, sandboxed on the local worker.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <filesystem>
#include <mutex>

#include "baton/common/logging.h"
#include "baton/pipelines/loader.h"
#include "baton/runner/build_executor.h"
#include "command.h"
#include "console_observer.h"
#include "local_env.h"
#include "var_flags.h"

namespace baton::cli {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

struct ExecuteFlags {
  std::string config;
  std::vector<std::string> inputs;   // name=dir
  std::vector<std::string> outputs;  // name=dir
  bool privileged = false;
  VarFlags vars;
  LocalFlags local;
};

Result<std::map<std::string, std::string>> ParsePairs(const std::vector<std::string>& pairs,
                                                      const char* flag) {
  std::map<std::string, std::string> out;
  for (const auto& p : pairs) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == p.size()) {
      return InvalidArgument(std::string(flag) + " takes NAME=DIR, got \"" + p + "\"");
    }
    std::error_code ec;
    fs::path dir = fs::absolute(p.substr(eq + 1), ec);
    out[p.substr(0, eq)] = dir.lexically_normal().string();
  }
  return out;
}

// Every required input must be given; a task with one input takes the current directory.
Status CheckInputs(const pipelines::TaskConfig& task, std::map<std::string, std::string>& in) {
  if (in.empty() && task.inputs.size() == 1) {
    in[task.inputs[0].name] = fs::current_path().string();
  }
  std::vector<std::string> missing;
  for (const auto& input : task.inputs) {
    auto it = in.find(input.name);
    if (it == in.end()) {
      if (!input.optional) missing.push_back(input.name);
      continue;
    }
    if (!fs::is_directory(it->second)) {
      return NotFound("input `" + input.name + "`: " + it->second + " is not a directory");
    }
  }
  for (const auto& [name, dir] : in) {
    bool known = false;
    for (const auto& input : task.inputs) known = known || input.name == name;
    if (!known) return InvalidArgument("the task has no input named `" + name + "`");
  }
  if (missing.empty()) return Status::Ok();
  std::string list;
  for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
  return InvalidArgument("missing required inputs: " + list + " (give each with -i NAME=DIR)");
}

// fly execute uploads a copy of each input, so nothing the task does reaches the user's files:
// each input is copied into the build directory and the task gets the copy.
Result<std::map<std::string, std::string>> CopyInputs(
    const std::map<std::string, std::string>& inputs, const fs::path& build_root) {
  std::map<std::string, std::string> copies;
  for (const auto& [name, dir] : inputs) {
    fs::path copy = build_root / "inputs" / name;
    std::error_code ec;
    fs::create_directories(copy, ec);
    if (!ec) fs::copy(dir, copy, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
    if (ec) return IoError("cannot copy input `" + name + "` from " + dir + ": " + ec.message());
    copies[name] = copy.string();
  }
  return copies;
}

Status CopyOutputs(const runner::BuildExecutor& executor,
                   const std::map<std::string, std::string>& outputs) {
  for (const auto& [name, dir] : outputs) {
    auto path = executor.ArtifactPath(name);
    if (!path) return NotFound("the task produced no output named `" + name + "`");
    std::error_code ec;
    fs::create_directories(dir, ec);
    fs::copy(*path, dir,
             fs::copy_options::recursive | fs::copy_options::overwrite_existing |
                 fs::copy_options::copy_symlinks,
             ec);
    if (ec) return IoError("cannot copy output `" + name + "` to " + dir + ": " + ec.message());
  }
  return Status::Ok();
}

int ExitCodeFor(runner::BuildStatus status) {
  switch (status) {
    case runner::BuildStatus::kSucceeded:
      return kExitOk;
    case runner::BuildStatus::kFailed:
      return kExitFailed;
    case runner::BuildStatus::kAborted:
      return kExitAborted;
    default:
      return kExitErrored;
  }
}

Result<pipelines::TaskConfig> LoadTask(const ExecuteFlags& flags) {
  BATON_ASSIGN_OR_RETURN(std::string yaml, ReadInputFile(flags.config));
  pipelines::Vars vars;
  BATON_RETURN_IF_ERROR(flags.vars.Collect(vars));
  pipelines::LoadOptions options;
  options.file_name = flags.config;
  options.vars = &vars;
  auto load = pipelines::LoadTaskConfig(yaml, options);
  if (!load.diagnostics.items().empty()) {
    std::fputs(
        pipelines::RenderAll(load.diagnostics, yaml, DetectConsoleStyle(stderr).color).c_str(),
        stderr);
  }
  if (!load.ok()) return InvalidArgument("the task config is invalid; fix the errors above");
  return std::move(*load.config);
}

int Execute(const ExecuteFlags& flags) {
  SetLogLevel(flags.local.log_level);
  auto task = LoadTask(flags);
  auto inputs = ParsePairs(flags.inputs, "-i");
  auto outputs = ParsePairs(flags.outputs, "-o");
  Status ok = !task.ok() ? task.status() : !inputs.ok() ? inputs.status() : outputs.status();
  if (ok.ok()) ok = CheckInputs(*task, *inputs);
  if (!ok.ok()) {
    std::fprintf(stderr, "error: %s\n", ok.ToString().c_str());
    return kExitErrored;
  }
  std::string data_dir = flags.local.ResolvedDataDir();
  Status prepared = PrepareDataDir(data_dir);
  // One task: the network made ahead is its own, and none after it (a stack started and
  // stopped for no task); a task alone has no `artifact` resource, so the artifact store's
  // directories are made only if its image's get uses it (as `baton run`'s).
  LocalWorkerStart start;
  start.networks_ahead = 0;
  start.artifacts_on_first_use = true;
  auto env = prepared.ok() ? StartLocalWorker(data_dir, flags.local, start)
                           : Result<LocalWorkerEnv>(prepared);
  if (!env.ok()) {
    std::fprintf(stderr, "error: %s\n", env.status().ToString().c_str());
    return kExitErrored;
  }
  char build_root[] = "/tmp/baton-execute-XXXXXX";
  if (!mkdtemp(build_root)) {
    std::perror("mkdtemp");
    return kExitErrored;
  }
  auto copies = CopyInputs(*inputs, build_root);
  if (!copies.ok()) {
    std::fprintf(stderr, "error: %s\n", copies.status().ToString().c_str());
    std::error_code ec;
    fs::remove_all(build_root, ec);
    return kExitErrored;
  }
  std::string name = fs::path(flags.config).stem().string();
  runner::BuildPlan plan = runner::BuildPlan::ForTask(name, std::move(*task), *copies);
  if (flags.privileged) std::get<pipelines::TaskStep>(plan.steps[0].body).privileged = true;

  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::mutex out_mu;
  ConsoleStyle style = DetectConsoleStyle(stdout);
  style.prefix = false;
  ConsoleObserver console("", style, out_mu);
  runner::BuildExecutorOptions options;
  options.build_root = build_root;
  options.metadata = {"0", "one-off", "", "", "main", ""};
  options.on_finished = [&](runner::BuildStatus) { guard.reset(); };
  runner::BuildExecutor executor(io, *env->worker, console, std::move(plan), options);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  bool aborted = false;
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    aborted = true;
    std::fputs("\naborting...\n", stderr);
    executor.Abort();
  });
  executor.Start();
  io.run_one();
  while (!executor.finished() && io.run_one() > 0) {
  }
  signals.cancel();
  int code = ExitCodeFor(executor.status());
  // As fly execute does, -o fetches the outputs of a task that failed too: the reports of a
  // failed check are what one wants to read. Not after an error or an abort (no task result).
  if (code == kExitOk || (code == kExitFailed && !aborted)) {
    if (Status s = CopyOutputs(executor, *outputs); !s.ok()) {
      std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
      code = kExitErrored;
    } else if (code == kExitFailed && !outputs->empty()) {
      std::fprintf(stderr, "the task failed; its outputs were copied all the same (-o)\n");
    }
  }
  std::error_code ec;
  fs::remove_all(build_root, ec);
  return aborted ? kExitAborted : code;
}

void RegisterExecute(CLI::App& root, int& exit_code) {
  auto flags = std::make_shared<ExecuteFlags>();
  auto* cmd = root.add_subcommand("execute", "Run one task config in a sandbox, like fly execute");
  cmd->add_option("-c,--config", flags->config, "Task config file")->required();
  cmd->add_option("-i,--input", flags->inputs, "An input: NAME=DIR (repeatable)");
  cmd->add_option("-o,--output", flags->outputs,
                  "Copy an output to a directory when the task ends, also when it fails: NAME=DIR");
  cmd->add_flag("--privileged", flags->privileged, "Run the task privileged");
  flags->vars.AddTo(cmd);
  flags->local.AddTo(cmd);
  cmd->callback([flags, &exit_code] { exit_code = Execute(*flags); });
}

BATON_COMMAND(RegisterExecute, "execute");

}  // namespace
}  // namespace baton::cli
