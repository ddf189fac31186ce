// bench_validate: how long LoadPipeline (parse + interpolate + build + validate) takes on a large
// pipeline, and how much memory it needs.
//
// Generates a pipeline of N jobs (default 5,000): job i gets a resource `passed:` job i-1 (a
// 5,000-deep chain of passed constraints) and runs a task. Prints the median of R runs, and the
// process's peak RSS, then times the whole `baton validate-pipeline` process on the same file
// (with /usr/bin/time -v, when available). Usage: bench_validate [JOBS] [RUNS] [--write FILE]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "baton/pipelines/loader.h"

namespace {

std::string GeneratePipeline(int jobs) {
  std::string yaml = "resources:\n- name: repo\n  type: mock\n  source: {}\njobs:\n";
  for (int i = 0; i < jobs; ++i) {
    std::string name = "job-" + std::to_string(i);
    std::string repo = "repo";
    yaml += "- name: " + name + "\n  plan:\n  - get: " + repo + "\n    trigger: true\n";
    if (i > 0) yaml += "    passed: [job-" + std::to_string(i - 1) + "]\n";
    yaml +=
        "  - task: build\n"
        "    config:\n"
        "      platform: linux\n"
        "      image_resource: {type: mock, source: {mirror_self: true}}\n"
        "      inputs: [{name: " +
        repo +
        "}]\n"
        "      params: {JOB: " +
        name +
        ", TOKEN: ((token))}\n"
        "      run: {path: sh, args: [-c, 'echo building " +
        name + "']}\n";
  }
  return yaml;
}

// Parses GNU time's "Elapsed (wall clock) time (h:mm:ss or m:ss): 0:01.29" into seconds.
double ParseElapsed(const std::string& report) {
  const std::string key = "Elapsed (wall clock) time (h:mm:ss or m:ss): ";
  size_t at = report.find(key);
  if (at == std::string::npos) return -1;
  std::string value = report.substr(at + key.size(), report.find('\n', at) - at - key.size());
  double seconds = 0;
  size_t start = 0;
  for (size_t colon; (colon = value.find(':', start)) != std::string::npos; start = colon + 1) {
    seconds = (seconds + std::atof(value.substr(start, colon - start).c_str())) * 60;
  }
  return seconds + std::atof(value.substr(start).c_str());
}

long ParseMaxRssKb(const std::string& report) {
  const std::string key = "Maximum resident set size (kbytes): ";
  size_t at = report.find(key);
  return at == std::string::npos ? -1 : std::atol(report.c_str() + at + key.size());
}

// Times the whole `baton validate-pipeline` process with /usr/bin/time -v, when both exist.
void MeasureValidateProcess(const std::filesystem::path& baton, const std::string& yaml, int runs) {
  if (!std::filesystem::exists("/usr/bin/time") || !std::filesystem::exists(baton)) {
    std::printf("  (skipping the baton validate-pipeline process: no /usr/bin/time or %s)\n",
                baton.c_str());
    return;
  }
  const auto file = std::filesystem::temp_directory_path() / "bench_validate_pipeline.yml";
  std::ofstream(file) << yaml;
  std::vector<double> seconds;
  std::vector<long> rss;
  for (int r = 0; r < runs; ++r) {
    std::string command = "/usr/bin/time -v '" + baton.string() + "' validate-pipeline -c '" +
                          file.string() + "' 2>&1 >/dev/null";
    std::string report;
    if (FILE* pipe = popen(command.c_str(), "r")) {
      char buf[4096];
      for (size_t n; (n = fread(buf, 1, sizeof buf, pipe)) > 0;) report.append(buf, n);
      pclose(pipe);
    }
    seconds.push_back(ParseElapsed(report));
    rss.push_back(ParseMaxRssKb(report));
  }
  std::filesystem::remove(file);
  std::sort(seconds.begin(), seconds.end());
  std::sort(rss.begin(), rss.end());
  std::printf("  validate-pipeline process median  %.2f s wall, %.1f MB max RSS\n",
              seconds[seconds.size() / 2], rss[rss.size() / 2] / 1024.0);
}

// CPU time (user + system) of this process so far, in seconds: unlike wall time, it does not
// grow when other processes compete for the cores.
double CpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto secs = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  return secs(usage.ru_utime) + secs(usage.ru_stime);
}

long PeakRssKb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"How long LoadPipeline takes on a large pipeline, and its memory", "bench_validate"};
  int jobs = 5000, runs = 5;
  std::string write;
  app.add_option("JOBS", jobs, "jobs in the generated chain")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("RUNS", runs, "runs")->check(CLI::Range(1, 1000000))->capture_default_str();
  app.add_option("--write", write, "also write the generated pipeline to this file");
  CLI11_PARSE(app, argc, argv);
  const std::string yaml = GeneratePipeline(jobs);
  if (!write.empty()) std::ofstream(write) << yaml;
  baton::pipelines::Vars vars;
  vars.Set("token", "s3cret");
  baton::pipelines::LoadOptions options;
  options.file_name = "generated.yml";
  options.vars = &vars;

  std::vector<double> seconds;
  std::vector<double> cpu_seconds;
  size_t errors = 0;
  for (int r = 0; r < runs; ++r) {
    auto start = std::chrono::steady_clock::now();
    double cpu_start = CpuSeconds();
    auto load = baton::pipelines::LoadPipeline(yaml, options);
    cpu_seconds.push_back(CpuSeconds() - cpu_start);
    seconds.push_back(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    errors = load.diagnostics.ErrorCount();
    if (!load.config || load.config->jobs.size() != size_t(jobs)) {
      std::fprintf(stderr, "bench_validate: the generated pipeline did not load\n");
      return 1;
    }
  }
  std::sort(seconds.begin(), seconds.end());
  std::sort(cpu_seconds.begin(), cpu_seconds.end());
  std::printf("bench_validate: %d jobs, %zu bytes of YAML, %d runs\n", jobs, yaml.size(), runs);
  std::printf("  LoadPipeline median  %.3f s (min %.3f, max %.3f)\n", seconds[seconds.size() / 2],
              seconds.front(), seconds.back());
  std::printf("  LoadPipeline CPU     %.3f s (median)\n", cpu_seconds[cpu_seconds.size() / 2]);
  std::printf("  errors               %zu\n", errors);
  std::printf("  peak RSS             %.1f MB\n", PeakRssKb() / 1024.0);
  MeasureValidateProcess(std::filesystem::path(argv[0]).parent_path() / "baton", yaml, runs);
  return errors == 0 ? 0 : 1;
}
