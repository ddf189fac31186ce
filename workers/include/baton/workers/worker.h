// Worker: runs steps (task processes and resource actions) on a machine, streams their output
// and reports results. The build engine decides what to run; a Worker does it.
//
// The local worker runs in-process; remote workers implement the same interface over the API.
// Thread-safety: all methods may be called from any thread; completion callbacks are invoked on
// the worker's own threads (callers post them to their own loop).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "baton/common/duration.h"
#include "baton/common/json.h"
#include "baton/common/metadata_field.h"
#include "baton/common/status.h"
#include "baton/workers/output.h"

namespace baton::workers {

// A host directory made visible inside the sandbox.
struct VolumeMount {
  std::string host_path;     // absolute, must exist
  std::string sandbox_path;  // absolute path inside the sandbox, or relative to the work dir
  bool writable = true;
};

struct Limits {
  std::optional<int64_t> memory_bytes;
  std::optional<int64_t> cpu_shares;  // Concourse semantics: relative weight (1024 = one CPU)
  std::optional<int64_t> max_pids;    // default applied by the worker when unset
};

// Where the task's root filesystem comes from: the host's '/' (read-only), a rootfs directory
// on the worker, or a registry image that the worker running the task serves from its own image
// cache, pulling it there first if it lacks it (so a task's image never names a path on another
// machine). Workers turn kImage into kDirectory before the sandbox sees it.
struct RootfsSpec {
  enum class Kind { kHost, kDirectory, kImage };
  Kind kind = Kind::kHost;
  std::string path;               // kDirectory only
  Json image_source = nullptr;    // kImage only: the image's registry-image `source`
  std::string image_digest = "";  // kImage only: "sha256:..." (a manifest or an index)
};

// Which workers may run a step, as Concourse places work: a worker with every tag in `tags`
// (an untagged step: an untagged worker only), and of `team` or of no team. A worker started
// with --team takes only that team's work. The in-process worker runs everything.
struct WorkerSpec {
  std::vector<std::string> tags;  // the step's `tags:` (a get/put: else its resource's)
  std::string team;               // the build's team ("" = none named)
  // The build's job is `interruptible: true`: a worker that lands or retires does not wait for
  // this step but stops it (the step errors, naming the worker; `attempts:` runs it elsewhere).
  bool interruptible = false;
};

// One process to run in a sandbox.
struct TaskRun {
  std::string id;    // unique, for logs and cgroup names ("b42-s3-a1")
  std::string path;  // run.path, resolved inside the sandbox (relative to dir, or $PATH)
  std::vector<std::string> args;
  std::string dir;   // working dir inside the sandbox (relative to the work dir ok)
  std::string user;  // "" = root inside the sandbox
  std::map<std::string, std::string> env;
  RootfsSpec rootfs;
  // The build's work directory: bind-mounted read-write at `work_mount` (default
  // /tmp/build/<id>), it contains or receives inputs/outputs/caches as `mounts`.
  std::string work_dir;
  std::string work_mount;
  std::vector<VolumeMount> mounts;
  bool network = true;  // false: new network namespace with only loopback (hermetic)
  // Tasks that may use one network one after another (the build's team and pipeline): a network
  // a task of this scope left as new may serve the next (docs/security.md#network). Empty: the
  // task's network is its own.
  std::string network_scope;
  bool privileged = false;
  Limits limits;
  std::string hostname;
  std::optional<std::string> stdin_data;  // written to stdin, then closed; none = /dev/null
  bool capture_stdout = false;            // stdout goes to TaskResult::stdout_data, not the sink
  WorkerSpec placement;
};

struct TaskResult {
  int exit_code = -1;  // process exit status; 128+N when killed by signal N
  bool oom_killed = false;
  Status error;  // not OK: Baton/environment failure (-> build errored)
  Duration elapsed{0};
  std::string stdout_data;  // only with TaskRun::capture_stdout (bounded to 16 MiB)
  // The last lines of stderr (at most 4 KiB; stderr still goes to the sink), so callers such as
  // resource scripts can say why a process failed.
  std::string stderr_tail;
};

// A resource action (check / get / put) for a resource type.
struct ResourceRun {
  enum class Action { kCheck, kGet, kPut };
  std::string id;
  Action action = Action::kCheck;
  std::string type;  // "git", "time", "mock", "artifact", "cf", or a custom type
  // For custom resource types: the rootfs of the type's image (with /opt/resource/{check,in,out}).
  std::optional<RootfsSpec> custom_type_rootfs;
  // Or, for a custom type whose image is a registry image: that image's registry-image `source`,
  // which the worker pulls (through its image cache) to run the type on. Null when none.
  Json custom_type_image;
  // How long a digest the worker found for custom_type_image stays good (the type's
  // `check_every`, 1m by default as on Concourse): a step within it runs the image found then
  // without asking the registry again. nullopt (`never`): found once, then kept.
  std::optional<Duration> custom_type_check_every = std::chrono::minutes(1);
  Json source = Json::object();
  Json version;  // check: last known version (null = none); get: the version
  Json params = Json::object();
  // get: the (empty) directory to fill. put: the directory holding the build's artifacts, one
  // sub-directory per artifact name (the cwd of `out`).
  std::string dir;
  // Build metadata, exported to resource scripts as BUILD_* environment variables.
  std::map<std::string, std::string> env;
  bool privileged = false;
  // get: the result is a task's image (image_resource), which the worker may serve from its
  // image cache (registry-image: rootfs/ then links to the cached, read-only root).
  bool for_image = false;
  WorkerSpec placement;
};

struct ResourceResult {
  Status error;                // not OK -> the step errored, with this message
  std::vector<Json> versions;  // check: new versions, oldest first
  Json version;                // get/put: the version fetched or created
  std::vector<MetadataField> metadata;
};

// Lets a caller cancel a running step. Destroying the handle does not cancel.
class StepHandle {
 public:
  virtual ~StepHandle() = default;
  // Asks the step to stop: SIGTERM to the whole process tree, SIGKILL after `grace`.
  // The completion callback still fires (with exit 128+signal or a Cancelled error).
  virtual void Cancel(Duration grace = std::chrono::seconds(10)) = 0;
};

enum class IsolationLevel { kNamespaces, kNone };
const char* ToString(IsolationLevel level);

class Worker {
 public:
  virtual ~Worker() = default;
  virtual std::string name() const = 0;
  virtual IsolationLevel isolation() const = 0;

  // Starts a task process. `done` is called exactly once.
  virtual std::unique_ptr<StepHandle> RunTask(const TaskRun& run,
                                              std::shared_ptr<OutputSink> output,
                                              std::function<void(TaskResult)> done) = 0;

  // Starts a resource action. `done` is called exactly once.
  virtual std::unique_ptr<StepHandle> RunResource(const ResourceRun& run,
                                                  std::shared_ptr<OutputSink> output,
                                                  std::function<void(ResourceResult)> done) = 0;
};

}  // namespace baton::workers
