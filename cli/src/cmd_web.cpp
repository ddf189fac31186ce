// `baton quickstart` / `baton web`: the API, the scheduler and a local worker in one process.
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>

#include "baton/common/logging.h"
#include "baton/runner/scheduler.h"
#include "baton/runner/sqlite_store.h"
#include "baton/webapi/api.h"
#include "baton/webapi/auth.h"
#include "baton/webapi/http_server.h"
#include "command.h"
#include "local_env.h"

namespace baton::cli {
namespace {

namespace asio = boost::asio;
namespace fs = std::filesystem;

struct WebFlags {
  std::string bind = "127.0.0.1:8080";
  std::string external_url;
  std::string web_ui_dir;  // empty: webapi::DefaultWebUiDir()
  LocalFlags local;
};

// On first start: an admin token, printed once and kept in <data-dir>/admin-token (mode 0600).
Status EnsureAdminToken(runner::Store& store, const std::string& data_dir) {
  fs::path file = fs::path(data_dir) / "admin-token";
  if (fs::exists(file)) return Status::Ok();
  BATON_ASSIGN_OR_RETURN(std::string token, webapi::GenerateToken());
  BATON_ASSIGN_OR_RETURN(auto saved, store.CreateApiToken("main", "admin", token, std::nullopt));
  (void)saved;
  {
    std::ofstream out(file);
    out << token << "\n";
    if (!out) return IoError("cannot write " + file.string());
  }
  ::chmod(file.c_str(), 0600);
  std::printf("admin token (shown once, kept in %s):\n  %s\n", file.c_str(), token.c_str());
  return Status::Ok();
}

Result<std::pair<std::string, uint16_t>> ParseBind(const std::string& bind) {
  size_t colon = bind.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("--bind takes HOST:PORT, got " + bind);
  int port = std::atoi(bind.c_str() + colon + 1);
  if (port < 0 || port > 65535) return InvalidArgument("port out of range in --bind " + bind);
  return std::make_pair(bind.substr(0, colon), static_cast<uint16_t>(port));
}

// The local worker as the scheduler uses it, counting the steps it runs for the workers list.
// Thread-safe (the counters are atomic; steps finish on worker threads).
class CountedWorker final : public workers::Worker {
 public:
  explicit CountedWorker(workers::Worker& inner) : inner_(inner) {}
  std::string name() const override { return inner_.name(); }
  workers::IsolationLevel isolation() const override { return inner_.isolation(); }

  std::unique_ptr<workers::StepHandle> RunTask(
      const workers::TaskRun& run, std::shared_ptr<workers::OutputSink> output,
      std::function<void(workers::TaskResult)> done) override {
    ++counts_->tasks;
    ++counts_->containers;
    return inner_.RunTask(run, std::move(output),
                          [counts = counts_, done = std::move(done)](workers::TaskResult result) {
                            --counts->tasks;
                            --counts->containers;
                            done(std::move(result));
                          });
  }
  std::unique_ptr<workers::StepHandle> RunResource(
      const workers::ResourceRun& run, std::shared_ptr<workers::OutputSink> output,
      std::function<void(workers::ResourceResult)> done) override {
    ++counts_->containers;
    return inner_.RunResource(
        run, std::move(output),
        [counts = counts_, done = std::move(done)](workers::ResourceResult result) {
          --counts->containers;
          done(std::move(result));
        });
  }

  int active_tasks() const { return counts_->tasks; }
  int active_containers() const { return counts_->containers; }

 private:
  struct Counts {  // shared with callbacks that may outlive this object
    std::atomic<int> tasks{0};
    std::atomic<int> containers{0};
  };
  workers::Worker& inner_;
  std::shared_ptr<Counts> counts_ = std::make_shared<Counts>();
};

// Keeps the local worker's record in the store fresh: registered at start, a heartbeat with its
// active step counts every `every`, removed on a clean shutdown. Runs on the io thread.
class WorkerHeartbeat {
 public:
  WorkerHeartbeat(asio::io_context& io, runner::Store& store, const CountedWorker& worker,
                  std::chrono::milliseconds every)
      : timer_(io), store_(store), worker_(worker), every_(every) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    record_.name = worker.name();
    record_.platform = "linux";
    record_.capacity = 0;
    record_.state = "running";
    record_.info = {{"version", BATON_VERSION},
                    {"hostname", host},
                    {"started_at", FormatRfc3339(RealClock().Now())},
                    {"isolation", workers::ToString(worker.isolation())},
                    {"heartbeat_every_ms", every.count()}};
  }

  void Start() { Beat(); }
  void Stop() {
    timer_.cancel();
    (void)store_.DeleteWorker(record_.name);
  }

 private:
  void Beat() {
    record_.last_heartbeat = RealClock().Now();
    record_.info["active_tasks"] = worker_.active_tasks();
    record_.info["active_containers"] = worker_.active_containers();
    record_.info["last_heartbeat"] = FormatRfc3339(record_.last_heartbeat);
    if (Status s = store_.SaveWorker(record_); !s.ok()) {
      ModuleLogger("web")->warn("worker heartbeat: {}", s.ToString());
    }
    timer_.expires_after(every_);
    timer_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Beat();
    });
  }

  asio::steady_timer timer_;
  runner::Store& store_;
  const CountedWorker& worker_;
  std::chrono::milliseconds every_;
  runner::WorkerRecord record_;
};

Status ActivateAll(runner::Store& store, runner::Scheduler& scheduler) {
  BATON_ASSIGN_OR_RETURN(auto teams, store.ListTeams());
  for (const auto& team : teams) {
    BATON_ASSIGN_OR_RETURN(auto pipelines, store.ListPipelines(team.name));
    for (const auto& p : pipelines) {
      Status s = scheduler.ActivatePipeline(p.id);
      if (!s.ok()) ModuleLogger("web")->error("pipeline {}: {}", p.name, s.ToString());
    }
  }
  return Status::Ok();
}

int Serve(const WebFlags& flags) {
  SetLogLevel(flags.local.log_level);
  auto log = ModuleLogger("web");
  std::string data_dir = flags.local.ResolvedDataDir();
  auto bind = ParseBind(flags.bind);
  auto store = runner::SqliteStore::OpenDataDir(data_dir, RealClock());
  auto env = StartLocalWorker(data_dir, flags.local);
  Status ok = !bind.ok() ? bind.status() : !store.ok() ? store.status() : env.status();
  if (ok.ok()) ok = EnsureAdminToken(**store, data_dir);
  if (!ok.ok()) {
    std::fprintf(stderr, "error: %s\n", ok.ToString().c_str());
    return kExitErrored;
  }
  auto orphans = (*store)->MarkOrphanedBuildsErrored(
      "the server stopped while this build was running; trigger it again");
  if (orphans.ok() && !orphans->empty()) {
    log->warn("marked {} interrupted build(s) errored", orphans->size());
  }
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  runner::SchedulerOptions options;
  options.data_dir = data_dir;
  options.external_url = flags.external_url;
  options.cache_dir = [&](const std::string& key, const std::string& path) {
    return env->worker->CacheDir(key, path);
  };
  options.artifacts = env->artifacts.get();
  CountedWorker worker(*env->worker);
  WorkerHeartbeat heartbeat(io, **store, worker, std::chrono::seconds(10));
  heartbeat.Start();
  runner::Scheduler scheduler(io, **store, worker, options);
  if (Status s = ActivateAll(**store, scheduler); !s.ok()) log->error("{}", s.ToString());

  webapi::ApiOptions api;
  api.version = BATON_VERSION;
  api.external_url = flags.external_url;
  api.worker_isolation = workers::ToString(env->worker->isolation());
  api.artifacts = env->artifacts.get();
  auto web_ui = webapi::StaticAssets::Load(flags.web_ui_dir.empty() ? webapi::DefaultWebUiDir()
                                                                    : fs::path(flags.web_ui_dir));
  if (web_ui.ok()) {
    api.web_ui = *web_ui;
  } else {
    api.web_ui_missing = web_ui.status().message();
    log->warn("web UI: {}", api.web_ui_missing);
  }
  webapi::ServerOptions server_options;
  server_options.host = bind->first;
  server_options.port = bind->second;
  webapi::HttpServer server(webapi::MakeApiRouter(io, **store, scheduler, api), server_options);
  if (Status s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
    return kExitErrored;
  }
  std::string url = server.base_url();
  std::ofstream(fs::path(data_dir) / "server-url") << url << "\n";
  std::printf("baton %s listening on %s (data in %s)\n", BATON_VERSION, url.c_str(),
              data_dir.c_str());
  std::fflush(stdout);

  asio::signal_set signals(io, SIGINT, SIGTERM);
  asio::steady_timer drain(io);
  const auto drain_deadline = std::make_shared<std::chrono::steady_clock::time_point>();
  // Stops the loop once every aborted build has recorded its end, or at the deadline.
  std::function<void()> wait_for_builds = [&] {
    if (scheduler.running_builds() == 0 || std::chrono::steady_clock::now() >= *drain_deadline) {
      if (scheduler.running_builds() > 0) log->warn("stopping with builds still running");
      io.stop();
      return;
    }
    drain.expires_after(std::chrono::milliseconds(20));
    drain.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) wait_for_builds();
    });
  };
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    log->info("shutting down");
    server.Stop();
    heartbeat.Stop();
    scheduler.AbortAll();
    *drain_deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
    guard.reset();
    wait_for_builds();
  });
  io.run();
  return kExitOk;
}

void Register(CLI::App& root, int& exit_code) {
  for (const char* name : {"quickstart", "web"}) {
    auto flags = std::make_shared<WebFlags>();
    auto* cmd = root.add_subcommand(
        name, std::string(name) == "web"
                  ? "Run the API and scheduler (with the local worker until remote workers land)"
                  : "Run the API, the scheduler and a local worker in one process");
    cmd->add_option("--bind", flags->bind,
                    "HOST:PORT to listen on (default 127.0.0.1:8080; port 0: any free port)");
    cmd->add_option("--external-url", flags->external_url, "URL users reach this server at");
    cmd->add_option("--web-ui-dir", flags->web_ui_dir,
                    "Directory of the built web UI (default: ../share/baton/web-ui beside the "
                    "binary)")
        ->envname("BATON_WEB_UI_DIR");
    flags->local.AddTo(cmd);
    cmd->callback([flags, &exit_code] { exit_code = Serve(*flags); });
  }
}

BATON_COMMAND(Register);

}  // namespace
}  // namespace baton::cli
