// Timing the start+exit of /bin/true: plainly (posix_spawn), in a NamespaceSandbox and as a whole
// LocalWorker task. Shared by bench_sandbox and bench_engine (header-only: every .cpp in bench/ is
// a program of its own).
#pragma once

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "baton/workers/local_worker.h"
#include "baton/workers/sandbox.h"

namespace baton::bench {

// The value below which a fraction `q` (0..1) of `ms` lies; 0 when empty.
inline double Percentile(std::vector<double> ms, double q) {
  if (ms.empty()) return 0;
  std::sort(ms.begin(), ms.end());
  return ms[std::min(ms.size() - 1, static_cast<size_t>(ms.size() * q))];
}

inline double Median(std::vector<double> ms) { return Percentile(std::move(ms), 0.5); }

// Runs `once` `runs` times; the milliseconds of each. Exits the program if a run fails.
inline std::vector<double> TimeRuns(int runs, const std::function<bool()>& once) {
  std::vector<double> ms;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    if (!once()) {
      std::fprintf(stderr, "a timed run failed\n");
      std::exit(1);
    }
    ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return ms;
}

inline bool PosixSpawnTrue() {
  const char* argv[] = {"/bin/true", nullptr};
  pid_t pid;
  if (posix_spawn(&pid, "/bin/true", nullptr, nullptr, const_cast<char**>(argv), environ) != 0) {
    return false;
  }
  int status;
  return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A task running /bin/true in `work_dir`.
inline workers::TaskRun TrueTask(const std::string& work_dir) {
  workers::TaskRun run;
  run.id = "bench";
  run.path = "/bin/true";
  run.work_dir = work_dir;
  return run;
}

inline bool SandboxTrue(workers::Sandbox& sandbox, const workers::TaskRun& run) {
  int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  auto p = sandbox.Start(run, workers::SandboxStdio{-1, null_fd, null_fd}, nullptr);
  ::close(null_fd);
  if (!p.ok()) {
    std::fprintf(stderr, "%s\n", p.status().ToString().c_str());
    return false;
  }
  return (*p)->Wait() == 0;
}

class NullSink : public workers::OutputSink {
 public:
  void OnLine(SystemTime, workers::OutputStream, std::string_view) override {}
};

// One task on `worker`: cgroups, sandbox, output pump and the worker's thread.
inline bool WorkerTrue(workers::LocalWorker& worker, const workers::TaskRun& run) {
  auto promise = std::make_shared<std::promise<workers::TaskResult>>();
  auto future = promise->get_future();
  auto h = worker.RunTask(run, std::make_shared<NullSink>(),
                          [promise](workers::TaskResult r) { promise->set_value(std::move(r)); });
  workers::TaskResult r = future.get();
  if (!r.error.ok()) std::fprintf(stderr, "%s\n", r.error.ToString().c_str());
  return r.error.ok() && r.exit_code == 0;
}

}  // namespace baton::bench
