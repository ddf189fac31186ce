// W1-W3 of shared/BENCHMARKS.md as server pipelines (every task `sh -c true`) and as Makefiles
// running the same commands, for bench_cluster; and the idle pipeline of its IDLE part.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace baton::bench {

struct Workload {
  std::string title;
  std::string pipeline;                // set through the API, unpaused
  std::string makefile;                // the same commands for make -j2
  std::vector<std::string> triggered;  // jobs triggered through the API after the set
  size_t jobs = 0;                     // jobs that must each have finished a build
};

inline double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

inline std::string TaskTrue() {
  return "  - task: run\n    config:\n      platform: linux\n"
         "      run: {path: sh, args: [-c, 'true']}\n";
}

inline std::string MockResource(const std::string& version) {
  return "resources:\n- name: r\n  type: mock\n  source: {initial_version: " + version + "}\n";
}

// W1: a six-job chain, each job triggered by the one before (passed:).
inline Workload W1(const std::string& version) {
  const char* chain[] = {"source",    "compile",       "static-analysis",
                         "unit-test", "secure-coding", "deploy"};
  Workload w{"6-job chain (set to the last end)", MockResource(version) + "jobs:\n", "", {}, 6};
  std::string phony = ".PHONY: all";
  for (int i = 0; i < 6; ++i) {
    w.pipeline += "- name: " + std::string(chain[i]) + "\n  plan:\n  - get: r\n    trigger: true\n";
    if (i > 0) w.pipeline += "    passed: [" + std::string(chain[i - 1]) + "]\n";
    w.pipeline += TaskTrue();
    phony += " " + std::string(chain[i]);
    w.makefile += std::string(chain[i]) + ":" + (i > 0 ? " " + std::string(chain[i - 1]) : "") +
                  "\n\tsh -c true\n";
  }
  w.makefile = phony + "\nall: deploy\n" + w.makefile;
  return w;
}

// W2: one job, fifty after it, one fan-in after the fifty.
inline Workload W2(const std::string& version) {
  Workload w{"1 -> 50 -> 1 (set to the fan-in's end)", MockResource(version), "", {}, 52};
  w.pipeline += "jobs:\n- name: start\n  plan:\n  - get: r\n    trigger: true\n" + TaskTrue();
  std::string all, deps;
  for (int i = 1; i <= 50; ++i) {
    const std::string name = "p" + std::to_string(i);
    all += (i > 1 ? ", " : "") + name;
    deps += " " + name;
    w.pipeline += "- name: " + name + "\n  plan:\n  - get: r\n    trigger: true\n" +
                  "    passed: [start]\n" + TaskTrue();
    w.makefile += name + ": start\n\tsh -c true\n";
  }
  w.pipeline += "- name: fan-in\n  plan:\n  - get: r\n    trigger: true\n    passed: [" + all +
                "]\n" + TaskTrue();
  w.makefile = ".PHONY: all start fan-in" + deps + "\nall: fan-in\nstart:\n\tsh -c true\n" +
               w.makefile + "fan-in:" + deps + "\n\tsh -c true\n";
  return w;
}

// W3: 200 independent jobs, each triggered through the API.
inline Workload W3() {
  Workload w{"200 jobs (200 API triggers to the last end)", "jobs:\n", "", {}, 200};
  std::string deps;
  for (int i = 1; i <= 200; ++i) {
    const std::string name = "j" + std::to_string(i);
    w.pipeline += "- name: " + name + "\n  plan:\n" + TaskTrue();
    w.triggered.push_back(name);
    deps += " " + name;
    w.makefile += name + ":\n\tsh -c true\n";
  }
  w.makefile = ".PHONY: all" + deps + "\nall:" + deps + "\n" + w.makefile;
  return w;
}

inline Workload WorkloadById(const std::string& id, const std::string& version) {
  return id == "W1" ? W1(version) : id == "W2" ? W2(version) : W3();
}

// `count` jobs of one task each, no resources: nothing runs until someone triggers.
inline std::string IdlePipeline(int count) {
  std::string y = "jobs:\n";
  for (int i = 1; i <= count; ++i)
    y += "- name: j" + std::to_string(i) + "\n  plan:\n" + TaskTrue();
  return y;
}

// `make -s -j2` on the workload's Makefile in `dir`; wall milliseconds, 0 when make failed.
inline double MakeMs(const Workload& w, const std::filesystem::path& dir) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "Makefile") << w.makefile;
  const auto t0 = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(126);
    execlp("make", "make", "-s", "-j2", static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return 0;
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace baton::bench
