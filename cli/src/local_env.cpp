#include "local_env.h"

#include <cstdlib>
#include <filesystem>

#include "baton/common/logging.h"
#include "baton/pipelines/loader.h"
#include "baton/webapi/http_transport_adapter.h"

namespace baton::cli {

void LocalFlags::AddTo(CLI::App* cmd) {
  cmd->add_option("--data-dir", data_dir,
                  "Where history, artifacts and caches live (default $BATON_DATA_DIR or "
                  "~/.local/share/baton)");
  cmd->add_flag("--unsafe-no-sandbox", unsafe_no_sandbox,
                "Run tasks without namespaces when no sandbox can be built (unsafe)");
  cmd->add_option("--log-level", log_level, "trace, debug, info, warn, error or off");
}

std::string LocalFlags::ResolvedDataDir() const {
  std::string dir;
  if (!data_dir.empty()) {
    dir = data_dir;
  } else if (const char* env = std::getenv("BATON_DATA_DIR"); env && *env) {
    dir = env;
  } else {
    const char* home = std::getenv("HOME");
    dir = std::string(home && *home ? home : "/root") + "/.local/share/baton";
  }
  // Absolute, so the sandbox's mount plan (which hides the data dir from tasks) can use it.
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(dir, ec);
  if (ec) return dir;
  absolute = absolute.lexically_normal();
  if (!absolute.has_filename() && absolute.has_parent_path()) absolute = absolute.parent_path();
  return absolute.string();
}

Result<LocalWorkerEnv> StartLocalWorker(const std::string& data_dir, bool unsafe_no_sandbox) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return IoError("cannot create data dir " + data_dir + ": " + ec.message());
  LocalWorkerEnv env;
  BATON_ASSIGN_OR_RETURN(env.artifacts, workers::OpenLocalArtifactStore(data_dir + "/artifacts"));
  workers::LocalWorkerOptions options;
  options.data_dir = data_dir + "/worker";
  options.unsafe_no_sandbox = unsafe_no_sandbox;
  options.artifacts = env.artifacts.get();
  options.http_transport = webapi::MakeHttpTransportFactory();
  options.hidden_paths = {data_dir};
  env.worker = std::make_unique<workers::LocalWorker>(options);
  if (!env.worker->refusal_reason().empty()) {
    return FailedPrecondition(env.worker->refusal_reason());
  }
  return env;
}

Result<std::string> ReadInputFile(const std::string& path) { return pipelines::ReadTextFile(path); }

}  // namespace baton::cli
