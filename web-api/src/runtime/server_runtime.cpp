#include "baton/webapi/server_runtime.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <sys/stat.h>

#include <atomic>
#include <fstream>

#include "baton/common/logging.h"
#include "baton/runner/cluster_node.h"
#include "baton/runner/scheduler.h"
#include "baton/webapi/api.h"
#include "baton/webapi/auth.h"
#include "baton/webapi/http_server.h"
#include "baton/webapi/memory_release.h"
#include "runtime/counted_worker.h"
#include "runtime/remote_workers.h"
#include "runtime/worker_heartbeat.h"
#include "worker_endpoint/worker_registry.h"
#include "worker_endpoint/worker_routes.h"

namespace baton::webapi {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

constexpr const char* kStoppedMessage =
    "the server stopped while this build was running; trigger it again";

// How long after a restart (or a lost session) a worker has to register again with the steps
// it holds: three missed heartbeats, plus the worker's longest wait between two attempts to
// register (10 s) and some room for the restart itself.
std::chrono::milliseconds ReconnectGrace(std::chrono::milliseconds heartbeat_every) {
  return heartbeat_every * 3 + std::chrono::seconds(30);
}

// On first start: an admin token, kept in <data-dir>/admin-token (mode 0600). Returns it when
// it was made now, nullopt when the file was already there.
Result<std::optional<std::string>> EnsureAdminToken(runner::Store& store,
                                                    const std::string& data_dir) {
  fs::path file = fs::path(data_dir) / "admin-token";
  if (fs::exists(file)) return std::optional<std::string>();
  BATON_ASSIGN_OR_RETURN(std::string token, GenerateToken());
  BATON_ASSIGN_OR_RETURN(auto saved, store.CreateApiToken("main", "admin", token, std::nullopt));
  (void)saved;
  {
    std::ofstream out(file);
    out << token << "\n";
    if (!out)
      return IoError("cannot write " + file.string() + "; check the data dir's permissions");
  }
  ::chmod(file.c_str(), 0600);
  return std::optional<std::string>(token);
}

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

runner::SchedulerOptions SchedulerOptionsOf(const ServerRuntimeOptions& options,
                                            std::unique_ptr<runner::ClusterNode>* cluster) {
  runner::SchedulerOptions out;
  // Alone, this node schedules; with others, once it holds the lease (ClusterNode).
  out.leader = options.cluster == nullptr;
  out.on_pipeline_change = [cluster](const runner::PipelineChange& change) {
    if (*cluster) (*cluster)->Publish(change);
  };
  out.data_dir = options.data_dir;
  out.external_url = options.external_url;
  out.cache_dir = options.cache_dir;
  out.artifacts = options.artifacts;
  // Remote workers' steps outlive this process: journal builds to resume them after a restart.
  out.journal_builds = options.worker == nullptr;
  return out;
}

RemoteWorkersOptions RemoteWorkersOptionsOf(const ServerRuntimeOptions& options) {
  RemoteWorkersOptions out;
  out.spool_dir = fs::path(options.data_dir) / "worker-volumes";
  out.records_dir = fs::path(options.data_dir) / "worker-steps";
  out.artifacts = options.artifacts;
  out.reconnect_grace = ReconnectGrace(options.heartbeat_every);
  return out;
}

// Errors a build this node left unfinished and cannot go on with, saying why in its log.
void ErrorOrphan(runner::Store& store, const runner::Build& build, const std::string& message) {
  runner::BuildEvent event;
  event.time = RealClock().Now();
  event.type = "error";
  event.payload = Json{{"message", message}}.dump();
  std::vector<runner::BuildEvent> events{event};
  (void)store.AppendEvents(build.id, std::move(events));
  auto finished = store.FinishBuild(build.id, runner::BuildStatus::kErrored, message);
  if (!finished.ok()) {
    ModuleLogger("web")->error("build {}: {}", build.id, finished.status().ToString());
  }
}

ApiOptions ApiOptionsOf(const ServerRuntimeOptions& options) {
  ApiOptions api;
  api.version = options.version;
  api.external_url = options.external_url;
  // Remote workers report their own isolation in /api/v1/workers.
  api.worker_isolation =
      options.worker ? workers::ToString(options.worker->isolation()) : "per worker";
  api.artifacts = options.artifacts;
  auto web_ui =
      StaticAssets::Load(options.web_ui_dir.empty() ? DefaultWebUiDir() : options.web_ui_dir);
  if (web_ui.ok()) {
    api.web_ui = *web_ui;
  } else {
    api.web_ui_missing = web_ui.status().message();
    ModuleLogger("web")->warn("web UI: {}", api.web_ui_missing);
  }
  return api;
}

}  // namespace

// Members are declared in the order they start; they are destroyed the other way round, so
// the API (which calls the scheduler) goes first and the store last.
class ServerRuntime::Impl {
 public:
  Impl(std::unique_ptr<runner::Store> store, ServerRuntimeOptions options, WorkerKeys keys)
      : options_(std::move(options)),
        store_(std::move(store)),
        remote_(options_.worker
                    ? nullptr
                    : std::make_unique<RemoteWorkers>(RemoteWorkersOptionsOf(options_))),
        worker_(options_.worker ? *options_.worker : *remote_),
        heartbeat_(io_, *store_, worker_, options_.version, options_.heartbeat_every),
        registry_(*store_, options_.heartbeat_every,
                  options_.worker ? options_.worker->name() : std::string()),
        endpoint_(std::make_shared<WorkerEndpoint>(
            WorkerEndpoint{std::move(keys), registry_, remote_.get()})),
        memory_(
            io_, [this] { return Busy(); }, std::chrono::seconds(1), [this] { Trim(); }),
        scheduler_(io_, {*store_, *store_, *store_}, worker_, SchedulerOptionsWithRelease()),
        signals_(io_),
        expiry_(io_),
        drain_(io_) {
    registry_.SetDispatch(remote_.get());
  }

  Status Start() {
    if (options_.worker) heartbeat_.Start();
    ExpireSilentWorkers();
    // Alone with remote workers: the builds this node was running when it stopped go on
    // (their steps still run on the workers); the rest are errored, before the scheduler
    // starts (it would start a pending one).
    std::vector<runner::Build> resumable;
    if (!options_.worker && !options_.cluster) resumable = ErrorUnresumable();
    if (Status s = ActivateAll(*store_, scheduler_); !s.ok()) {
      ModuleLogger("web")->error("{}", s.ToString());
    }
    size_t resumed = 0;
    for (const runner::Build& build : resumable) {
      Status s = scheduler_.ResumeBuild(build);
      if (s.ok()) ++resumed;
      if (!s.ok()) ErrorUnresumed(build, s);
    }
    if (resumed > 0) {
      ModuleLogger("web")->warn("resumed {} build(s) this web node was running when it stopped",
                                resumed);
    }
    ServerOptions server_options;
    server_options.host = options_.host;
    server_options.port = options_.port;
    // Requests alone (a burst of API calls, CLI commands) leave free memory in the arenas as
    // builds do: a closed connection arms the trim too (the bench's wrk: 0.7 MB).
    server_options.on_connection_closed = [this] {
      asio::post(io_, [this] {
        if (!shutting_down_) memory_.Arm();
      });
    };
    ApiOptions api = ApiOptionsOf(options_);
    if (options_.cluster) {
      api.cluster = [this] {
        runner::ClusterNode* node = cluster_node_.load();
        return node ? node->Describe() : Json();
      };
    }
    Router router = MakeApiRouter(io_, *store_, scheduler_, std::move(api));
    AddWorkerRoutes(router, endpoint_);
    server_ = std::make_unique<HttpServer>(std::move(router), server_options);
    BATON_RETURN_IF_ERROR(server_->Start());
    base_url_ = server_->base_url();
    if (options_.cluster) BATON_RETURN_IF_ERROR(JoinCluster());
    std::ofstream(fs::path(options_.data_dir) / "server-url") << base_url_ << "\n";
    if (options_.handle_signals) {
      signals_.add(SIGINT);
      signals_.add(SIGTERM);
      signals_.async_wait([this](const boost::system::error_code& ec, int) {
        if (!ec) BeginShutdown();
      });
    }
    return Status::Ok();
  }

  void Run() { io_.run(); }

  void Shutdown() {
    asio::post(io_, [this] { BeginShutdown(); });
  }

  ~Impl() {
    if (server_) server_->Stop();
  }

  std::optional<std::string> new_admin_token;
  std::string base_url_;

 private:
  runner::SchedulerOptions SchedulerOptionsWithRelease() {
    runner::SchedulerOptions out = SchedulerOptionsOf(options_, &cluster_);
    // On the io thread. A build's log buffers and its followers' batches are freed by now or
    // soon; the allocator keeps them unless asked (MemoryRelease).
    out.on_build_finished = [this](const runner::Build&) {
      if (!shutting_down_) memory_.Arm();
    };
    return out;
  }

  // Once quiet: the store's caches first (SQLite's pages, the log compressor), so that what they
  // free goes back to the system with the allocator's free memory.
  void Trim() {
    store_->ReleaseCaches();
    ReleaseFreeMemory();
  }

  // Builds running or event streams open: memory freed now is likely to be used again.
  bool Busy() const {
    return scheduler_.running_builds() > 0 || (server_ && server_->stats().open_streams > 0);
  }

  // Joins the other web nodes on the database: heartbeat, notifications, the scheduler's lease.
  Status JoinCluster() {
    runner::ClusterNodeOptions node;
    node.name = runner::ClusterNode::MakeNodeName();
    node.url = options_.external_url.empty() ? base_url_ : options_.external_url;
    node.lease_ttl = options_.lease_ttl;
    node.poll_every = options_.poll_every;
    cluster_ = std::make_unique<runner::ClusterNode>(io_, *options_.cluster, scheduler_, node);
    cluster_node_ = cluster_.get();  // for the API's threads
    return cluster_->Start();
  }

  // The builds left unfinished by this node's last run that can be resumed, oldest first; the
  // others (pending, or without a journal) are errored.
  std::vector<runner::Build> ErrorUnresumable() {
    runner::BuildQuery query;
    query.statuses = {runner::BuildStatus::kPending, runner::BuildStatus::kStarted};
    query.limit = 100000;
    auto orphans = store_->ListBuilds(query);
    if (!orphans.ok()) {
      ModuleLogger("web")->error("cannot list unfinished builds: {}", orphans.status().ToString());
      (void)store_->MarkOrphanedBuildsErrored(kStoppedMessage);
      return {};
    }
    std::vector<runner::Build> resumable;
    for (auto it = orphans->rbegin(); it != orphans->rend(); ++it) {  // oldest first
      if (scheduler_.CanResume(*it)) {
        resumable.push_back(*it);
      } else if (it->status == runner::BuildStatus::kPending) {
        ErrorOrphan(*store_, *it, kStoppedMessage);
      } else {
        ErrorUnresumed(*it, FailedPrecondition("it left no journal"));
      }
    }
    return resumable;
  }

  void ErrorUnresumed(const runner::Build& build, const Status& why) {
    ErrorOrphan(*store_, build,
                "the server stopped while this build was running and cannot go on with it (" +
                    why.message() + "); trigger it again");
    std::error_code ec;
    fs::remove_all(fs::path(options_.data_dir) / "builds" / std::to_string(build.id), ec);
  }

  // On the io thread: stop taking requests, deregister, abort builds, then wait for them.
  void BeginShutdown() {
    if (shutting_down_) return;
    shutting_down_ = true;
    ModuleLogger("web")->info("shutting down");
    signals_.cancel();
    expiry_.cancel();
    memory_.Stop();
    if (server_) server_->Stop();
    if (options_.worker) heartbeat_.Stop();
    scheduler_.AbortAll();
    if (cluster_) cluster_->Stop();  // the next leader need not wait for the lease to expire
    drain_deadline_ = std::chrono::steady_clock::now() + options_.drain_timeout;
    guard_.reset();
    WaitForBuilds();
  }

  // Every half heartbeat: ends the sessions of workers that stopped heartbeating, so their steps
  // error within the heartbeat timeout (plus half a heartbeat).
  void ExpireSilentWorkers() {
    registry_.ExpireSilent(std::chrono::steady_clock::now());
    expiry_.expires_after(std::max<std::chrono::milliseconds>(std::chrono::milliseconds(100),
                                                              options_.heartbeat_every / 2));
    expiry_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec && !shutting_down_) ExpireSilentWorkers();
    });
  }

  // Stops the loop once every aborted build has recorded its end, or at the deadline.
  void WaitForBuilds() {
    if (scheduler_.running_builds() == 0 || std::chrono::steady_clock::now() >= drain_deadline_) {
      if (scheduler_.running_builds() > 0) {
        ModuleLogger("web")->warn("stopping with builds still running");
      }
      io_.stop();
      return;
    }
    drain_.expires_after(std::chrono::milliseconds(20));
    drain_.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) WaitForBuilds();
    });
  }

  ServerRuntimeOptions options_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
  std::unique_ptr<runner::Store> store_;
  std::unique_ptr<RemoteWorkers> remote_;  // steps go to `baton worker`s (no --local-worker)
  CountedWorker worker_;
  WorkerHeartbeat heartbeat_;
  WorkerRegistry registry_;
  std::shared_ptr<const WorkerEndpoint> endpoint_;
  MemoryRelease memory_;  // before the scheduler, which arms it
  runner::Scheduler scheduler_;
  asio::signal_set signals_;
  asio::steady_timer expiry_;
  asio::steady_timer drain_;
  std::chrono::steady_clock::time_point drain_deadline_;
  bool shutting_down_ = false;
  std::unique_ptr<runner::ClusterNode> cluster_;  // with several nodes; before the server
  std::atomic<runner::ClusterNode*> cluster_node_{nullptr};
  std::unique_ptr<HttpServer> server_;
};

Result<std::unique_ptr<ServerRuntime>> ServerRuntime::Start(std::unique_ptr<runner::Store> store,
                                                            ServerRuntimeOptions options) {
  BATON_ASSIGN_OR_RETURN(WorkerKeys keys, WorkerKeys::Load(options.worker_key_files));
  BATON_ASSIGN_OR_RETURN(auto admin_token, EnsureAdminToken(*store, options.data_dir));
  // Alone, what is unfinished was this node's. With other nodes it may be theirs: the leader
  // settles it (runner::ClusterNode).
  // (With remote workers, Impl::Start resumes what it can instead.)
  if (!options.cluster && options.worker) {
    auto orphans = store->MarkOrphanedBuildsErrored(kStoppedMessage);
    if (orphans.ok() && !orphans->empty()) {
      ModuleLogger("web")->warn("marked {} interrupted build(s) errored", orphans->size());
    }
  }
  auto impl = std::make_unique<Impl>(std::move(store), std::move(options), std::move(keys));
  impl->new_admin_token = std::move(admin_token);
  BATON_RETURN_IF_ERROR(impl->Start());
  return std::unique_ptr<ServerRuntime>(new ServerRuntime(std::move(impl)));
}

ServerRuntime::ServerRuntime(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ServerRuntime::~ServerRuntime() = default;

void ServerRuntime::Run() { impl_->Run(); }
void ServerRuntime::Shutdown() { impl_->Shutdown(); }
std::string ServerRuntime::base_url() const { return impl_->base_url_; }
const std::optional<std::string>& ServerRuntime::new_admin_token() const {
  return impl_->new_admin_token;
}

}  // namespace baton::webapi
