// `baton quickstart` / `baton web`: the API, the scheduler and a local worker in one process.
// Flags only: the server's life is webapi::ServerRuntime.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "baton/common/duration.h"
#include "baton/common/logging.h"
#include "baton/runner/postgres_store.h"
#include "baton/runner/sqlite_store.h"
#include "baton/webapi/memory_release.h"
#include "baton/webapi/server_runtime.h"
#include "command.h"
#include "local_env.h"

namespace baton::cli {
namespace {

struct WebFlags {
  std::string bind = "127.0.0.1:8080";
  std::string external_url;
  std::string web_ui_dir;    // empty: webapi::DefaultWebUiDir()
  bool local_worker = true;  // quickstart always; web with --local-worker
  std::vector<std::string> worker_keys;
  std::string database;    // --database / BATON_DATABASE: "" = SQLite in the data dir
  int lease_seconds = 15;  // with --database: a silent leader is replaced after this long
  std::string worker_heartbeat = "10s";  // asked of workers; 3 missed and a worker is stalled
  LocalFlags local;
};

// The store `--database` names: SQLite at <data_dir>/baton.db when empty, else PostgreSQL.
// `described` says which, for the start-up line (never with the password).
Result<std::unique_ptr<runner::Store>> OpenStore(const std::string& database,
                                                 const std::string& data_dir,
                                                 std::string& described) {
  if (database.empty()) {
    described = "SQLite at " + data_dir + "/baton.db";
    BATON_ASSIGN_OR_RETURN(auto store, runner::SqliteStore::OpenDataDir(data_dir, RealClock()));
    return std::unique_ptr<runner::Store>(std::move(store));
  }
  const std::string shown = runner::PostgresStore::Redacted(database);
  if (database.rfind("postgres://", 0) != 0 && database.rfind("postgresql://", 0) != 0) {
    return InvalidArgument(
        "--database (or BATON_DATABASE) takes a PostgreSQL URL such as "
        "postgres://baton:PASSWORD@db.example:5432/baton, got \"" +
        shown + "\"; leave it out to use SQLite in --data-dir");
  }
  described = "PostgreSQL at " + shown;
  BATON_ASSIGN_OR_RETURN(auto store, runner::PostgresStore::Open(database, RealClock()));
  return std::unique_ptr<runner::Store>(std::move(store));
}

Result<std::pair<std::string, uint16_t>> ParseBind(const std::string& bind) {
  size_t colon = bind.rfind(':');
  if (colon == std::string::npos) return InvalidArgument("--bind takes HOST:PORT, got " + bind);
  int port = std::atoi(bind.c_str() + colon + 1);
  if (port < 0 || port > 65535) return InvalidArgument("port out of range in --bind " + bind);
  return std::make_pair(bind.substr(0, colon), static_cast<uint16_t>(port));
}

int Serve(const WebFlags& flags) {
  webapi::ReexecWithSmallThreadCaches();  // first: it runs this process again
  // Before the store and the local worker start their threads: glibc fixes how many arenas it
  // may make at the first thread that needs one, and a thread keeps the arena it got.
  webapi::MapLargeBlocksAlways();
  webapi::CapMallocArenas(2);
  SetLogLevel(flags.local.log_level);
  std::string data_dir = flags.local.ResolvedDataDir();
  if (Status s = PrepareDataDir(data_dir); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", s.ToString().c_str());
    return kExitErrored;
  }
  auto bind = ParseBind(flags.bind);
  std::string store_described;
  auto store = OpenStore(flags.database, data_dir, store_described);
  Result<LocalWorkerEnv> env = LocalWorkerEnv{};
  if (flags.local_worker) {
    env = StartLocalWorker(data_dir, flags.local);
  } else if (auto artifacts = workers::OpenLocalArtifactStore(data_dir + "/artifacts");
             artifacts.ok()) {
    env->artifacts = std::move(*artifacts);  // history's artifacts stay downloadable
  } else {
    env = artifacts.status();
  }
  auto heartbeat = ParseDuration(flags.worker_heartbeat);
  if (heartbeat.ok() && *heartbeat < std::chrono::milliseconds(100)) {
    heartbeat =
        InvalidArgument("--worker-heartbeat must be at least 100ms, got " + flags.worker_heartbeat);
  }
  Status ok = !bind.ok()        ? bind.status()
              : !heartbeat.ok() ? Status(StatusCode::kInvalidArgument,
                                         "--worker-heartbeat: " + heartbeat.status().message())
              : !store.ok()     ? store.status()
                                : env.status();
  if (!ok.ok()) {
    std::fprintf(stderr, "error: %s\n", ok.ToString().c_str());
    return kExitErrored;
  }
  webapi::ServerRuntimeOptions options;
  options.data_dir = data_dir;
  options.host = bind->first;
  options.port = bind->second;
  options.external_url = flags.external_url;
  options.version = BATON_VERSION;
  options.web_ui_dir = flags.web_ui_dir;
  options.heartbeat_every = std::chrono::duration_cast<std::chrono::milliseconds>(*heartbeat);
  options.worker_key_files.assign(flags.worker_keys.begin(), flags.worker_keys.end());
  options.artifacts = env->artifacts.get();
  if (!flags.database.empty()) {  // PostgreSQL: other web nodes may share it
    options.cluster = dynamic_cast<runner::ClusterStore*>(store->get());
    options.lease_ttl = std::chrono::seconds(std::max(1, flags.lease_seconds));
  }
  if (flags.local_worker) {
    options.worker = env->worker.get();
    options.cache_dir = [worker = env->worker.get()](const std::string& key,
                                                     const std::string& path) {
      return worker->CacheDir(key, path);
    };
  }
  auto runtime = webapi::ServerRuntime::Start(std::move(*store), std::move(options));
  if (!runtime.ok()) {
    std::fprintf(stderr, "error: %s\n", runtime.status().ToString().c_str());
    return kExitErrored;
  }
  if (const auto& token = (*runtime)->new_admin_token()) {
    std::printf("admin token (shown once, kept in %s/admin-token):\n  %s\n", data_dir.c_str(),
                token->c_str());
  }
  std::printf("baton %s listening on %s (data in %s; store: %s)\n", BATON_VERSION,
              (*runtime)->base_url().c_str(), data_dir.c_str(), store_described.c_str());
  std::fflush(stdout);
  (*runtime)->Run();
  return kExitOk;
}

void RegisterWeb(CLI::App& root, int& exit_code) {
  for (const char* name : {"quickstart", "web"}) {
    auto flags = std::make_shared<WebFlags>();
    const bool web = std::string(name) == "web";
    auto* cmd = root.add_subcommand(
        name, web ? "Run the API and scheduler; steps run on `baton worker`s (or --local-worker)"
                  : "Run the API, the scheduler and a local worker in one process");
    if (web) {
      cmd->add_option("--database", flags->database,
                      "PostgreSQL URL (postgres://user:password@host:port/db) for several web "
                      "nodes on one database; default: SQLite in --data-dir")
          ->envname("BATON_DATABASE");
      cmd->add_option("--lease-seconds", flags->lease_seconds,
                      "With --database: the node that schedules renews its lease every third of "
                      "this; when it stops (killed, cut off), another node takes over after this "
                      "many seconds (default 15)")
          ->envname("BATON_LEASE_SECONDS");
      flags->local_worker = false;
      cmd->add_flag("--local-worker", flags->local_worker,
                    "Also run steps in this process, as quickstart does");
    }
    cmd->add_option("--worker-key", flags->worker_keys,
                    "A file of keys `baton worker`s may register with, one per line "
                    "(repeatable; see docs/workers.md)");
    cmd->add_option("--worker-heartbeat", flags->worker_heartbeat,
                    "How often workers heartbeat (default 10s); a worker silent for three "
                    "intervals is stalled and its running steps error");
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

BATON_COMMAND(RegisterWeb, "quickstart", "web");

}  // namespace
}  // namespace baton::cli
