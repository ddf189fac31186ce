// Resource types: check / get (in) / put (out) for one kind of resource, in Concourse's
// protocol terms. Built-in types (git, time, mock, artifact, cf) run in-process; custom
// `resource_types` run their /opt/resource/{check,in,out} executables in a sandbox through
// ResourceContext::run_process.
//
// Implementations are stateless apart from caches under ResourceContext::cache_dir, and may be
// called from any thread (one action per call; calls for the same resource may be concurrent).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "baton/common/clock.h"
#include "baton/common/status.h"
#include "baton/workers/http_transport.h"
#include "baton/workers/output.h"
#include "baton/workers/worker.h"

namespace baton::workers {

class ArtifactStore;

struct ResourceContext {
  OutputSink* output = nullptr;                  // log lines for the step; never null
  const std::atomic<bool>* cancelled = nullptr;  // poll in long loops; may be null
  std::string cache_dir;               // persistent per-resource cache (e.g. a git bare mirror)
  ArtifactStore* artifacts = nullptr;  // for the `artifact` type
  const Clock* clock = nullptr;        // for the `time` type
  // Runs a process in a sandbox synchronously (custom types). Returns the result; stdout is
  // captured into TaskResult::stdout_data when run.capture_stdout is set.
  std::function<TaskResult(const TaskRun&)> run_process;
  std::map<std::string, std::string> env;  // build metadata (BUILD_ID, ...)
  // The worker's image cache (<data_dir>/images), set only for a get whose result is a task's
  // image; "" otherwise (the get then writes a plain directory).
  std::string image_cache_dir;
  // Makes HTTP(S) transports (the `cf` type); null when the composition root gave none.
  const HttpTransportFactory* http_transport = nullptr;
};

struct FetchedVersion {
  Json version;
  std::vector<MetadataField> metadata;
};

class ResourceType {
 public:
  virtual ~ResourceType() = default;
  // Versions newer than `from` (null = latest only), oldest first; includes `from` if it still
  // exists, as Concourse's check does.
  virtual Result<std::vector<Json>> Check(const ResourceContext& ctx, const Json& source,
                                          const Json& from) = 0;
  // Fetches `version` into the empty directory `dir`.
  virtual Result<FetchedVersion> Get(const ResourceContext& ctx, const Json& source,
                                     const Json& version, const Json& params,
                                     const std::string& dir) = 0;
  // Pushes from `dir` (one sub-directory per artifact of the build).
  virtual Result<FetchedVersion> Put(const ResourceContext& ctx, const Json& source,
                                     const Json& params, const std::string& dir) = 0;
};

// The built-in type named `name` ("git", "time", "mock", "artifact", ...), or null.
std::unique_ptr<ResourceType> MakeBuiltinResourceType(const std::string& name);
// Names of every built-in type, for validation and `baton workers`.
std::vector<std::string> BuiltinResourceTypeNames();

// A type that speaks Concourse's resource protocol through /opt/resource/{check,in,out} inside
// `rootfs` (run via ctx.run_process).
std::unique_ptr<ResourceType> MakeProtocolResourceType(RootfsSpec rootfs, bool privileged);

}  // namespace baton::workers
