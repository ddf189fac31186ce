// bench_dispatch: steps on `baton worker`s against the in-process worker (issue 13). Starts a
// real `baton quickstart` (the in-process worker) and a real `baton web` with two real
// `baton worker`s on loopback (tests/fakes/server_process.h), each in its own temp dir, and
// reports, medians:
//   D     one job of 30 sequential `true` tasks, the build's start to its end: the per-step
//         dispatch overhead of a remote worker is (remote - in-process) / 30 (aim: < 2 ms)
//   W1-W3 the workloads of shared/BENCHMARKS.md as bench_server runs them (set the pipeline or
//         trigger its jobs, to the last build's end_time) on both
//   V     a task's 64 MiB output (16 random 1 MiB files and a 47 MiB text file) read by the
//         next task on the other worker (steps pinned by tags) against on the same worker: the
//         difference is the volume's trip web node -> worker (pack, 4 MiB chunks over HTTP,
//         unpack); against `tar | zstd -3 | zstd -d | tar -x` over pipes on the same data
//         (aim: at least 70 % of the pipe's throughput)
//
// Usage: bench_dispatch [--runs N] [--only D,W1,W2,W3,V]   (N defaults to 5)
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include <CLI/CLI.hpp>

#include "fakes/e2e_util.h"
#include "fakes/server_process.h"
#include "fakes/test_env.h"
#include "proc_stats.h"

namespace {

using baton::bench::ParseRfc3339Ms;
using baton::testing::ApiReply;
using baton::testing::ChildProcess;
using baton::testing::ServerProcess;
using baton::testing::TempDir;
using nlohmann::json;
using Steady = std::chrono::steady_clock;
namespace fs = std::filesystem;

const std::string kKey = "b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3b3";
const char* kVolumeScript =
    "mkdir -p vol; i=1; while [ $i -le 16 ]; do head -c 1048576 /dev/urandom > vol/r$i.bin; "
    "i=$((i+1)); done; seq 1 6000000 > vol/seq.txt";

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

std::string Runs(const std::vector<double>& v) {
  std::string out;
  for (double x : v) out += (out.empty() ? "" : " ") + std::to_string(static_cast<int64_t>(x));
  return out;
}

std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string Task(const std::string& name, const std::string& script,
                 const std::string& extra = "") {
  return "  - task: " + name + "\n" + extra + "    config:\n      platform: linux\n" +
         "      run: {path: sh, args: [-c, '" + script + "']}\n";
}

std::string DYaml() {
  std::string y = "jobs:\n- name: j\n  plan:\n";
  for (int i = 1; i <= 30; ++i) y += Task("t" + std::to_string(i), "true");
  return y;
}

std::string Mock(const std::string& version) {
  return "resources:\n- name: r\n  type: mock\n  source: {initial_version: " + version + "}\n";
}

std::string W1Yaml(const std::string& version) {
  std::string y = Mock(version) + "jobs:\n";
  for (int i = 0; i < 6; ++i) {
    y += "- name: j" + std::to_string(i) + "\n  plan:\n  - get: r\n    trigger: true\n";
    if (i > 0) y += "    passed: [j" + std::to_string(i - 1) + "]\n";
    y += Task("run", "true");
  }
  return y;
}

std::string W2Yaml(const std::string& version) {
  std::string y = Mock(version) + "jobs:\n- name: start\n  plan:\n  - get: r\n    trigger: true\n" +
                  Task("run", "true");
  std::string all;
  for (int i = 1; i <= 50; ++i) {
    std::string name = "p" + std::to_string(i);
    all += (i > 1 ? ", " : "") + name;
    y += "- name: " + name + "\n  plan:\n  - get: r\n    trigger: true\n    passed: [start]\n" +
         Task("run", "true");
  }
  return y + "- name: fan-in\n  plan:\n  - get: r\n    trigger: true\n    passed: [" + all + "]\n" +
         Task("run", "true");
}

std::string W3Yaml() {
  std::string y = "jobs:\n";
  for (int i = 1; i <= 200; ++i)
    y += "- name: j" + std::to_string(i) + "\n  plan:\n" + Task("run", "true");
  return y;
}

std::string VYaml(const std::string& maker_tag, const std::string& user_tag) {
  return "jobs:\n- name: j\n  plan:\n  - task: make\n    tags: [" + maker_tag +
         "]\n    config:\n      platform: linux\n      outputs: [{name: vol}]\n"
         "      run: {path: sh, args: [-c, '" +
         kVolumeScript + "']}\n  - task: use\n    tags: [" + user_tag +
         "]\n    config:\n      platform: linux\n      inputs: [{name: vol}]\n"
         "      run: {path: sh, args: [-c, 'echo use-start; du -sk vol']}\n";
}

// One server (quickstart, or web with workers) and the API calls the workloads need.
class Target {
 public:
  Target(std::string label, ServerProcess& server) : label_(std::move(label)), server_(server) {}
  const std::string& label() const { return label_; }
  ServerProcess& server() { return server_; }

  bool SetPipeline(const std::string& name, const std::string& yaml) {
    json body = {{"config", yaml}, {"paused", false}};
    ApiReply r =
        server_.Api("PUT", "/api/v1/teams/main/pipelines/" + name + "/config", body.dump());
    if (r.status != 200)
      std::fprintf(stderr, "set-pipeline %s: %s\n", name.c_str(), r.text.c_str());
    return r.status == 200;
  }
  void Destroy(const std::string& name) {
    server_.Api("DELETE", "/api/v1/teams/main/pipelines/" + name);
  }
  int64_t Trigger(const std::string& pipeline, const std::string& job) {
    ApiReply r = server_.Api(
        "POST", "/api/v1/teams/main/pipelines/" + pipeline + "/jobs/" + job + "/builds");
    return r.json.is_object() ? r.json.value("id", int64_t{0}) : 0;
  }
  // The finished build `id` (null after 5 minutes).
  json WaitForBuild(int64_t id) {
    auto until = Steady::now() + std::chrono::minutes(5);
    while (Steady::now() < until) {
      json b = server_.Get("/api/v1/builds/" + std::to_string(id));
      std::string status = b.is_object() ? b.value("status", "") : "";
      if (!status.empty() && status != "pending" && status != "started") return b;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return nullptr;
  }
  // The latest end_time once every one of `jobs` jobs has a finished build (0 after 5 min).
  int64_t WaitForAllFinished(const std::string& pipeline, size_t jobs) {
    auto until = Steady::now() + std::chrono::minutes(5);
    while (Steady::now() < until) {
      json list = server_.Get("/api/v1/teams/main/pipelines/" + pipeline + "/jobs");
      size_t done = 0;
      int64_t last_end = 0;
      for (const json& job : list.is_array() ? list : json::array()) {
        const json& b = job["finished_build"];
        if (!b.is_object()) continue;
        ++done;
        last_end = std::max(last_end, ParseRfc3339Ms(b.value("end_time", "")));
      }
      if (done >= jobs && last_end > 0) return last_end;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return 0;
  }

 private:
  std::string label_;
  ServerProcess& server_;
};

using baton::bench::NowMs;

// D: the build's start to end of 30 sequential tasks, in ms; 0 when it did not succeed.
double RunD(Target& t, int run) {
  std::string name = "d-" + std::to_string(run);
  if (!t.SetPipeline(name, DYaml())) return 0;
  json b = t.WaitForBuild(t.Trigger(name, "j"));
  t.Destroy(name);
  if (!b.is_object() || b.value("status", "") != "succeeded") {
    std::fprintf(stderr, "%s: D build did not succeed: %s\n", t.label().c_str(), b.dump().c_str());
    return 0;
  }
  return static_cast<double>(ParseRfc3339Ms(b.value("end_time", "")) -
                             ParseRfc3339Ms(b.value("start_time", "")));
}

// W1-W3: set-pipeline (and W3's triggers) to the last end_time, in ms.
double RunW(Target& t, const std::string& id, int run) {
  std::string name = (id == "W1" ? "w1-" : id == "W2" ? "w2-" : "w3-") + std::to_string(run);
  std::string version = "v" + std::to_string(NowMs()) + "-" + std::to_string(run);
  int64_t t0 = NowMs();
  std::string yaml = id == "W1" ? W1Yaml(version) : id == "W2" ? W2Yaml(version) : W3Yaml();
  if (!t.SetPipeline(name, yaml)) return 0;
  if (id == "W3") {
    for (int i = 1; i <= 200; ++i) t.Trigger(name, "j" + std::to_string(i));
  }
  int64_t end = t.WaitForAllFinished(name, id == "W1" ? 6 : id == "W2" ? 52 : 200);
  t.Destroy(name);
  return end > 0 ? static_cast<double>(end - t0) : 0;
}

// V: ms from the `use` step's "selected worker" line to its first output line.
double RunV(Target& t, const std::string& maker, const std::string& user, int run) {
  std::string name = "v-" + maker + "-" + user + "-" + std::to_string(run);
  if (!t.SetPipeline(name, VYaml(maker, user))) return 0;
  int64_t id = t.Trigger(name, "j");
  json b = t.WaitForBuild(id);
  if (!b.is_object() || b.value("status", "") != "succeeded") {
    std::fprintf(stderr, "V build did not succeed:\n%s\n", t.server().BuildLog(id).c_str());
    return 0;
  }
  ApiReply events = t.server().Api("GET", "/api/v1/builds/" + std::to_string(id) + "/events");
  std::map<std::string, int64_t> selected, started;
  std::istringstream lines(events.text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("data: ", 0) != 0) continue;
    json e = json::parse(line.substr(6), nullptr, false);
    if (!e.is_object() || e.value("type", "") != "log") continue;
    std::string payload = e.value("payload", "");
    std::string origin = e.value("origin", "");
    if (payload.rfind("selected worker: ", 0) == 0) selected[origin] = e.value("time", int64_t{0});
    if (payload.find("use-start") != std::string::npos)
      started[origin] = e.value("time", int64_t{0});
  }
  t.Destroy(name);
  for (const auto& [origin, at] : started) {
    if (selected.count(origin)) return static_cast<double>(at - selected[origin]);
  }
  std::fprintf(stderr, "V: no use step times in the log\n");
  return 0;
}

// `tar | zstd -3 | zstd -d | tar -x` over pipes on a volume made by kVolumeScript, in ms.
double PipeVolume(const fs::path& dir, int run) {
  fs::path out = dir / ("out" + std::to_string(run));
  fs::create_directories(out);
  std::string cmd = "tar -cf - -C '" + (dir / "vol").string() +
                    "' . | zstd -q -3 -c | zstd -q -d -c | tar -xf - -C '" + out.string() + "'";
  auto t0 = Steady::now();
  int rc = std::system(cmd.c_str());
  double ms = std::chrono::duration<double, std::milli>(Steady::now() - t0).count();
  fs::remove_all(out);
  return rc == 0 ? ms : 0;
}

std::unique_ptr<ChildProcess> StartWorker(const ServerProcess& web, const fs::path& dir,
                                          const std::string& name, std::vector<std::string> extra) {
  fs::path key = dir / "worker.key";
  baton::testing::WriteFile(key, kKey + "\n");
  std::vector<std::string> argv{baton::testing::BatonBinary().string(),
                                "worker",
                                "--web",
                                web.url(),
                                "--name",
                                name,
                                "--work-dir",
                                (dir / name).string(),
                                "--key",
                                key.string()};
  argv.insert(argv.end(), extra.begin(), extra.end());
  baton::testing::ProcessOptions options;
  options.timeout = std::chrono::hours(2);
  options.output_file = dir / (name + ".log");
  auto worker = std::make_unique<ChildProcess>(argv, options);
  auto until = Steady::now() + std::chrono::seconds(60);
  while (Steady::now() < until) {
    std::ifstream in(options.output_file);
    std::stringstream text;
    text << in.rdbuf();
    if (text.str().find("registered with") != std::string::npos) return worker;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::fprintf(stderr, "worker %s did not register\n", name.c_str());
  return nullptr;
}

void Report(const std::string& what, const std::vector<double>& local,
            const std::vector<double>& remote, int steps) {
  double l = Median(local), r = Median(remote);
  std::printf("  %-44s %9.0f ms %9.0f ms", what.c_str(), l, r);
  if (steps > 0 && l > 0 && r > 0) std::printf("  %+6.2f ms/step", (r - l) / steps);
  std::printf("\n      runs: in-process [%s] remote [%s]\n", Runs(local).c_str(),
              Runs(remote).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5;
  std::string only = "D,W1,W2,W3,V";
  CLI::App app{"Steps on `baton worker`s against the in-process worker", "bench_dispatch"};
  app.add_option("--runs", runs, "runs of each part")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--only", only, "the parts to run, comma-separated")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  auto wants = [&](const char* id) { return only.find(id) != std::string::npos; };

  TempDir files;
  baton::testing::WriteFile(files / "authorized", kKey + "\n");
  ServerProcess quickstart;
  ServerProcess web({"--bind", "127.0.0.1:0", "--worker-key", (files / "authorized").string()},
                    "web");
  if (!quickstart.started() || !web.started()) {
    std::fprintf(stderr, "a server did not start:\n%s\n%s\n", quickstart.log().c_str(),
                 web.log().c_str());
    return 1;
  }
  auto a = StartWorker(web, files.path(), "a", {});
  auto b = StartWorker(web, files.path(), "b", {});
  auto va = StartWorker(web, files.path(), "va", {"--tag", "va"});
  auto vb = StartWorker(web, files.path(), "vb", {"--tag", "vb"});
  if (!a || !b || !va || !vb) return 1;
  Target local("in-process", quickstart), remote("remote", web);
  std::printf("bench_dispatch: %d runs; load average at start: %s\n", runs, LoadAverage().c_str());
  std::printf("  %-44s %12s %12s\n", "", "in-process", "2 workers");

  if (wants("D")) {
    std::vector<double> l, r;
    for (int i = 0; i < runs; ++i) {
      if (double ms = RunD(local, i); ms > 0) l.push_back(ms);
      if (double ms = RunD(remote, i); ms > 0) r.push_back(ms);
    }
    Report("D: 30 sequential tasks in one build", l, r, 30);
  }
  for (const char* id : {"W1", "W2", "W3"}) {
    if (!wants(id)) continue;
    std::vector<double> l, r;
    for (int i = 0; i < runs; ++i) {
      if (double ms = RunW(local, id, i); ms > 0) l.push_back(ms);
      if (double ms = RunW(remote, id, i); ms > 0) r.push_back(ms);
    }
    const char* what = std::string(id) == "W1"   ? "W1: 6-job chain (get + task each)"
                       : std::string(id) == "W2" ? "W2: 1 -> 50 -> 1 (get + task each)"
                                                 : "W3: 200 one-task jobs";
    Report(what, l, r, 0);
  }
  if (wants("V")) {
    std::vector<double> same, other, pipe;
    for (int i = 0; i < runs; ++i) {
      if (double ms = RunV(remote, "va", "va", i); ms > 0) same.push_back(ms);
      if (double ms = RunV(remote, "va", "vb", i); ms > 0) other.push_back(ms);
    }
    std::string make = "cd '" + files.path().string() + "' && " + kVolumeScript;
    if (std::system(make.c_str()) != 0) return 1;
    uint64_t bytes = 0;
    for (const auto& e : fs::recursive_directory_iterator(files / "vol")) {
      if (e.is_regular_file()) bytes += e.file_size();
    }
    for (int i = 0; i < runs; ++i) {
      if (double ms = PipeVolume(files.path(), i); ms > 0) pipe.push_back(ms);
    }
    double mib = static_cast<double>(bytes) / (1024 * 1024);
    double trip = Median(other) - Median(same);
    double piped = Median(pipe);
    std::printf("  V: a %.1f MiB output read by the next task\n", mib);
    std::printf("      on the same worker: selected -> first line %7.0f ms  [%s]\n", Median(same),
                Runs(same).c_str());
    std::printf("      on the other worker:                      %7.0f ms  [%s]\n", Median(other),
                Runs(other).c_str());
    std::printf("      the volume's trip (difference)            %7.0f ms  %7.1f MiB/s\n", trip,
                trip > 0 ? mib / (trip / 1000) : 0.0);
    std::printf("      tar | zstd -3 | zstd -d | tar -x (pipes)  %7.0f ms  %7.1f MiB/s  [%s]\n",
                piped, piped > 0 ? mib / (piped / 1000) : 0.0, Runs(pipe).c_str());
    if (trip > 0 && piped > 0) {
      std::printf(
          "      trip throughput / pipe's                  %7.0f %%  (aim: at least 70 %%)\n",
          100.0 * piped / trip);
    }
  }
  std::printf("load average at the end: %s\n", LoadAverage().c_str());
  return 0;
}
