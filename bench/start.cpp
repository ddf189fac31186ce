// bench_start: how long the `baton` client takes to start and exit, next to /bin/true started
// the same way (the floor of a process on this machine). Each command is started with
// posix_spawn, its output to /dev/null, and timed from the spawn to wait4 (wall) plus the
// child's user+system CPU time (wait4's rusage). Also counts the shared objects the dynamic
// loader maps for `baton` (LD_TRACE_LOADED_OBJECTS, what ldd does).
//
// Usage: bench_start [--runs N] [--baton PATH]
//   N defaults to 200; PATH to `baton` next to this executable.
#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

extern char** environ;

namespace {

namespace fs = std::filesystem;

struct Sample {
  double wall_ms = 0;
  double cpu_ms = 0;
  int exit_code = -1;
};

Sample Spawn(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  Sample s;
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = -1;
  if (posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ) != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return s;
  }
  int status = 0;
  rusage usage{};
  wait4(pid, &status, 0, &usage);
  s.wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  auto ms = [](const timeval& tv) { return tv.tv_sec * 1e3 + tv.tv_usec / 1e3; };
  s.cpu_ms = ms(usage.ru_utime) + ms(usage.ru_stime);
  s.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  posix_spawn_file_actions_destroy(&actions);
  return s;
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(v.size() * p))];
}

struct Series {
  std::string what;
  std::vector<std::string> argv;
  std::vector<double> wall, cpu;
  int failures = 0;
};

// The number of shared objects the loader maps for `binary` (vdso and the loader included).
int SharedObjects(const std::string& binary) {
  std::string cmd = "LD_TRACE_LOADED_OBJECTS=1 '" + binary + "' 2>/dev/null";
  std::FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  int lines = 0;
  char line[1024];
  while (std::fgets(line, sizeof line, p) != nullptr) ++lines;
  pclose(p);
  return lines;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 200;
  std::error_code ec;
  std::string baton = (fs::read_symlink("/proc/self/exe", ec).parent_path() / "baton").string();
  CLI::App app{"How long the `baton` client takes to start and exit, beside /bin/true",
               "bench_start"};
  app.add_option("--runs", runs, "starts of each command")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--baton", baton, "the baton binary")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if (!fs::exists(baton)) {
    std::fprintf(stderr,
                 "bench_start: %s does not exist: build it (cmake --build build --target "
                 "baton) or give --baton PATH\n",
                 baton.c_str());
    return 2;
  }
  fs::path dir = fs::temp_directory_path() / ("bench-start-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::string pipeline = (dir / "p.yml").string();
  std::ofstream(pipeline) << "jobs:\n- name: a\n  plan:\n  - task: t\n    config:\n"
                             "      platform: linux\n      run: {path: /bin/true}\n";

  std::vector<Series> series = {
      {"/bin/true (the floor)", {"/bin/true"}, {}, {}, 0},
      {"baton --version", {baton, "--version"}, {}, {}, 0},
      {"baton validate-pipeline -c p.yml (1 job)",
       {baton, "validate-pipeline", "-c", pipeline},
       {},
       {},
       0},
  };
  std::printf("bench_start: %s, %d runs each, interleaved; load average at start: %s\n",
              baton.c_str(), runs, LoadAverage().c_str());
  std::printf("  shared objects mapped at start of baton: %d\n", SharedObjects(baton));
  for (auto& s : series) Spawn(s.argv);  // warm the page cache
  for (int i = 0; i < runs; ++i) {
    for (auto& s : series) {
      Sample sample = Spawn(s.argv);
      if (sample.exit_code != 0) ++s.failures;
      s.wall.push_back(sample.wall_ms);
      s.cpu.push_back(sample.cpu_ms);
    }
  }
  double floor = Percentile(series[0].wall, 0.5);
  for (const auto& s : series) {
    std::printf(
        "  %-42s wall median %6.2f ms  p90 %6.2f ms  cpu median %6.2f ms  (%.1fx /bin/true)%s\n",
        s.what.c_str(), Percentile(s.wall, 0.5), Percentile(s.wall, 0.9), Percentile(s.cpu, 0.5),
        floor > 0 ? Percentile(s.wall, 0.5) / floor : 0,
        s.failures ? (" FAILED " + std::to_string(s.failures) + " times").c_str() : "");
  }
  std::printf("load average at the end: %s\n", LoadAverage().c_str());
  fs::remove_all(dir, ec);
  return 0;
}
