// Start+exit latency of /bin/true: plain posix_spawn vs NamespaceSandbox vs a whole LocalWorker
// task (cgroups, pipes, output pump, worker thread). Prints p50/p90 in milliseconds.
// Needs root. Usage: bench_sandbox [runs=200]
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "sandbox_timing.h"

namespace {

using namespace baton::workers;
using baton::bench::Percentile;
using baton::bench::TimeRuns;

void Report(const char* name, const std::vector<double>& ms) {
  std::printf("%-44s p50 %6.2f ms   p90 %6.2f ms   (n=%zu)\n", name, Percentile(ms, 0.5),
              Percentile(ms, 0.9), ms.size());
}

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 200;
  std::string base = "/var/tmp/baton-bench-sandbox-" + std::to_string(getpid());
  std::filesystem::create_directories(base + "/work");
  TaskRun run = baton::bench::TrueTask(base + "/work");

  Report("plain posix_spawn + waitpid", TimeRuns(runs, baton::bench::PosixSpawnTrue));
  SandboxOptions options{base + "/sandbox", {base}};
  auto sandbox = MakeNamespaceSandbox(options);
  TaskRun hermetic_privileged = run;
  hermetic_privileged.network = false;
  hermetic_privileged.privileged = true;
  Report("NamespaceSandbox, hermetic, privileged",
         TimeRuns(runs, [&] { return baton::bench::SandboxTrue(*sandbox, hermetic_privileged); }));
  TaskRun hermetic = run;
  hermetic.network = false;
  Report("NamespaceSandbox, hermetic (loopback only)",
         TimeRuns(runs, [&] { return baton::bench::SandboxTrue(*sandbox, hermetic); }));
  Report("NamespaceSandbox + slirp4netns (outbound)",
         TimeRuns(runs, [&] { return baton::bench::SandboxTrue(*sandbox, run); }));
  LocalWorkerOptions wo;
  wo.data_dir = base + "/worker";
  {
    LocalWorker worker(wo);
    Report("LocalWorker task, hermetic",
           TimeRuns(runs, [&] { return baton::bench::WorkerTrue(worker, hermetic); }));
    Report("LocalWorker task (sandbox+cgroups+pump+net)",
           TimeRuns(runs, [&] { return baton::bench::WorkerTrue(worker, run); }));
    wo.unsafe_no_sandbox = true;
  }
  {
    LocalWorker unsafe(wo);
    Report("LocalWorker task, --unsafe-no-sandbox",
           TimeRuns(runs, [&] { return baton::bench::WorkerTrue(unsafe, run); }));
  }
  std::error_code ec;
  std::filesystem::remove_all(base, ec);
  return 0;
}
