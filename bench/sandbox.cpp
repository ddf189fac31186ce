// Start+exit latency of /bin/true: plain posix_spawn vs NamespaceSandbox vs a whole LocalWorker
// task (cgroups, pipes, output pump, worker thread). Prints p50/p90 in milliseconds.
// Needs root. Usage: bench_sandbox [runs=200]
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <future>
#include <string>
#include <vector>

#include "baton/workers/local_worker.h"
#include "baton/workers/sandbox.h"

namespace {

using namespace baton::workers;
using Clock = std::chrono::steady_clock;

void Report(const char* name, std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  std::printf("%-44s p50 %6.2f ms   p90 %6.2f ms   (n=%zu)\n", name, ms[ms.size() / 2],
              ms[ms.size() * 9 / 10], ms.size());
}

std::vector<double> Time(int runs, const std::function<bool()>& once) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    if (!once()) {
      std::fprintf(stderr, "run failed\n");
      std::exit(1);
    }
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  return ms;
}

bool PosixSpawnTrue() {
  const char* argv[] = {"/bin/true", nullptr};
  pid_t pid;
  if (posix_spawn(&pid, "/bin/true", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
    return false;
  }
  int status;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

bool SandboxTrue(Sandbox& sandbox, const TaskRun& run) {
  int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  auto p = sandbox.Start(run, SandboxStdio{-1, null_fd, null_fd}, nullptr);
  ::close(null_fd);
  if (!p.ok()) {
    std::fprintf(stderr, "%s\n", p.status().ToString().c_str());
    return false;
  }
  return (*p)->Wait() == 0;
}

class NullSink : public OutputSink {
 public:
  void OnLine(baton::SystemTime, OutputStream, std::string_view) override {}
};

bool WorkerTrue(LocalWorker& worker, const TaskRun& run) {
  auto promise = std::make_shared<std::promise<TaskResult>>();
  auto future = promise->get_future();
  auto h = worker.RunTask(run, std::make_shared<NullSink>(),
                          [promise](TaskResult r) { promise->set_value(std::move(r)); });
  TaskResult r = future.get();
  return r.error.ok() && r.exit_code == 0;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::atoi(argv[1]) : 200;
  std::string base = "/var/tmp/baton-bench-sandbox-" + std::to_string(getpid());
  std::filesystem::create_directories(base + "/work");
  TaskRun run;
  run.id = "bench";
  run.path = "/bin/true";
  run.work_dir = base + "/work";

  Report("plain posix_spawn + waitpid", Time(runs, PosixSpawnTrue));
  SandboxOptions options{base + "/sandbox", {base}};
  auto sandbox = MakeNamespaceSandbox(options);
  Report("NamespaceSandbox (mnt,pid,ipc,uts)",
         Time(runs, [&] { return SandboxTrue(*sandbox, run); }));
  TaskRun hermetic = run;
  hermetic.network = false;
  Report("NamespaceSandbox + network namespace",
         Time(runs, [&] { return SandboxTrue(*sandbox, hermetic); }));
  LocalWorkerOptions wo;
  wo.data_dir = base + "/worker";
  {
    LocalWorker worker(wo);
    Report("LocalWorker task (sandbox+cgroups+pump)",
           Time(runs, [&] { return WorkerTrue(worker, run); }));
    wo.unsafe_no_sandbox = true;
  }
  {
    LocalWorker unsafe(wo);
    Report("LocalWorker task, --unsafe-no-sandbox",
           Time(runs, [&] { return WorkerTrue(unsafe, run); }));
  }
  std::error_code ec;
  std::filesystem::remove_all(base, ec);
  return 0;
}
