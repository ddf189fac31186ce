// bench_cluster: Baton on one SQLite node beside two web nodes on one PostgreSQL 15 (issue 12).
// For each deployment it starts real `baton web --local-worker` processes on 127.0.0.1:0
// (tests/fakes/server_process.h; PostgreSQL from tests/fakes/postgres_server.h, a Unix socket in
// a temporary directory) and reports:
//   W1-W3  through the API, as bench_server does: set-pipeline (through node A), W3's 200
//          triggers alternately through A and B, builds read through B until the last has ended;
//          trigger to the last end_time, beside `make -j2` running the same commands in the same
//          run (the ratio is baton / make)
//   IDLE   the CPU time (utime+stime from /proc/PID/stat) each web process, and PostgreSQL's
//          processes, use over a window with 1,000 pipelines of 10 jobs each set and unpaused and
//          nothing running
//   --pg-stats  PostgreSQL's own count of the statements each node sent during each W1-W3 run
//          (log_min_duration_statement = 0, each node's connections named by application_name):
//          per node the statements, the reads among them and the top statements by calls
//          (numbers in their text folded to N)
//
// Usage: bench_cluster [--runs N] [--only SQLITE,POSTGRES,W1,W2,W3,IDLE] [--pipelines P]
//                      [--idle-seconds S] [--idle-windows K] [--pg-stats 1]
//   N (runs of each workload) defaults to 5, P to 1000, S to 60, K to 1. Needs root (sandbox),
//   and Debian's postgresql-15 for the PostgreSQL deployment.
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
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

#include "cluster_workloads.h"
#include "fakes/postgres_server.h"
#include "fakes/server_process.h"
#include "proc_stats.h"

namespace {

namespace fs = std::filesystem;
using baton::testing::ApiReply;
using baton::testing::PostgresServer;
using baton::testing::ServerProcess;
using nlohmann::json;
using Steady = std::chrono::steady_clock;
using namespace baton::bench;

// ---- /proc ---------------------------------------------------------------------------------

// PostgreSQL's CPU so far: the postmaster with its reaped children, plus its live backends.
double PostgresCpuSeconds(const PostgresServer& pg) {
  std::ifstream pidfile(pg.dir() / "data" / "postmaster.pid");
  pid_t postmaster = 0;
  pidfile >> postmaster;
  if (postmaster <= 0) return -1;
  double total = CpuSeconds(postmaster, /*children=*/true);
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = std::atoi(name.c_str());
    if (ParentOf(pid) == postmaster) total += std::max(0.0, CpuSeconds(pid));
  }
  return total;
}

long VmRssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

void PrintLoad(const char* when) {
  std::ifstream in("/proc/loadavg");
  double a = 0, b = 0, c = 0;
  in >> a >> b >> c;
  std::printf("load average %s: %.2f %.2f %.2f\n", when, a, b, c);
  std::fflush(stdout);
}

// ---- PostgreSQL's count of statements ------------------------------------------------------

// The statements PostgreSQL logged (log_min_duration_statement = 0, log_line_prefix '%a|') since
// the last Take(), by application_name (one per node) and by text with numbers folded to N.
class StatementLog {
 public:
  struct Node {
    int64_t statements = 0;  // everything the node sent, BEGIN and COMMIT included
    int64_t reads = 0;       // transactions opened read-only (SqlStore::Read)
    int64_t writes = 0;      // transactions opened to write (SqlStore::Write)
    std::map<std::string, int64_t> by_text;
  };

  explicit StatementLog(fs::path file) : file_(std::move(file)) { Take(); }

  std::map<std::string, Node> Take() {
    std::ifstream in(file_);
    in.seekg(offset_);
    std::map<std::string, Node> nodes;
    for (std::string line; std::getline(in, line);) {
      if (in.eof()) break;  // a line still being written: read it next time
      offset_ += static_cast<std::streamoff>(line.size() + 1);
      Add(line, nodes);
    }
    return nodes;
  }

 private:
  static void Add(const std::string& line, std::map<std::string, Node>& nodes) {
    const size_t bar = line.find('|');
    if (bar == std::string::npos || line.find("duration: ") == std::string::npos) return;
    // Extended protocol logs parse, bind and execute apart: count the execute only.
    size_t text = line.find("  execute ");
    if (text != std::string::npos) {
      text = line.find(": ", text + 10);
    } else if ((text = line.find("  statement: ")) != std::string::npos) {
      text += 11;
    }
    if (text == std::string::npos) return;
    std::string sql = line.substr(text + 2, 100), folded;
    for (char c : sql) {
      if (std::isdigit(static_cast<unsigned char>(c))) {
        if (folded.empty() || folded.back() != 'N') folded += 'N';
      } else {
        folded += c;
      }
    }
    Node& node = nodes[line.substr(0, bar)];
    ++node.statements;
    if (folded.rfind("BEGIN ISOLATION", 0) == 0) ++node.reads;
    if (folded == "BEGIN") ++node.writes;
    ++node.by_text[folded];
  }

  fs::path file_;
  std::streamoff offset_ = 0;
};

void PrintStatements(const std::map<std::string, StatementLog::Node>& nodes, size_t builds) {
  for (const auto& [name, node] : nodes) {
    std::printf(
        "     %s: %lld statements, %lld read and %lld write transactions (%.1f reads per "
        "build of %zu)\n",
        name.c_str(), static_cast<long long>(node.statements), static_cast<long long>(node.reads),
        static_cast<long long>(node.writes), builds ? double(node.reads) / double(builds) : 0.0,
        builds);
    std::vector<std::pair<int64_t, std::string>> top;
    for (const auto& [text, calls] : node.by_text) top.emplace_back(calls, text);
    std::sort(top.rbegin(), top.rend());
    for (size_t i = 0; i < top.size() && i < 8; ++i) {
      std::printf("       %7lld  %s\n", static_cast<long long>(top[i].first),
                  top[i].second.c_str());
    }
  }
  std::fflush(stdout);
}

// ---- a deployment ------------------------------------------------------------------------

// One SQLite node, or two nodes on one PostgreSQL database. Node A takes set-pipeline, B reads.
class Deployment {
 public:
  static std::unique_ptr<Deployment> Sqlite() {
    auto d = std::unique_ptr<Deployment>(new Deployment("SQLite, one node"));
    d->nodes_.push_back(std::make_unique<ServerProcess>(
        std::vector<std::string>{"--bind", "127.0.0.1:0", "--local-worker"}, "web"));
    return d;
  }
  static std::unique_ptr<Deployment> Postgres(bool pg_stats) {
    auto d = std::unique_ptr<Deployment>(new Deployment("PostgreSQL, two nodes"));
    auto pg = PostgresServer::Start();
    if (!pg.ok()) {
      std::fprintf(stderr, "PostgreSQL did not start: %s\n", pg.status().ToString().c_str());
      return nullptr;
    }
    d->pg_ = std::move(*pg);
    auto uri = d->pg_->CreateDatabase();
    if (!uri.ok()) {
      std::fprintf(stderr, "no database: %s\n", uri.status().ToString().c_str());
      return nullptr;
    }
    if (pg_stats) {
      for (const char* sql :
           {"ALTER SYSTEM SET log_min_duration_statement = 0",
            "ALTER SYSTEM SET log_line_prefix = '%a|'", "SELECT pg_reload_conf()"}) {
        if (auto s = d->pg_->Exec(sql); !s.ok()) {
          std::fprintf(stderr, "--pg-stats: %s\n", s.ToString().c_str());
          return nullptr;
        }
      }
      d->statements_ = std::make_unique<StatementLog>(d->pg_->LogFile());
    }
    for (const char* node : {"node-a", "node-b"}) {
      // Each node's connections carry its name into PostgreSQL's log (%a).
      const std::string named = *uri + "&application_name=" + node;
      d->nodes_.push_back(std::make_unique<ServerProcess>(
          std::vector<std::string>{"--bind", "127.0.0.1:0", "--local-worker", "--database", named},
          "web"));
    }
    return d;
  }

  bool Started() const {
    for (const auto& node : nodes_) {
      if (!node->started()) {
        std::fprintf(stderr, "%s: a node did not start:\n%s\n", label_.c_str(),
                     node->log().c_str());
        return false;
      }
    }
    return true;
  }
  const std::string& label() const { return label_; }
  ServerProcess& a() { return *nodes_.front(); }
  ServerProcess& b() { return *nodes_.back(); }
  const std::vector<std::unique_ptr<ServerProcess>>& nodes() const { return nodes_; }
  const PostgresServer* pg() const { return pg_.get(); }

  bool SetPipeline(const std::string& name, const std::string& yaml) {
    json body = {{"config", yaml}, {"paused", false}};
    ApiReply r = a().Api("PUT", "/api/v1/teams/main/pipelines/" + name + "/config", body.dump());
    if (r.status != 200) {
      std::fprintf(stderr, "set-pipeline %s: %d %s\n", name.c_str(), r.status, r.text.c_str());
    }
    return r.status == 200;
  }

  // One run of W1, W2 or W3 under a fresh pipeline name: trigger to the last end_time, in ms
  // (0 when it did not finish within two minutes).
  int64_t RunWorkload(const std::string& id, int run);

 private:
  explicit Deployment(std::string label) : label_(std::move(label)) {}

  std::string label_;
  std::unique_ptr<PostgresServer> pg_;        // before the nodes: they go first
  std::unique_ptr<StatementLog> statements_;  // with --pg-stats
  std::vector<std::unique_ptr<ServerProcess>> nodes_;
};

using baton::bench::NowMs;

int64_t Deployment::RunWorkload(const std::string& id, int run) {
  const Workload w = WorkloadById(id, "v" + std::to_string(NowMs()) + "-" + std::to_string(run));
  std::string name = "w" + id.substr(1) + "-" + std::to_string(run);  // names are lowercase
  if (statements_) statements_->Take();  // what came before this run is not its cost
  const int64_t t0 = NowMs();
  if (!SetPipeline(name, w.pipeline)) return 0;
  for (const std::string& job : w.triggered) {
    static int turn = 0;
    ServerProcess& through = turn++ % 2 ? b() : a();
    ApiReply r =
        through.Api("POST", "/api/v1/teams/main/pipelines/" + name + "/jobs/" + job + "/builds");
    if (r.status != 201) std::fprintf(stderr, "trigger %s: %s\n", job.c_str(), r.text.c_str());
  }
  int64_t last_end = 0;
  const auto until = Steady::now() + std::chrono::minutes(2);
  while (Steady::now() < until) {
    json jobs = b().Get("/api/v1/teams/main/pipelines/" + name + "/jobs");
    size_t done = 0;
    last_end = 0;
    for (const json& job : jobs.is_array() ? jobs : json::array()) {
      const json& build = job["finished_build"];
      if (!build.is_object()) continue;
      const std::string status = build.value("status", "");
      if (status != "succeeded") {
        std::fprintf(stderr, "%s: %s ended %s\n", name.c_str(), job.value("name", "").c_str(),
                     status.c_str());
      }
      ++done;
      last_end = std::max(last_end, ParseRfc3339Ms(build.value("end_time", "")));
    }
    if (done >= w.jobs) break;
    last_end = 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (statements_) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the log catches up
    std::printf("   %s run %d, statements from set-pipeline to the last end:\n", id.c_str(), run);
    PrintStatements(statements_->Take(), w.jobs);
  }
  a().Api("DELETE", "/api/v1/teams/main/pipelines/" + name);
  return last_end > 0 ? last_end - t0 : 0;
}

// ---- the parts ---------------------------------------------------------------------------

void BenchWorkloads(Deployment& d, const std::vector<std::string>& ids, int runs,
                    const fs::path& scratch) {
  for (const std::string& id : ids) {
    std::vector<double> baton_ms, make_ms;
    for (int run = 0; run < runs; ++run) {
      if (int64_t took = d.RunWorkload(id, run); took > 0) baton_ms.push_back(double(took));
      double make = MakeMs(WorkloadById(id, "make"), scratch / id);
      if (make > 0) make_ms.push_back(make);
    }
    const double baton = Median(baton_ms), make = Median(make_ms);
    std::printf("  %-2s %-34s median %8.1f ms (n=%zu)   make -j2 %6.1f ms   ratio %6.1fx\n",
                id.c_str(), WorkloadById(id, "").title.c_str(), baton, baton_ms.size(), make,
                make > 0 ? baton / make : 0.0);
    std::fflush(stdout);
  }
}

// Sets `count` pipelines of 10 jobs, waits until every node has them, then measures.
void BenchIdle(Deployment& d, int count, int seconds, int windows) {
  const auto t0 = Steady::now();
  for (int i = 0; i < count; ++i) {
    if (!d.SetPipeline("idle-" + std::to_string(i), IdlePipeline(10))) return;
  }
  const double set_s = std::chrono::duration<double>(Steady::now() - t0).count();
  std::printf("  set %d pipelines of 10 jobs through node A in %.1f s\n", count, set_s);
  // Every node serves them (a follower activates them from the notifications), and a resync
  // period (10 s) passes before measuring.
  for (const auto& node : d.nodes()) {
    baton::testing::WaitUntil(
        [&] {
          json p =
              node->Get("/api/v1/teams/main/pipelines/idle-" + std::to_string(count - 1) + "/jobs");
          return p.is_array() && p.size() == 10;
        },
        std::chrono::seconds(120));
  }
  std::this_thread::sleep_for(std::chrono::seconds(12));
  for (int w = 0; w < windows; ++w) {
    std::vector<double> before;
    for (const auto& node : d.nodes()) before.push_back(CpuSeconds(node->pid()));
    const double pg_before = d.pg() ? PostgresCpuSeconds(*d.pg()) : 0;
    const auto start = Steady::now();
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    const double wall = std::chrono::duration<double>(Steady::now() - start).count();
    for (size_t i = 0; i < d.nodes().size(); ++i) {
      const double used = CpuSeconds(d.nodes()[i]->pid()) - before[i];
      std::printf(
          "  idle, node %c (pid %d): %.3f s CPU in %.0f s = %.2f%% of a core, RSS %.1f MB\n",
          'A' + static_cast<int>(i), d.nodes()[i]->pid(), used, wall, 100 * used / wall,
          VmRssKb(d.nodes()[i]->pid()) / 1024.0);
    }
    if (d.pg()) {
      const double used = PostgresCpuSeconds(*d.pg()) - pg_before;
      std::printf("  idle, PostgreSQL (all its processes): %.3f s CPU in %.0f s = %.2f%%\n", used,
                  wall, 100 * used / wall);
    }
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5, pipelines = 1000, idle_seconds = 60, idle_windows = 1;
  bool pg_stats = false;
  std::string only = "SQLITE,POSTGRES,W1,W2,W3,IDLE";
  CLI::App app{"Baton on one SQLite node beside two web nodes on one PostgreSQL 15",
               "bench_cluster"};
  app.add_option("--runs", runs, "runs of each workload")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--only", only, "the parts to run, comma-separated")->capture_default_str();
  app.add_option("--pipelines", pipelines, "idle pipelines of 10 jobs for IDLE")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--idle-seconds", idle_seconds, "the length of an IDLE window")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--idle-windows", idle_windows, "IDLE windows")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--pg-stats", pg_stats, "1: PostgreSQL's count of each node's statements");
  CLI11_PARSE(app, argc, argv);
  auto wants = [&](const char* part) { return only.find(part) != std::string::npos; };
  std::vector<std::string> workloads;
  for (const char* id : {"W1", "W2", "W3"}) {
    if (wants(id)) workloads.push_back(id);
  }
  const fs::path scratch =
      fs::temp_directory_path() / ("bench-cluster-" + std::to_string(getpid()));
  PrintLoad("at start");
  int failed = 0;
  for (const char* store : {"SQLITE", "POSTGRES"}) {
    if (!wants(store)) continue;
    auto d = std::string(store) == "SQLITE" ? Deployment::Sqlite() : Deployment::Postgres(pg_stats);
    if (!d || !d->Started()) {
      ++failed;
      continue;
    }
    std::printf("== %s (%d runs of each workload)\n", d->label().c_str(), runs);
    BenchWorkloads(*d, workloads, runs, scratch);
    if (wants("IDLE")) BenchIdle(*d, pipelines, idle_seconds, idle_windows);
    PrintLoad("now");
  }
  std::error_code ec;
  fs::remove_all(scratch, ec);
  return failed ? 1 : 0;
}
