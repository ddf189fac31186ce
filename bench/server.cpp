// bench_server: Baton as a service, measured as in shared/BENCHMARKS.md, on the real
// `baton quickstart` on port 0 in a temporary directory (tests/fakes/server_process.h):
//   W5    trigger to the task's first instruction (`date +%s%N`) through the CLI (a new process
//         each time), the API (kept-alive), a signed GitHub push webhook (and its reply time;
//         pushes to an idle server, then back to back), `trigger-job -w` as a user sees it; each
//         beside make -j2 running the same command
//   W1-W4 through the server (the end is the last build's end_time); W4 with 10 SSE followers,
//         each checked to get every line
//   API   GET /api/v1/teams/main/pipelines/P/jobs requests per second under `wrk`
//   RSS   idle, the peak while streaming W4 to the followers, once quiet after W1-W4, and once
//         quiet again after W5 (which runs after W1-W4: its git runs in the server)
//   HIST  W3 in two new servers taking turns, one with an empty store and one with H finished
//         builds in it (written through SqliteStore while that server is stopped), beside make
//
// Usage: bench_server [--runs N] [--only W5,W1,W2,W3,W4,API,HIST] [--followers F] [--history H]
//                     [--follow parse|raw] [--poll-ms P] [--baton PATH] [--maps M]
//   N defaults to 100 for W5, max(1, N/20) for W1-W3 (at least 9 for HIST), half that for W4; F
//   (W4's SSE followers) to 10; H to 100,000; P (how often W1-W3 list the jobs until all
//   finished) to 10 ms. The server inherits the environment (e.g. MALLOC_ARENA_MAX). W4's
//   followers parse the SSE stream (parse, the default, as the CLI does) or count W4's lines
//   in the raw bytes (raw), to tell the server's lag from the followers' CPU. PATH: another
//   `baton` to start (two builds alternated); M > 0: the M largest mappings by RSS.
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "baton/common/clock.h"
#include "baton/net/http_client.h"
#include "baton/runner/sqlite_store.h"
#include "baton/webapi/webhooks.h"
#include "cluster_workloads.h"
#include "fakes/git_fixture.h"
#include "fakes/server_process.h"
#include "proc_stats.h"
#include "server_builds.h"
#include "server_flags.h"
#include "server_report.h"
#include "sse_follower.h"
#include "w5_make.h"

namespace {

using baton::testing::ServerProcess;
using nlohmann::json;
using Steady = std::chrono::steady_clock;
namespace webapi = baton::webapi;
namespace net = baton::net;

constexpr const char* kSecret = "s3cret";
constexpr const char* kW4Lines = "200000";

// ---- numbers -----------------------------------------------------------------------------

using baton::bench::NowMs;
using baton::bench::NowNs;

using baton::bench::Median;

using baton::bench::Report;
using baton::bench::ReportMake;

using baton::bench::CpuSeconds;
using baton::bench::HandOffs;
using baton::bench::ParseRfc3339Ms;
using baton::bench::ResetPeakRss;
using baton::bench::RssByKind;
using baton::bench::StatusKb;
using baton::bench::WaitForAllFinished;

std::string TaskYaml(const std::string& name, const std::string& script) {
  return "  - task: " + name + "\n    config:\n      platform: linux\n" +
         "      run: {path: sh, args: [-c, '" + script + "']}\n";
}

// ---- the bench ---------------------------------------------------------------------------

class Bench {
 public:
  Bench() : client_(net::ClientOptions{}) {
    repo_ = std::make_unique<baton::testing::GitFixtureRepo>(files_.path() / "repo");
    repo_->Commit({{"msg.txt", "one"}}, "one");
  }
  bool started() const { return server_.started(); }
  std::string log() const { return server_.log(); }
  pid_t pid() const { return server_.pid(); }
  void set_poll(std::chrono::milliseconds poll) { poll_ = poll; }

  double W5(int runs);  // returns make's median for W5's command (MakeFirstInstructionMs)
  void W5Webhook(int runs, double make_ms);
  void TriggerWatch(int runs);
  void Workload(const std::string& id, int runs);
  void W4(int runs, int followers, bool raw);
  void Api();
  void History(Bench& full, int runs, int history);  // REQUIRES: both started, nothing run

 private:
  baton::testing::ApiReply Call(const std::string& method, const std::string& path,
                                const std::string& body = "",
                                const std::map<std::string, std::string>& headers = {});
  bool SetPipeline(const std::string& name, const std::string& yaml);
  int64_t NewestBuildId(const std::string& pipeline, const std::string& job);
  json WaitForBuildAfter(const std::string& pipeline, const std::string& job, int64_t after_id) {
    const std::string path = "/api/v1/teams/main/pipelines/" + pipeline + "/jobs/" + job;
    return baton::bench::WaitForBuildAfter([&] { return Call("GET", path + "/builds?limit=1"); },
                                           after_id);
  }
  int64_t FirstInstructionNs(int64_t build_id);
  std::string W5GitYaml() const;
  struct WorkloadRun {
    int64_t took_ms = 0;          // trigger (or set) to the last end_time; 0: did not finish
    double trigger_ms = 0;        // the first trigger's send to the last one's reply
    double cpu_ms = 0;            // the server's CPU (user + system, its threads only)
    std::vector<double> handoff;  // each build's start after the latest end before it
  };
  WorkloadRun RunWorkload(const std::string& id, int run);
  std::map<std::string, int64_t> FinishedBuildIds(const std::string& pipeline);
  int64_t RunW3Again(const std::string& pipeline);
  bool SeedFinishedBuilds(const std::string& pipeline, int count);

  ServerProcess server_;
  baton::testing::TempDir files_;
  std::unique_ptr<baton::testing::GitFixtureRepo> repo_;
  int pushes_ = 0;                      // commits pushed by W5Webhook
  net::HttpClient client_;              // kept alive across calls
  std::chrono::milliseconds poll_{10};  // W1-W3: GET .../jobs this often until all finished
};

baton::testing::ApiReply Bench::Call(const std::string& method, const std::string& path,
                                     const std::string& body,
                                     const std::map<std::string, std::string>& headers) {
  net::Headers h;
  h.Set("Authorization", "Bearer " + server_.token());
  h.Set("Content-Type", "application/json");
  for (const auto& [k, v] : headers) h.Set(k, v);
  baton::testing::ApiReply reply;
  auto r = client_.Send(method, server_.url() + path, body, h);
  if (!r.ok()) {
    reply.text = r.status().ToString();
    return reply;
  }
  reply.status = r->status;
  reply.text = r->body;
  reply.json = json::parse(r->body, nullptr, false);
  return reply;
}

bool Bench::SetPipeline(const std::string& name, const std::string& yaml) {
  json body = {{"config", yaml}, {"paused", false}};
  auto r = Call("PUT", "/api/v1/teams/main/pipelines/" + name + "/config", body.dump());
  if (r.status != 200) std::fprintf(stderr, "set-pipeline %s: %s\n", name.c_str(), r.text.c_str());
  return r.status == 200;
}

int64_t Bench::NewestBuildId(const std::string& pipeline, const std::string& job) {
  auto r =
      Call("GET", "/api/v1/teams/main/pipelines/" + pipeline + "/jobs/" + job + "/builds?limit=1");
  if (r.status != 200 || !r.json.is_array() || r.json.empty()) return 0;
  return r.json[0].value("id", int64_t{0});
}

int64_t Bench::FirstInstructionNs(int64_t build_id) {
  std::string log = server_.BuildLog(build_id);
  size_t pos = log.find("T=");
  return pos == std::string::npos ? 0 : std::atoll(log.c_str() + pos + 2);
}

std::string Bench::W5GitYaml() const {
  return "resources:\n- name: repo\n  type: git\n  check_every: 1h\n  webhook_token: " +
         std::string(kSecret) + "\n  source: {uri: " + repo_->path().string() +
         ", branch: main}\njobs:\n- name: build\n  plan:\n  - get: repo\n    trigger: true\n" +
         TaskYaml("t", "echo T=$(date +%s%N)");
}

// W5 through the CLI and the API: a job without inputs, and one that gets a git repository.
double Bench::W5(int runs) {
  if (!SetPipeline("w5",
                   "jobs:\n- name: fast\n  plan:\n" + TaskYaml("t", "echo T=$(date +%s%N)")) ||
      !SetPipeline("w5git", W5GitYaml())) {
    return 0;
  }
  WaitForBuildAfter("w5git", "build", 0);
  auto make_ms = baton::bench::MakeFirstInstructionRuns(files_.path() / "make-W5", runs);
  const double make = Median(make_ms);
  Report("W5 make -j2, the same one command (start to its first instruction)", make_ms);
  struct Case {
    std::string label, pipeline, job;
    bool cli;
  };
  for (const Case& c : {Case{"CLI trigger-job, task only", "w5", "fast", true},
                        Case{"API POST (kept-alive client), task only", "w5", "fast", false},
                        Case{"CLI trigger-job, get git + task", "w5git", "build", true}}) {
    std::vector<double> latency, cli_wall;
    for (int i = 0; i < runs; ++i) {
      int64_t last = NewestBuildId(c.pipeline, c.job);
      int64_t t0 = NowNs();
      if (c.cli) {
        auto r = server_.Cli({"trigger-job", "-j", c.pipeline + "/" + c.job});
        cli_wall.push_back((NowNs() - t0) / 1e6);
        if (r.exit_code != 0) std::fprintf(stderr, "trigger-job: %s\n", r.All().c_str());
      } else {
        Call("POST", "/api/v1/teams/main/pipelines/" + c.pipeline + "/jobs/" + c.job + "/builds");
      }
      json build = WaitForBuildAfter(c.pipeline, c.job, last);
      int64_t t1 = build.is_null() ? 0 : FirstInstructionNs(build.value("id", int64_t{0}));
      if (t1 > 0) latency.push_back((t1 - t0) / 1e6);
    }
    Report("W5 " + c.label, latency, make);
    if (c.cli) Report("   (the trigger-job process itself, start to exit)", cli_wall);
  }
  return make;
}

// W5 through a signed GitHub push: commit, deliver, the build of that commit starts. Twice:
// each push once the server is idle (what a push seconds after the last one meets: the check
// after the last push and its spare checkout are done), and pushes back to back (each as soon
// as the last one's build has finished, while that work still runs).
void Bench::W5Webhook(int runs, double make_ms) {
  json sample = json::parse(
      std::ifstream(baton::testing::SharedDir() / "conformance/webhooks/github-push.0.json"),
      nullptr, false);
  if (sample.is_discarded()) {
    std::printf("  webhook: conformance sample not found\n");
    return;
  }
  sample["ref"] = "refs/heads/main";
  sample["repository"]["clone_url"] = repo_->path().string();
  for (bool settled : {true, false}) {
    std::vector<double> reply_ms, latency;
    for (int i = 0; i < runs; ++i) {
      if (settled) baton::bench::WaitUntilIdle(server_.pid());
      std::string sha =
          repo_->Commit({{"n", std::to_string(pushes_)}}, "commit " + std::to_string(pushes_));
      ++pushes_;
      sample["after"] = sha;
      sample["head_commit"]["id"] = sha;
      std::string body = sample.dump();
      int64_t last = NewestBuildId("w5git", "build");
      int64_t t0 = NowNs();
      auto r = Call("POST", "/api/v1/webhooks/github", body,
                    {{"X-GitHub-Event", "push"},
                     {"X-GitHub-Delivery", "bench-" + std::to_string(pushes_)},
                     {"X-Hub-Signature-256", "sha256=" + webapi::HmacSha256Hex(kSecret, body)}});
      reply_ms.push_back((NowNs() - t0) / 1e6);
      if (r.status / 100 != 2) std::fprintf(stderr, "webhook: %d %s\n", r.status, r.text.c_str());
      json build = WaitForBuildAfter("w5git", "build", last);
      int64_t t1 = build.is_null() ? 0 : FirstInstructionNs(build.value("id", int64_t{0}));
      if (t1 > 0) latency.push_back((t1 - t0) / 1e6);
    }
    Report(settled ? "W5 signed GitHub push, server idle (get git + task)"
                   : "   the same, pushes back to back",
           latency, make_ms);
    if (settled) Report("   webhook reply time (kept-alive client)", reply_ms);
  }
}

// `baton trigger-job -w` as a user sees it.
void Bench::TriggerWatch(int runs) {
  std::vector<double> start, seen, exited, first;
  for (int i = 0; i < runs; ++i) {
    int64_t t0 = NowNs();
    auto v = server_.Cli({"--version"});
    start.push_back((NowNs() - t0) / 1e6);
    t0 = NowNs();
    auto watch = server_.StartCli({"trigger-job", "-j", "w5/fast", "-w"});
    if (watch->WaitForOutput("T=", std::chrono::seconds(30))) seen.push_back((NowNs() - t0) / 1e6);
    auto r = watch->Wait();
    exited.push_back((NowNs() - t0) / 1e6);
    size_t pos = r.out.find("T=");
    if (pos != std::string::npos) first.push_back((std::atoll(r.out.c_str() + pos + 2) - t0) / 1e6);
    if (r.exit_code != 0) std::fprintf(stderr, "trigger-job -w: %s\n", r.All().c_str());
  }
  Report("`baton --version` (process start and exit floor)", start);
  Report("`trigger-job -w`: trigger to the task's first instruction", first);
  Report("`trigger-job -w`: start to the task's line printed", seen);
  Report("`trigger-job -w`: start to exit (build finished)", exited);
}

// ---- W1-W3 -------------------------------------------------------------------------------

// One run of W1, W2 or W3 under a fresh pipeline name.
Bench::WorkloadRun Bench::RunWorkload(const std::string& id, int run) {
  // Pipeline names are lowercase (set-pipeline refuses "W1-0").
  std::string name = (id == "W1" ? "w1-" : id == "W2" ? "w2-" : "w3-") + std::to_string(run);
  auto w = baton::bench::WorkloadById(id, "v" + std::to_string(NowNs()));
  WorkloadRun out;
  const double cpu0 = CpuSeconds(pid());
  int64_t t0_ms = NowMs();
  if (!SetPipeline(name, w.pipeline)) return out;
  const int64_t trigger0 = NowNs();
  for (const std::string& job : w.triggered) {
    Call("POST", "/api/v1/teams/main/pipelines/" + name + "/jobs/" + job + "/builds");
  }
  out.trigger_ms = (NowNs() - trigger0) / 1e6;
  const std::string jobs_path = "/api/v1/teams/main/pipelines/" + name + "/jobs";
  int64_t end = WaitForAllFinished([&] { return Call("GET", jobs_path); }, w.jobs, poll_);
  out.cpu_ms = (CpuSeconds(pid()) - cpu0) * 1000;
  out.handoff = HandOffs(Call("GET", jobs_path).json);
  Call("DELETE", "/api/v1/teams/main/pipelines/" + name);
  out.took_ms = end > 0 ? end - t0_ms : 0;
  return out;
}

// Each run of the workload through the server, then `make -j2` on the same commands.
void Bench::Workload(const std::string& id, int runs) {
  std::vector<double> ms, make_ms, trigger_ms, cpu_per_build, handoff;
  const auto jobs = baton::bench::WorkloadById(id, "").jobs;
  const bool triggered = !baton::bench::WorkloadById(id, "").triggered.empty();
  for (int run = 0; run < runs; ++run) {
    WorkloadRun r = RunWorkload(id, run);
    if (r.took_ms > 0) {
      ms.push_back(static_cast<double>(r.took_ms));
      trigger_ms.push_back(r.trigger_ms);
      cpu_per_build.push_back(r.cpu_ms / static_cast<double>(jobs));
      handoff.insert(handoff.end(), r.handoff.begin(), r.handoff.end());
    }
    double make = baton::bench::MakeMs(baton::bench::WorkloadById(id, "make"),
                                       files_.path() / ("make-" + id));
    if (make > 0) make_ms.push_back(make);
  }
  Report(id + " " + baton::bench::WorkloadById(id, "").title, ms);
  ReportMake(ms, make_ms);
  if (triggered) Report("   the API triggers alone (every build created)", trigger_ms);
  Report("   a build's end to the next build's start", handoff);
  // The polling (GET .../jobs every 10 ms) is counted: it is what a dashboard costs too.
  Report("   the server's CPU per build (its threads, with the polling)", cpu_per_build);
}

// ---- W4 with followers, RSS --------------------------------------------------------------

// W4's command, for the task (in YAML's block scalar) and for make.
std::string W4Command() {
  return std::string(R"(awk 'BEGIN { pad = sprintf("%088d", 0); for (i = 0; i < )") + kW4Lines +
         R"(; i++) printf "line %06d %s\n", i, pad }')";
}

void Bench::W4(int runs, int followers, bool raw) {
  std::string yaml =
      "jobs:\n- name: print\n  plan:\n  - task: print\n    config:\n"
      "      platform: linux\n      run:\n        path: sh\n        args:\n"
      "        - -c\n        - |\n          " +
      W4Command() + "\n";
  if (!SetPipeline("w4", yaml)) return;
  baton::bench::Workload make_w4{"W4", "", "all:\n\t" + W4Command() + " > /dev/null\n", {}, 1};
  std::vector<double> wall, lag, make_ms, peak_mb, cpu_ms;
  for (int run = 0; run < runs; ++run) {
    ResetPeakRss(pid());
    const double cpu0 = CpuSeconds(pid());
    int64_t t0_ms = NowMs();
    auto r = Call("POST", "/api/v1/teams/main/pipelines/w4/jobs/print/builds");
    int64_t id = r.json.is_object() ? r.json.value("id", int64_t{0}) : 0;
    std::string url = server_.url() + "/api/v1/builds/" + std::to_string(id) + "/events";
    std::vector<std::atomic<long>> lines(followers);
    std::vector<std::atomic<int64_t>> done(followers);
    std::vector<std::thread> threads;
    for (int f = 0; f < followers; ++f) {
      threads.emplace_back(baton::bench::FollowBuildEvents, url, server_.token(), raw, &lines[f],
                           &done[f]);
    }
    for (auto& t : threads) t.join();
    json build = WaitForBuildAfter("w4", "print", id - 1);
    int64_t end_ms = build.is_null() ? 0 : ParseRfc3339Ms(build.value("end_time", ""));
    if (end_ms > 0) wall.push_back(static_cast<double>(end_ms - t0_ms));
    int64_t last_done = 0;
    for (auto& d : done) last_done = std::max<int64_t>(last_done, d);
    if (followers > 0 && end_ms > 0) lag.push_back(static_cast<double>(last_done - end_ms));
    peak_mb.push_back(StatusKb(pid(), "VmHWM") / 1024.0);
    cpu_ms.push_back((CpuSeconds(pid()) - cpu0) * 1000);
    for (auto& n : lines) {
      if (n != std::atol(kW4Lines)) std::printf("  W4 follower got %ld lines\n", n.load());
    }
    double make = baton::bench::MakeMs(make_w4, files_.path() / "make-W4");
    if (make > 0) make_ms.push_back(make);
  }
  std::string with = std::to_string(followers) + (raw ? " raw" : "") + " SSE followers";
  Report("W4 200,000 lines, " + with + " (trigger to end)", wall);
  ReportMake(wall, make_ms);
  if (followers > 0) Report("   the build's end to the last follower's last line", lag);
  Report("   the server's CPU time (user + system) per run", cpu_ms);
  std::printf("  %-58s median %8.1f MB  max %.1f MB\n",
              ("W4 server peak RSS (VmHWM), " + with).c_str(), Median(peak_mb),
              *std::max_element(peak_mb.begin(), peak_mb.end()));
}

// ---- W3 with history ----------------------------------------------------------------------

// Each job of `pipeline` with the id of its latest finished build (0: none yet).
std::map<std::string, int64_t> Bench::FinishedBuildIds(const std::string& pipeline) {
  std::map<std::string, int64_t> ids;
  auto r = Call("GET", "/api/v1/teams/main/pipelines/" + pipeline + "/jobs");
  for (const json& job : r.json.is_array() ? r.json : json::array()) {
    const json& b = job["finished_build"];
    ids[job.value("name", "")] = b.is_object() ? b.value("id", int64_t{0}) : 0;
  }
  return ids;
}

// Triggers every job of W3's `pipeline` once more; the first trigger to the last end_time of
// the new builds, in ms (0 when they did not all finish within 120 s).
int64_t Bench::RunW3Again(const std::string& pipeline) {
  std::map<std::string, int64_t> before = FinishedBuildIds(pipeline);
  int64_t t0_ms = NowMs();
  for (const std::string& job : baton::bench::W3().triggered) {
    Call("POST", "/api/v1/teams/main/pipelines/" + pipeline + "/jobs/" + job + "/builds");
  }
  auto until = Steady::now() + std::chrono::seconds(120);
  while (Steady::now() < until) {
    auto r = Call("GET", "/api/v1/teams/main/pipelines/" + pipeline + "/jobs");
    size_t done = 0;
    int64_t last_end = 0;
    for (const json& job : r.json.is_array() ? r.json : json::array()) {
      const json& b = job["finished_build"];
      if (!b.is_object() || b.value("id", int64_t{0}) <= before[job.value("name", "")]) continue;
      ++done;
      last_end = std::max(last_end, ParseRfc3339Ms(b.value("end_time", "")));
    }
    if (done == before.size() && last_end > 0) return last_end - t0_ms;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return 0;
}

// Stops the server, writes `count` succeeded builds spread over the jobs of `pipeline` straight
// into its SQLite store (create, start, finish: what the scheduler writes per build, without
// logs), and starts it again on that store.
bool Bench::SeedFinishedBuilds(const std::string& pipeline, int count) {
  server_.Kill(SIGTERM);
  bool ok = [&] {
    auto store =
        baton::runner::SqliteStore::Open(server_.data_dir() / "baton.db", baton::RealClock());
    if (!store.ok()) return false;
    auto record = (*store)->GetPipeline("main", pipeline);
    if (!record.ok()) return false;
    auto jobs = (*store)->ListJobs(record->id);
    if (!jobs.ok() || jobs->empty()) return false;
    for (int i = 0; i < count; ++i) {
      auto build = (*store)->CreateJobBuild((*jobs)[i % jobs->size()].id, json::object());
      if (!build.ok() || !(*store)->StartBuild(build->id).ok() ||
          !(*store)->FinishBuild(build->id, baton::runner::BuildStatus::kSucceeded).ok()) {
        std::fprintf(stderr, "seeding build %d failed\n", i);
        return false;
      }
    }
    return true;
  }();
  return server_.Start() && ok;
}

// W3 on one pipeline in two servers started alike: this one's store empty, `full`'s with
// `history` finished builds of the pipeline's jobs. The runs take turns between the two (and
// which goes first), so that the machine's drift (the load, the disk writing back the seeded
// database) falls on both alike; the figure is the median of the paired ratios.
void Bench::History(Bench& full, int runs, int history) {
  const std::string name = "w3-history";
  if (!SetPipeline(name, baton::bench::W3().pipeline) ||
      !full.SetPipeline(name, baton::bench::W3().pipeline)) {
    return;
  }
  auto t0 = Steady::now();
  if (!full.SeedFinishedBuilds(name, history)) {
    std::printf("  could not seed %d builds:\n%s\n", history, full.log().c_str());
    return;
  }
  std::printf(
      "  %-58s %8.1f s\n",
      ("   (writing " + std::to_string(history) + " finished builds and restarting)").c_str(),
      std::chrono::duration<double>(Steady::now() - t0).count());
  ::sync();  // the seeded database written back now, not during the runs
  auto make_w3 = baton::bench::W3();
  std::vector<double> empty_ms, full_ms, make_ms, ratios;
  for (int run = 0; run < runs; ++run) {
    int64_t empty_took = 0, full_took = 0;
    if (run % 2 == 0) {
      empty_took = RunW3Again(name);
      full_took = full.RunW3Again(name);
    } else {
      full_took = full.RunW3Again(name);
      empty_took = RunW3Again(name);
    }
    if (empty_took > 0) empty_ms.push_back(static_cast<double>(empty_took));
    if (full_took > 0) full_ms.push_back(static_cast<double>(full_took));
    if (empty_took > 0 && full_took > 0) {
      ratios.push_back(static_cast<double>(full_took) / static_cast<double>(empty_took));
    }
    double make = baton::bench::MakeMs(make_w3, files_.path() / "make-W3-history");
    if (make > 0) make_ms.push_back(make);
  }
  Report("W3 200 jobs, empty store (one pipeline, re-triggered)", empty_ms);
  ReportMake(empty_ms, make_ms);
  Report("W3 200 jobs, with " + std::to_string(history) + " finished builds in the store", full_ms);
  ReportMake(full_ms, make_ms);
  std::printf("  %-58s %+8.1f %%  (aim: within 10 %%; median of %zu paired runs)\n",
              "   W3 with history against empty", ratios.empty() ? 0.0 : (Median(ratios) - 1) * 100,
              ratios.size());
}

// `wrk` on the jobs list of a 6-job pipeline.
void Bench::Api() {
  if (!SetPipeline("api", baton::bench::W1("api").pipeline)) return;
  std::string cmd = "wrk -t2 -c50 -d5s -H 'Authorization: Bearer " + server_.token() + "' " +
                    server_.url() + "/api/v1/teams/main/pipelines/api/jobs 2>&1";
  std::vector<double> rps;
  for (int i = 0; i < 3; ++i) {
    std::FILE* p = popen(cmd.c_str(), "r");
    if (!p) return;
    char line[512];
    while (std::fgets(line, sizeof line, p)) {
      if (std::string(line).rfind("Requests/sec:", 0) == 0) rps.push_back(std::atof(line + 13));
    }
    pclose(p);
  }
  std::printf("  %-58s median %8.0f req/s (runs:", "GET .../pipelines/api/jobs under wrk -t2 -c50",
              Median(rps));
  for (double r : rps) std::printf(" %.0f", r);
  std::printf(")\n");
}

}  // namespace

int main(int argc, char** argv) {
  baton::bench::ServerBenchFlags flags;
  if (auto exit_code = baton::bench::ParseServerBenchFlags(argc, argv, flags)) return *exit_code;
  const int runs = flags.runs, followers = flags.followers, history = flags.history;
  const int poll_ms = flags.poll_ms;
  const bool raw = flags.raw;
  const size_t maps = flags.maps;
  auto wants = [&](const char* id) { return flags.wants(id); };
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // lines appear as they are measured, even in a file
  Bench bench;
  bench.set_poll(std::chrono::milliseconds(poll_ms));
  if (!bench.started()) {
    std::fprintf(stderr, "the server did not start:\n%s\n", bench.log().c_str());
    return 1;
  }
  std::printf("%s quickstart pid %d; %d runs; load average at start: ",
              baton::testing::BatonBinary().c_str(), bench.pid(), runs);
  std::fflush(stdout);
  std::system("cut -d' ' -f1-3 /proc/loadavg");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const double idle_mb = StatusKb(bench.pid(), "VmRSS") / 1024.0;
  std::printf("  %-58s %8.1f MB (%s)\n", "idle RSS after start", idle_mb,
              RssByKind(bench.pid()).c_str());
  baton::bench::PrintRssByMapping(bench.pid(), maps);
  // W1-W4 first: the aims for the peak with followers and for RSS once quiet are about them. W5
  // follows, and RSS once quiet is printed again after it: its git check and get run in the
  // server (libgit2 and the libraries it loads stay mapped), which the W1-W4 figure leaves out.
  int workload_runs = std::max(1, runs / 20);
  for (const char* id : {"W1", "W2", "W3"}) {
    if (wants(id)) bench.Workload(id, workload_runs);
  }
  if (wants("W4")) bench.W4(std::max(1, workload_runs / 2), followers, raw);
  if (wants("API")) bench.Api();
  auto print_quiet = [&](const char* what, const char* aim) {
    baton::bench::WaitUntilQuiet(bench.pid());
    const double mb = StatusKb(bench.pid(), "VmRSS") / 1024.0;
    std::printf("  %-58s %8.1f MB (%+.1f MB from idle%s; %s)\n", what, mb, mb - idle_mb, aim,
                RssByKind(bench.pid()).c_str());
    baton::bench::PrintRssByMapping(bench.pid(), maps);
  };
  print_quiet("RSS once quiet after the parts above", ", aim < +5");
  if (wants("W5")) {
    bench.W5Webhook(runs, bench.W5(runs));
    bench.TriggerWatch(std::max(1, runs / 5));
    print_quiet("RSS once quiet after W5 too (git in the server)", "");
  }
  if (wants("HIST")) {
    Bench empty, full;  // two servers of their own: nothing else in either store
    if (!empty.started() || !full.started()) {
      std::fprintf(stderr, "the servers for HIST did not start:\n%s\n%s\n", empty.log().c_str(),
                   full.log().c_str());
      return 1;
    }
    empty.set_poll(std::chrono::milliseconds(poll_ms));
    full.set_poll(std::chrono::milliseconds(poll_ms));
    empty.History(full, std::max(9, workload_runs), history);
  }
  std::printf("load average at the end: ");
  std::fflush(stdout);
  std::system("cut -d' ' -f1-3 /proc/loadavg");
  return 0;
}
