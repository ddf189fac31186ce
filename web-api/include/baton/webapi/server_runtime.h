// ServerRuntime: one web node's life — the store, the scheduler, the worker it runs steps on,
// the HTTP API and their order of start and stop. `baton web` and `baton quickstart` parse
// flags and hand them here; tests start a runtime in-process on port 0.
//
//   auto runtime = ServerRuntime::Start(std::move(store), options);   // listening on return
//   if (runtime.ok()) (*runtime)->Run();   // until Shutdown() or SIGINT/SIGTERM
//
// Start, in order: an admin token on first start (kept in <data-dir>/admin-token, mode 0600),
// builds a previous process left running marked errored (alone; with `cluster`, the leader
// settles them), the in-process worker registered (a
// heartbeat every `heartbeat_every`), the scheduler with every pipeline activated, the API and
// the worker endpoint (remote workers, docs/workers.md) listening and <data-dir>/server-url
// written. Shutdown: the API stops, the in-process worker's record is removed, running
// builds are aborted and the loop ends once they have recorded their end (or at
// `drain_timeout`).
//
// Thread-safety: Start, Run and the destructor from one owning thread; Shutdown() and the
// accessors from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/runner/cluster_store.h"
#include "baton/runner/store.h"
#include "baton/workers/worker.h"

namespace baton::workers {
class ArtifactStore;
}  // namespace baton::workers

namespace baton::webapi {

struct ServerRuntimeOptions {
  std::string data_dir;  // absolute; build work dirs, admin-token and server-url live here
  std::string host = "127.0.0.1";
  uint16_t port = 8080;  // 0: any free port (see base_url())
  std::string external_url;
  std::string version = "0.0.0";     // shown by /api/v1/info and in the worker record
  std::filesystem::path web_ui_dir;  // the built web UI; empty: DefaultWebUiDir()
  // The in-process worker (`quickstart`, `web --local-worker`), or null: then only remote
  // workers run steps. Must outlive the runtime.
  workers::Worker* worker = nullptr;
  // The keys remote workers may register with (WorkerKeys: one key per line). None: the worker
  // endpoint refuses every worker, saying how to add one.
  std::vector<std::filesystem::path> worker_key_files;
  workers::ArtifactStore* artifacts = nullptr;  // behind `artifact` resources; may be null
  // Persistent task cache directories ("pipeline/job/task", cache path) -> host dir.
  std::function<std::string(const std::string& key, const std::string& path)> cache_dir;
  std::chrono::milliseconds heartbeat_every{10'000};
  std::chrono::milliseconds drain_timeout{15'000};  // wait for aborted builds on shutdown
  bool handle_signals = true;                       // SIGINT/SIGTERM start a shutdown
  // Several web nodes on one database (the store, seen as a ClusterStore; PostgreSQL): the node
  // joins them (runner::ClusterNode) and schedules only while it holds the scheduler's lease;
  // builds other nodes left are settled by the leader, not at start. Null: this node alone.
  runner::ClusterStore* cluster = nullptr;
  std::chrono::milliseconds lease_ttl{15'000};   // a dead leader is replaced this long after
  std::chrono::milliseconds poll_every{10'000};  // catching up besides notifications
};

class ServerRuntime {
 public:
  // Starts everything (see above); on return the API is listening. An error says which part
  // could not start ("cannot listen on 127.0.0.1:80: permission denied").
  // REQUIRES: options.data_dir exists.
  static Result<std::unique_ptr<ServerRuntime>> Start(std::unique_ptr<runner::Store> store,
                                                      ServerRuntimeOptions options);
  ~ServerRuntime();
  ServerRuntime(const ServerRuntime&) = delete;
  ServerRuntime& operator=(const ServerRuntime&) = delete;

  // Runs the scheduler's loop on the calling thread until a shutdown has drained.
  void Run();
  // Starts a graceful shutdown; Run() returns when it is done. Idempotent.
  void Shutdown();

  // "http://127.0.0.1:<port>".
  std::string base_url() const;
  // The admin token when this start created it (to show the operator once), else nullopt.
  const std::optional<std::string>& new_admin_token() const;

  class Impl;

 private:
  explicit ServerRuntime(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace baton::webapi
