// Start+exit latency of /bin/true: plain posix_spawn vs NamespaceSandbox vs a whole LocalWorker
// task (cgroups, pipes, output pump, worker thread). Prints p50/p90 in milliseconds.
// Needs root. Usage: bench_sandbox [runs=200] [only: a word of the lines to measure, e.g. hermetic]
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "sandbox_timing.h"

namespace {

using namespace baton::workers;
using baton::bench::Percentile;
using baton::bench::TimeRuns;

const char* g_only = nullptr;  // measure only the lines whose name contains it

bool Wanted(const char* name) { return g_only == nullptr || std::strstr(name, g_only) != nullptr; }

void Report(const char* name, const std::vector<double>& ms) {
  std::printf("%-44s p50 %6.2f ms   p90 %6.2f ms   (n=%zu)\n", name, Percentile(ms, 0.5),
              Percentile(ms, 0.9), ms.size());
}

void Measure(const char* name, int runs, const std::function<bool()>& once) {
  if (Wanted(name)) Report(name, TimeRuns(runs, once));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Start+exit latency of /bin/true: posix_spawn, the sandbox, a worker's task",
               "bench_sandbox"};
  int runs = 200;
  std::string only;
  app.add_option("RUNS", runs, "starts of each")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("ONLY", only, "measure only the lines whose name contains this word");
  CLI11_PARSE(app, argc, argv);
  if (!only.empty()) g_only = only.c_str();
  std::string base = "/var/tmp/baton-bench-sandbox-" + std::to_string(getpid());
  std::filesystem::create_directories(base + "/work");
  TaskRun run = baton::bench::TrueTask(base + "/work");

  Measure("plain posix_spawn + waitpid", runs, baton::bench::PosixSpawnTrue);
  SandboxOptions options{base + "/sandbox", {base}};
  auto sandbox = MakeNamespaceSandbox(options);
  TaskRun hermetic_privileged = run;
  hermetic_privileged.network = false;
  hermetic_privileged.privileged = true;
  Measure("NamespaceSandbox, hermetic, privileged", runs,
          [&] { return baton::bench::SandboxTrue(*sandbox, hermetic_privileged); });
  TaskRun hermetic = run;
  hermetic.network = false;
  Measure("NamespaceSandbox, hermetic (loopback only)", runs,
          [&] { return baton::bench::SandboxTrue(*sandbox, hermetic); });
  if (Wanted("64 MB in the worker")) {
    // A worker larger than this program: what its memory adds to each task's start.
    std::vector<char> ballast(64 << 20, 1);
    Measure("NamespaceSandbox, hermetic, 64 MB in the worker", runs,
            [&] { return baton::bench::SandboxTrue(*sandbox, hermetic); });
  }
  Measure("NamespaceSandbox + slirp4netns (outbound)", runs,
          [&] { return baton::bench::SandboxTrue(*sandbox, run); });
  // As W1-W3's tasks: unprivileged, each network kept for the pipeline's next task.
  TaskRun pipeline = run;
  pipeline.network_scope = "bench/pipeline";
  Measure("NamespaceSandbox, one pipeline's network", runs,
          [&] { return baton::bench::SandboxTrue(*sandbox, pipeline); });
  LocalWorkerOptions wo;
  wo.data_dir = base + "/worker";
  {
    LocalWorker worker(wo);
    Measure("LocalWorker task, hermetic", runs,
            [&] { return baton::bench::WorkerTrue(worker, hermetic); });
    Measure("LocalWorker task (sandbox+cgroups+pump+net)", runs,
            [&] { return baton::bench::WorkerTrue(worker, run); });
    wo.unsafe_no_sandbox = true;
  }
  {
    LocalWorker unsafe(wo);
    Measure("LocalWorker task, --unsafe-no-sandbox", runs,
            [&] { return baton::bench::WorkerTrue(unsafe, run); });
  }
  std::error_code ec;
  std::filesystem::remove_all(base, ec);
  return 0;
}
