// Workloads W1–W4 of shared/BENCHMARKS.md under `baton run`, each next to GNU `make -j2` running
// the same commands in the same run, plus the start+exit cost of one sandboxed `true` against a
// plain fork/exec. Prints medians of N runs and the ratios to make. Needs root (sandbox).
//
// Usage: bench_engine [--runs N] [--baton PATH] [--only W1,W2,W3,W4,SANDBOX] [--unsandboxed]
//                     [--keep DIR] [--settle-seconds S]
//   N defaults to 5; PATH defaults to `baton` next to this executable. --unsandboxed runs the
//   tasks with --unsafe-no-sandbox, so what `baton run` itself costs shows apart from the
//   sandbox's part. --keep writes the pipelines, Makefiles and data dirs to DIR and keeps them
//   (to rerun one by hand under perf or strace). --settle-seconds (default 420; 0: not at all)
//   bounds the wait before the first workload for the data dirs' filesystem to be back at rest
//   (SettleDisk below).
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "baton/common/clock.h"
#include "baton/runner/sqlite_store.h"
#include "baton/workers/local_worker.h"
#include "baton/workers/sandbox.h"
#include "sandbox_timing.h"

namespace {

namespace fs = std::filesystem;
using SteadyClock = std::chrono::steady_clock;
using baton::bench::Median;

struct Measured {
  double wall_ms = 0;
  long max_rss_kb = 0;
  int exit_code = -1;
};

// Runs argv with stdout/stderr to /dev/null; wall time and the child's peak RSS (wait4).
Measured RunMeasured(const std::vector<std::string>& argv, const fs::path& cwd = {}) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  auto t0 = SteadyClock::now();
  pid_t pid = fork();
  if (pid == 0) {
    int null_fd = open("/dev/null", O_RDWR);
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(null_fd, 2);
    if (!cwd.empty() && chdir(cwd.c_str()) != 0) _exit(126);
    execvp(args[0], args.data());
    _exit(127);
  }
  Measured m;
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  m.wall_ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
  m.max_rss_kb = usage.ru_maxrss;
  m.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return m;
}

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

std::string TaskTrue() {
  return "    config:\n      platform: linux\n      run: {path: /bin/true}\n";
}

// ---- workload files ---------------------------------------------------------------------

const std::vector<std::string> kChain = {"source",    "compile",       "static-analysis",
                                         "unit-test", "secure-coding", "deploy"};

std::string W1Pipeline() {
  std::string y = "resources:\n- name: r\n  type: mock\n  source: {initial_version: w1}\njobs:\n";
  for (size_t i = 0; i < kChain.size(); ++i) {
    y += "- name: " + kChain[i] + "\n  plan:\n  - get: r\n    trigger: true\n";
    if (i > 0) y += "    passed: [" + kChain[i - 1] + "]\n";
    y += "  - task: run\n" + TaskTrue();
  }
  return y;
}

std::string W1Makefile() {
  std::string m = ".PHONY: all";
  for (const auto& j : kChain) m += " " + j;
  m += "\nall: deploy\n";
  for (size_t i = 0; i < kChain.size(); ++i) {
    m += kChain[i] + ":" + (i > 0 ? " " + kChain[i - 1] : "") + "\n\ttrue\n";
  }
  return m;
}

std::string W2Pipeline() {
  std::string y = "resources:\n- name: r\n  type: mock\n  source: {initial_version: w2}\njobs:\n";
  y += "- name: start\n  plan:\n  - get: r\n  - task: run\n" + TaskTrue();
  std::string all;
  for (int i = 1; i <= 50; ++i) {
    std::string name = "p" + std::to_string(i);
    all += (i > 1 ? ", " : "") + name;
    y += "- name: " + name + "\n  plan:\n  - get: r\n    passed: [start]\n  - task: run\n" +
         TaskTrue();
  }
  y += "- name: fan-in\n  plan:\n  - get: r\n    passed: [" + all + "]\n  - task: run\n" +
       TaskTrue();
  return y;
}

std::string W2Makefile() {
  std::string deps;
  for (int i = 1; i <= 50; ++i) deps += " p" + std::to_string(i);
  std::string m = ".PHONY: all start fan-in" + deps + "\nall: fan-in\nstart:\n\ttrue\n";
  for (int i = 1; i <= 50; ++i) m += "p" + std::to_string(i) + ": start\n\ttrue\n";
  return m + "fan-in:" + deps + "\n\ttrue\n";
}

std::string W3Pipeline() {
  std::string y = "jobs:\n";
  for (int i = 1; i <= 200; ++i) {
    y += "- name: j" + std::to_string(i) + "\n  plan:\n  - task: run\n" + TaskTrue();
  }
  return y;
}

std::string W3Makefile() {
  std::string deps;
  for (int i = 1; i <= 200; ++i) deps += " j" + std::to_string(i);
  std::string m = ".PHONY: all" + deps + "\nall:" + deps + "\n";
  for (int i = 1; i <= 200; ++i) m += "j" + std::to_string(i) + ":\n\ttrue\n";
  return m;
}

// 200,000 lines of 100 bytes (~20 MB) on stdout.
const char* kW4Command =
    "awk 'BEGIN { pad = sprintf(\"%088d\", 0); for (i = 0; i < 200000; i++) "
    "printf \"line %06d %s\\n\", i, pad }'";

std::string W4Pipeline() {
  return std::string(
             "jobs:\n- name: print\n  plan:\n  - task: print\n    config:\n"
             "      platform: linux\n      run:\n        path: sh\n        args:\n"
             "        - -c\n        - |\n          ") +
         kW4Command + "\n";
}

std::string W4Makefile() {
  std::string cmd = kW4Command;
  std::string escaped;
  for (char c : cmd) escaped += c == '$' ? std::string("$$") : std::string(1, c);
  return ".PHONY: all\nall:\n\t@" + escaped + "\n";
}

// ---- measuring ---------------------------------------------------------------------------

struct Workload {
  std::string id;
  std::string pipeline;
  std::string makefile;
  int parallel;
  int jobs;
};

struct Result {
  double baton_ms = 0;
  double make_ms = 0;
  long baton_peak_rss_kb = 0;
};

struct Settings {
  int runs = 5;
  std::string baton;
  std::string only = "W1,W2,W3,W4,SANDBOX";
  bool unsandboxed = false;
  std::string keep;
  int settle_seconds = 420;
};

Result Measure(const Settings& s, const Workload& w, const fs::path& root) {
  const std::string& baton = s.baton;
  int runs = s.runs;
  fs::path dir = root / w.id;
  WriteText(dir / "pipeline.yml", w.pipeline);
  WriteText(dir / "Makefile", w.makefile);
  std::vector<double> baton_ms, make_ms;
  long rss = 0;
  for (int i = 0; i < runs; ++i) {
    fs::path data = dir / ("data-" + std::to_string(i));
    std::error_code ec;
    fs::remove_all(data, ec);  // fresh even in a kept directory run before
    std::vector<std::string> argv = {
        baton,        "run",         "-c",         (dir / "pipeline.yml").string(),
        "--data-dir", data.string(), "--parallel", std::to_string(w.parallel)};
    if (s.unsandboxed) argv.push_back("--unsafe-no-sandbox");
    Measured b = RunMeasured(argv);
    if (b.exit_code != 0) {
      std::fprintf(stderr, "%s: baton run exited %d (data dir %s)\n", w.id.c_str(), b.exit_code,
                   data.c_str());
      std::exit(1);
    }
    baton_ms.push_back(b.wall_ms);
    rss = std::max(rss, b.max_rss_kb);
    Measured m = RunMeasured({"make", "-s", "-j2", "-f", (dir / "Makefile").string()}, dir);
    if (m.exit_code != 0) {
      std::fprintf(stderr, "%s: make exited %d\n", w.id.c_str(), m.exit_code);
      std::exit(1);
    }
    make_ms.push_back(m.wall_ms);
  }
  return {Median(baton_ms), Median(make_ms), rss};
}

void Print(const Workload& w, const Result& r, int runs) {
  std::printf("%-3s baton run %9.1f ms   make -j2 %8.1f ms   ratio %6.1fx", w.id.c_str(),
              r.baton_ms, r.make_ms, r.baton_ms / r.make_ms);
  if (w.id == "W3") {
    std::printf("   jobs/s baton %.0f, make %.0f", w.jobs * 1000 / r.baton_ms,
                w.jobs * 1000 / r.make_ms);
  }
  std::printf("   (median of %d)\n", runs);
}

// W4's log must be retrievable whole from the store afterwards.
void CheckW4Log(const fs::path& data_dir) {
  auto store = baton::runner::SqliteStore::OpenDataDir(data_dir, baton::RealClock());
  if (!store.ok()) {
    std::printf("    W4 log: cannot open the store: %s\n", store.status().ToString().c_str());
    return;
  }
  baton::runner::BuildQuery q;
  auto builds = (*store)->ListBuilds(q);
  if (!builds.ok() || builds->empty()) {
    std::printf("    W4 log: no build found\n");
    return;
  }
  auto t0 = SteadyClock::now();
  int64_t after = 0, lines = 0, bytes = 0;
  for (;;) {
    auto events = (*store)->ReadEvents(builds->front().id, after, 1000);
    if (!events.ok() || events->empty()) break;
    for (const auto& e : *events) {
      // A log event's payload is one line or a run of lines joined by '\n'.
      if (e.stream == "stdout" && e.payload.rfind("line ", 0) == 0) {
        lines += 1 + std::count(e.payload.begin(), e.payload.end(), '\n');
        bytes += static_cast<int64_t>(e.payload.size()) + 1;
      }
      after = e.seq;
    }
  }
  double ms = std::chrono::duration<double, std::milli>(SteadyClock::now() - t0).count();
  std::printf("    W4 log read back from the store: %lld lines, %.1f MB in %.0f ms (%s)\n",
              static_cast<long long>(lines), bytes / 1e6, ms,
              lines == 200000 ? "complete" : "INCOMPLETE");
}

// ---- sandbox start ------------------------------------------------------------------------

void BenchSandbox(const fs::path& root) {
  using namespace baton::workers;
  using baton::bench::TimeRuns;
  fs::create_directories(root / "work");
  TaskRun run = baton::bench::TrueTask((root / "work").string());
  auto sandbox = MakeNamespaceSandbox(SandboxOptions{(root / "sandbox").string(), {root.string()}});
  double plain = Median(TimeRuns(200, baton::bench::PosixSpawnTrue));
  double boxed = Median(TimeRuns(200, [&] { return baton::bench::SandboxTrue(*sandbox, run); }));
  std::printf(
      "sandbox start+exit of true: NamespaceSandbox %.2f ms, posix_spawn %.2f ms, "
      "ratio %.1fx (median of 200)\n",
      boxed, plain, boxed / plain);
  LocalWorkerOptions options;
  options.data_dir = (root / "worker").string();
  LocalWorker worker(options);
  double task = Median(TimeRuns(200, [&] { return baton::bench::WorkerTrue(worker, run); }));
  std::printf("    a whole LocalWorker task (cgroups, sandbox, output pump, thread): %.2f ms\n",
              task);
}

fs::path DefaultBaton() {
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  return self.parent_path() / "baton";
}

}  // namespace

// nullopt to go on; otherwise the code to exit with (0 after --help, 2 after a usage error).
std::optional<int> ParseFlags(int argc, char** argv, Settings& s) {
  CLI::App app{"Workloads W1-W4 of shared/BENCHMARKS.md under `baton run`, each beside make -j2",
               "bench_engine"};
  app.add_option("--runs", s.runs, "runs of each workload")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--baton", s.baton, "the baton binary to run")->capture_default_str();
  app.add_option("--only", s.only, "the workloads to run, comma-separated")->capture_default_str();
  app.add_flag("--unsandboxed", s.unsandboxed, "tasks without the sandbox (--unsafe-no-sandbox)");
  app.add_option("--keep", s.keep, "write the workloads and data dirs here, and keep them");
  app.add_option("--settle-seconds", s.settle_seconds,
                 "wait at most this long for the disk to be at rest before the first workload "
                 "(0: do not wait)")
      ->check(CLI::Range(0, 3600))
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }
  return std::nullopt;
}

// The median time to create an empty file under `dir` (200 of them, left for the run's end:
// removed now, they would be 200 inodes freed just before the workload is measured). On this
// machine's ext4, which has no journal, the kernel skips every inode freed in the last minute or
// more when it allocates one, reading each one's deletion time: after a mass deletion (a test
// suite's temp dirs, a benchmark's data dirs) a file's creation takes 10-50x longer for a minute
// or two, and every baton figure with it (a fresh W1 run creates ~23 files and directories; make
// creates none). Printed so that a sitting's figures can be read against it.
double FileCreationMicros(const fs::path& dir) {
  std::error_code ec;
  fs::remove_all(dir, ec);  // fresh even in a kept directory run before
  fs::create_directories(dir);
  std::vector<double> us;
  for (int i = 0; i < 200; ++i) {
    std::string path = (dir / ("f" + std::to_string(i))).string();
    auto t0 = SteadyClock::now();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    us.push_back(std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count());
    if (fd >= 0) ::close(fd);
  }
  return Median(us);
}

// A file's creation at rest on these VMs' root takes 4-10 us; right after a test suite 100-300
// us, and W1 then reads ~3.5x make instead of ~2.8x; at 20-30 us, 2.85-3.0x (docs/benchmarks.md,
// twenty-second and twenty-third stops). A benchmark measures the machine at rest, as it waits
// for a quiet load: before the first workload, probe every 10 s (200 files a probe in a new
// directory, kept until the run's end like the others) until two probes in a row, in two
// directories, are under kSettledMicros (one new directory's inodes may come from a group the
// deletion spared while the next one's do not), or `limit` has passed. The kernel (ext4's
// recently_deleted) skips an inode for 60 s after its deletion, 360 s while its inode table block
// is not yet written back: hence the default limit. The wait is printed, never hidden; the figure
// before each workload is printed as before. A disk slower at rest than this one waits `limit` once
// a run and says so.
constexpr double kSettledMicros = 12.0;

void SettleDisk(const fs::path& root, std::chrono::seconds limit) {
  auto start = SteadyClock::now();
  double us = 0;
  bool waited = false;
  for (int probe = 0, in_a_row = 0; in_a_row < 2; ++probe) {
    us = FileCreationMicros(root / ("settle-" + std::to_string(probe)));
    in_a_row = us < kSettledMicros ? in_a_row + 1 : 0;
    if (in_a_row > 0) continue;  // the next probe at once, in another directory
    if (SteadyClock::now() - start >= limit) {
      std::printf(
          "    still %.1f us a file after %lld s: measuring anyway; baton's figures are slower "
          "than at rest\n",
          us, static_cast<long long>(limit.count()));
      return;
    }
    if (!waited) {
      std::printf(
          "    a file's creation under %s takes %.1f us (at rest: under %.0f): something "
          "deleted many files here lately; waiting up to %lld s for the disk to be at rest\n",
          root.c_str(), us, kSettledMicros, static_cast<long long>(limit.count()));
      std::fflush(stdout);
      waited = true;
    }
    std::this_thread::sleep_for(std::chrono::seconds(10));
  }
  if (waited) {
    std::printf("    at rest after %.0f s (%.1f us a file)\n",
                std::chrono::duration<double>(SteadyClock::now() - start).count(), us);
  }
}

int main(int argc, char** argv) {
  Settings s;
  s.baton = DefaultBaton().string();
  if (auto exit_code = ParseFlags(argc, argv, s)) return *exit_code;
  const std::string& only = s.only;
  fs::path root = s.keep.empty()
                      ? fs::path("/tmp") / ("baton-bench-engine-" + std::to_string(getpid()))
                      : fs::path(s.keep);
  fs::create_directories(root);
  std::printf("baton: %s; %d runs per workload; a fresh --data-dir per baton run%s\n",
              s.baton.c_str(), s.runs, s.unsandboxed ? "; tasks unsandboxed" : "");
  if (s.settle_seconds > 0) SettleDisk(root, std::chrono::seconds(s.settle_seconds));
  std::vector<Workload> workloads = {
      {"W1", W1Pipeline(), W1Makefile(), 2, 6},
      {"W2", W2Pipeline(), W2Makefile(), 2, 52},
      {"W3", W3Pipeline(), W3Makefile(), 2, 200},
      {"W4", W4Pipeline(), W4Makefile(), 2, 1},
  };
  for (const auto& w : workloads) {
    if (only.find(w.id) == std::string::npos) continue;
    std::printf(
        "    (a file's creation here before %s: %.1f us; on an ext4 without a journal, a mass "
        "deletion in the last minutes raises it, and baton's figures with it)\n",
        w.id.c_str(), FileCreationMicros(root / ("create-probe-" + w.id)));
    Result r = Measure(s, w, root);
    Print(w, r, s.runs);
    if (w.id == "W4") {
      std::printf("    W4 peak RSS of the baton process: %.1f MB\n", r.baton_peak_rss_kb / 1024.0);
      CheckW4Log(root / "W4" / "data-0");
    }
  }
  if (only.find("SANDBOX") != std::string::npos) BenchSandbox(root / "sandbox");
  std::error_code ec;
  if (s.keep.empty()) fs::remove_all(root, ec);
  return 0;
}
