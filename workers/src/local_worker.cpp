#include "baton/workers/local_worker.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <future>

#include "baton/common/logging.h"
#include "baton/workers/resource_type.h"
#include "baton/workers/task_slots.h"
#include "images/image_cache.h"
#include "resources/registry_image/registry_image_resource.h"
#include "sandbox/task_supervisor.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;

std::string Hash8(const std::string& s) {
  uint32_t h = 2166136261u;  // FNV-1a: stable across builds and machines
  for (unsigned char c : s) h = (h ^ c) * 16777619u;
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return buf;
}

// A readable, collision-free directory name for `s`.
std::string Slug(const std::string& s) {
  std::string out;
  for (char c : s) {
    bool ok = isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    out += ok ? c : '_';
  }
  if (out.size() > 60) out.resize(60);
  return out + "-" + Hash8(s);
}

std::string DefaultDataDir() {
  return (fs::temp_directory_path() / ("baton-worker-" + std::to_string(::getuid()))).string();
}

class Handle : public StepHandle {
 public:
  explicit Handle(std::function<void(Duration)> cancel) : cancel_(std::move(cancel)) {}
  void Cancel(Duration grace) override { cancel_(grace); }

 private:
  std::function<void(Duration)> cancel_;
};

}  // namespace

class LocalWorker::Execution {
 public:
  void Cancel(Duration grace) {
    std::lock_guard lock(mu_);
    cancelled_ = true;
    grace_ = grace;
    if (current_) current_->Cancel(grace);
  }
  // The supervisor now running for this step (null: none). A pending cancel applies at once.
  void SetCurrent(TaskSupervisor* supervisor) {
    std::lock_guard lock(mu_);
    current_ = supervisor;
    if (current_ && cancelled_) current_->Cancel(grace_);
  }
  bool cancelled() const { return cancelled_.load(); }
  const std::atomic<bool>* cancelled_flag() const { return &cancelled_; }
  // A finished task's groups, given back or removed once the step's result is reported (on W1's
  // chain that was ~0.1 ms of reads between a task's exit and the next job's start). Touched by
  // the step's thread only.
  void ReleaseAfterReport(std::unique_ptr<TaskCgroup> cgroup) {
    if (cgroup) after_report_.push_back(std::move(cgroup));
  }
  void Reported() { after_report_.clear(); }

 private:
  std::mutex mu_;
  std::atomic<bool> cancelled_{false};
  Duration grace_{0};                  // GUARDED_BY(mu_)
  TaskSupervisor* current_ = nullptr;  // GUARDED_BY(mu_)
  std::vector<std::unique_ptr<TaskCgroup>> after_report_;
};

// Enough waiting threads for a pipeline's parallel steps; a quiet worker keeps none for long.
constexpr size_t kIdleStepThreads = 8;
constexpr auto kStepThreadIdleTimeout = std::chrono::seconds(5);

LocalWorker::LocalWorker(LocalWorkerOptions options)
    : options_(std::move(options)),
      clock_(options_.clock ? options_.clock : &RealClock()),
      threads_(std::make_unique<StepThreads>(kIdleStepThreads, kStepThreadIdleTimeout)) {
  auto log = ModuleLogger("workers");
  if (options_.data_dir.empty()) options_.data_dir = DefaultDataDir();
  std::error_code ec;
  fs::create_directories(options_.data_dir, ec);
  options_.data_dir = fs::absolute(options_.data_dir, ec).string();
  // The worker's own dir holds unpacked images (setuid programs and device nodes owned by root,
  // as the layers say), resource caches and build dirs: only its owner may look inside. Tasks
  // reach their part through mounts the worker makes as root. (Without a sandbox a task with a
  // `user` is that host user and must reach its work dir through the path: the mode stays.)
  if (!options_.unsafe_no_sandbox) {
    fs::permissions(options_.data_dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  if (ec) {
    log->warn("worker {}: cannot make {} private (mode 0700): {}", options_.name, options_.data_dir,
              ec.message());
  }
  task_slots_ = std::make_shared<TaskSlots>(options_.max_tasks);
  // First: the sandbox's probe is the longest part of a worker's start, and needs none of the rest.
  if (!options_.unsafe_no_sandbox) StartSandbox();
  ImageCacheLimits limits;
  limits.max_age = options_.image_cache_max_age;
  limits.max_bytes = options_.image_cache_max_bytes;
  images_ = std::make_unique<ImageCache>(options_.data_dir + "/images", limits);
  CollectImages();  // what aged out while the worker was down
  cgroups_ = DetectCgroups();
  if (cgroups_.any()) {
    cgroups_.pool = std::make_shared<CgroupPool>();  // a task's groups serve the next task
    RemoveAbandonedGroups(cgroups_);                 // what workers killed before their end left
    log->info("worker {}: cgroups: {}", options_.name, cgroups_.Describe());
  } else {
    log->warn(
        "worker {}: cgroups are unavailable; container limits are not enforced and "
        "aborting relies on process-group kill only",
        options_.name);
  }
  if (options_.unsafe_no_sandbox) {
    sandbox_ = MakeUnsandboxedLauncher();
    log->warn(
        "worker {}: RUNNING TASKS WITHOUT A SANDBOX (--unsafe-no-sandbox): every task can "
        "read and change this machine as user {}",
        options_.name, ::geteuid());
  }
}

void LocalWorker::StartSandbox() {
  if (::geteuid() != 0) {  // no sandbox to build: the answer is known now
    Refuse("namespaces and mounts need root (running as uid " + std::to_string(::geteuid()) + ")");
    return;
  }
  SandboxOptions so;
  so.state_dir = options_.data_dir + "/sandbox";
  so.hidden_paths = options_.hidden_paths;
  so.hidden_paths.push_back(options_.data_dir);
  so.userns_host_id = options_.userns_host_id;
  so.userns_size = options_.userns_size;
  so.idmapped_mounts = options_.idmapped_mounts;
  so.writable_image_roots = options_.writable_image_roots;
  so.prepare_networks = options_.prepare_networks;
  so.networks_ahead = options_.networks_ahead;
  so.spare_sandboxes = options_.spare_sandboxes;
  // The sandbox is built (its tasks' user namespace and shared root, 2-5 ms) and probed (a
  // sandboxed /bin/true) on a thread of its own while the worker's owner goes on (`baton run`
  // opens its store, plans, checks and fetches meanwhile: the worker's resource steps need no
  // sandbox); whoever needs the answer first (a task, isolation(), refusal_reason()) waits for
  // it, so no task starts before the probe said yes. Built here, before that thread, the first
  // network's thread started one thread start sooner, but the worker was ready for its first
  // check 2-5 ms later: W1 0.98, a one-job run 0.96 built there (docs/benchmarks.md).
  checking_ = std::async(std::launch::async, [this, so = std::move(so)]() mutable {
    std::unique_ptr<Sandbox> sandbox;
    try {
      sandbox = MakeNamespaceSandbox(std::move(so));
    } catch (const std::exception& e) {  // e.g. no memory or thread for it: no sandbox either
      Refuse(std::string("building the sandbox failed: ") + e.what());
      return;
    }
    try {
      CheckSandbox(std::move(sandbox));
    } catch (const std::exception& e) {
      sandbox_.reset();
      Refuse(std::string("probing the sandbox failed: ") + e.what());
    }
  });
}

void LocalWorker::CheckSandbox(std::unique_ptr<Sandbox> sandbox) {
  Status checked = sandbox->Check();
  if (!checked.ok()) {
    Refuse(checked.message());
    return;  // `sandbox` goes, with the networks it was making
  }
  sandbox_ = std::move(sandbox);
  // Describe() probes overlayfs (a sandbox of its own, ~2 ms): only for a log that shows it.
  // Otherwise the first task on an image finds out.
  auto log = ModuleLogger("workers");
  if (log->should_log(spdlog::level::info)) {
    log->info("worker {}: {}", options_.name, sandbox_->Describe());
  }
}

void LocalWorker::Refuse(const std::string& why) {
  refusal_ = "worker " + options_.name + " cannot sandbox tasks: " + why +
             ". Run it as root on Linux (namespaces, mount), or pass --unsafe-no-sandbox to "
             "run tasks without isolation";
  ModuleLogger("workers")->error("{}", refusal_);
}

const std::string* LocalWorker::known_refusal() const {
  if (checking_.valid() &&
      checking_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    return nullptr;
  }
  AwaitSandbox();  // returns at once; orders the probe's writes before this read
  return &refusal_;
}

void LocalWorker::AwaitSandbox() const {
  std::call_once(checked_, [this] {
    if (checking_.valid()) checking_.wait();
  });
}

LocalWorker::~LocalWorker() {
  AwaitSandbox();  // the thread building it uses this worker
  std::vector<std::shared_ptr<Execution>> running;
  {
    std::lock_guard lock(mu_);
    shutting_down_ = true;
    running = running_;
  }
  for (auto& execution : running) execution->Cancel(Duration(0));
  threads_.reset();  // waits for the (cancelled) steps and for their threads to end
}

IsolationLevel LocalWorker::isolation() const {
  AwaitSandbox();
  return sandbox_ ? sandbox_->isolation() : IsolationLevel::kNone;
}

std::string LocalWorker::CacheDir(const std::string& key, const std::string& cache_path) const {
  fs::path dir = fs::path(options_.data_dir) / "caches" / Slug(key) / Slug(cache_path);
  std::error_code ec;
  fs::create_directories(dir, ec);
  return dir.string();
}

void LocalWorker::StopNetworks() {
  AwaitSandbox();
  if (sandbox_) sandbox_->StopNetworks();
}

void LocalWorker::NoteCgroupFailure(const Status& status) {
  std::call_once(cgroup_warning_, [&] {
    ModuleLogger("workers")->warn(
        "worker {}: cannot create cgroups ({}); continuing without limits, process-group kill "
        "only",
        options_.name, status.message());
  });
}

bool LocalWorker::Launch(std::shared_ptr<Execution> execution, std::function<void()> body) {
  std::lock_guard lock(mu_);
  if (shutting_down_) return false;
  const Execution* id = execution.get();
  auto step = [this, id, body = std::move(body)] {
    body();
    std::lock_guard done(mu_);
    std::erase_if(running_, [id](const auto& e) { return e.get() == id; });
  };
  // Still under mu_: the step's end, which takes mu_, finds it in running_.
  if (!threads_->Run(std::move(step))) return false;
  running_.push_back(std::move(execution));
  return true;
}

TaskResult LocalWorker::RunTaskHere(const TaskRun& original,
                                    const std::shared_ptr<OutputSink>& output, Execution& owner) {
  TaskResult result;
  AwaitSandbox();
  if (!sandbox_) {
    result.error = FailedPrecondition(refusal_);
    return result;
  }
  TaskRun run = original;
  if (run.rootfs.kind == RootfsSpec::Kind::kImage) {  // served from this worker's image cache
    Result<RootfsSpec> root =
        CachedImage(run.rootfs.image_source, run.rootfs.image_digest, output, owner, "task image");
    if (!root.ok()) {
      result.error = root.status();
      return result;
    }
    run.rootfs = *root;
  }
  // A task (or a custom type's script) on a cached image holds it, so collection leaves it be.
  ImageCache::Hold image;
  if (run.rootfs.kind == RootfsSpec::Kind::kDirectory) {
    Result<ImageCache::Hold> held = images_->HoldPath(run.rootfs.path);
    if (!held.ok()) {
      result.error = held.status();
      return result;
    }
    image = std::move(*held);
  }
  std::string scratch;
  if (run.work_dir.empty()) {  // e.g. resource scripts: give them an empty work dir
    static std::atomic<uint64_t> counter{0};
    scratch = options_.data_dir + "/scratch/" + Slug(run.id) + "-" + std::to_string(++counter);
    std::error_code ec;
    fs::create_directories(scratch, ec);
    run.work_dir = scratch;
  }
  SupervisorContext ctx;
  ctx.sandbox = sandbox_.get();
  ctx.cgroups = cgroups_.any() ? &cgroups_ : nullptr;
  ctx.default_max_pids = options_.default_max_pids;
  ctx.clock = clock_;
  ctx.on_cgroup_failure = [this](const Status& s) { NoteCgroupFailure(s); };
  TaskSupervisor supervisor(std::move(ctx), run, output);
  owner.SetCurrent(&supervisor);
  result = supervisor.Run();
  owner.SetCurrent(nullptr);
  owner.ReleaseAfterReport(supervisor.TakeCgroup());
  if (!scratch.empty()) {
    std::error_code ec;
    fs::remove_all(scratch, ec);
  }
  if (image.holds()) {
    image = ImageCache::Hold();  // released (and its use time set) before collecting
    CollectImages();
  }
  return result;
}

void LocalWorker::CollectImages() {
  Result<ImageCacheCollection> collected = images_->Collect();
  auto log = ModuleLogger("workers");
  if (!collected.ok()) {
    log->warn("worker {}: collecting unused images: {}", options_.name,
              collected.status().ToString());
    return;
  }
  if (collected->removed.empty()) return;
  log->info("worker {}: image cache: removed {} unused image(s) ({} MB); {} MB kept", options_.name,
            collected->removed.size(), collected->freed_bytes >> 20, collected->kept_bytes >> 20);
}

std::unique_ptr<StepHandle> LocalWorker::RunTask(const TaskRun& run,
                                                 std::shared_ptr<OutputSink> output,
                                                 std::function<void(TaskResult)> done) {
  auto execution = std::make_shared<Execution>();
  auto body = [this, run, output, done, execution] {
    TaskResult result;
    {
      // Freed before the report: the next task starts while this one's ends.
      TaskSlots::Slot slot = task_slots_->Acquire(*execution->cancelled_flag());
      if (slot) {
        result = RunTaskHere(run, output, *execution);
      } else {
        result.error = Cancelled("task " + run.id + " was cancelled before it started");
      }
    }
    done(std::move(result));
    execution->Reported();
  };
  if (!Launch(execution, body)) {
    TaskResult result;
    result.error = Unavailable("worker " + options_.name + " is shutting down");
    done(std::move(result));
  }
  return std::make_unique<Handle>([execution, slots = task_slots_](Duration grace) {
    execution->Cancel(grace);
    slots->Wake();
  });
}

// A registry image's unpacked root from this worker's image cache, pulled into it on first use.
Result<RootfsSpec> LocalWorker::CachedImage(const Json& source, const std::string& digest,
                                            const std::shared_ptr<OutputSink>& output,
                                            Execution& owner, const std::string& what) {
  ResourceContext ctx;
  ctx.output = output.get();
  ctx.cancelled = owner.cancelled_flag();
  ctx.http_transport = options_.http_transport ? &options_.http_transport : nullptr;
  ctx.image_cache_dir = images_->dir();
  Result<std::string> entry = resources::CachedRegistryImage(ctx, source, digest);
  if (!entry.ok()) return Status(entry.status().code(), what + ": " + entry.status().ToString());
  return RootfsSpec{RootfsSpec::Kind::kDirectory, (fs::path(*entry) / "rootfs").string()};
}

// A custom type's registry image: its current digest (as found within the type's check_every,
// else asked of the registry now), then its root from the image cache.
Result<RootfsSpec> LocalWorker::PullTypeImage(const ResourceRun& run,
                                              const std::shared_ptr<OutputSink>& output,
                                              Execution& owner) {
  const std::string what = "resource type `" + run.type + "`: pulling its image";
  const std::string key = run.custom_type_image.dump();
  {
    std::lock_guard lock(type_digests_mu_);
    auto known = type_digests_.find(key);
    if (known != type_digests_.end() &&
        (!run.custom_type_check_every ||
         clock_->SteadyNow() - known->second.found < *run.custom_type_check_every)) {
      std::string digest = known->second.digest;
      return CachedImage(run.custom_type_image, digest, output, owner, what);
    }
  }
  ResourceContext ctx;
  ctx.output = output.get();
  ctx.cancelled = owner.cancelled_flag();
  ctx.http_transport = options_.http_transport ? &options_.http_transport : nullptr;
  std::unique_ptr<ResourceType> registry = MakeBuiltinResourceType("registry-image");
  auto versions = registry->Check(ctx, run.custom_type_image, nullptr);
  if (!versions.ok()) {  // in the message: the step's error shows the message only
    return Status(versions.status().code(), what + ": " + versions.status().ToString());
  }
  if (versions->empty()) return NotFound(what + ": the registry has no such image");
  std::string digest = versions->back().value("digest", "");
  {
    std::lock_guard lock(type_digests_mu_);
    type_digests_[key] = TypeDigest{digest, clock_->SteadyNow()};
  }
  return CachedImage(run.custom_type_image, digest, output, owner, what);
}

ResourceResult LocalWorker::RunResourceHere(const ResourceRun& run,
                                            const std::shared_ptr<OutputSink>& output,
                                            Execution& owner) {
  ResourceResult out;
  std::optional<RootfsSpec> rootfs = run.custom_type_rootfs;
  if (!rootfs && !run.custom_type_image.is_null()) {
    Result<RootfsSpec> pulled = PullTypeImage(run, output, owner);
    if (!pulled.ok()) {
      out.error = pulled.status();
      return out;
    }
    rootfs = *pulled;
  }
  std::unique_ptr<ResourceType> type = rootfs ? MakeProtocolResourceType(*rootfs, run.privileged)
                                              : MakeBuiltinResourceType(run.type);
  if (!type) {
    out.error = NotFound("unknown resource type '" + run.type + "'");
    return out;
  }
  ResourceContext ctx;
  ctx.output = output.get();
  ctx.cancelled = owner.cancelled_flag();
  ctx.cache_dir = options_.data_dir + "/resources/" + Slug(run.type + " " + run.source.dump());
  std::error_code ec;
  fs::create_directories(ctx.cache_dir, ec);
  if (run.for_image && run.action == ResourceRun::Action::kGet) {
    ctx.image_cache_dir = images_->dir();
  }
  ctx.artifacts = options_.artifacts;
  ctx.http_transport = options_.http_transport ? &options_.http_transport : nullptr;
  ctx.clock = clock_;
  ctx.env = run.env;
  ctx.run_process = [&](const TaskRun& task) { return RunTaskHere(task, output, owner); };
  try {
    switch (run.action) {
      case ResourceRun::Action::kCheck: {
        auto versions = type->Check(ctx, run.source, run.version);
        if (versions.ok()) out.versions = std::move(*versions);
        out.error = versions.status();
        break;
      }
      case ResourceRun::Action::kGet:
      case ResourceRun::Action::kPut: {
        auto fetched = run.action == ResourceRun::Action::kGet
                           ? type->Get(ctx, run.source, run.version, run.params, run.dir)
                           : type->Put(ctx, run.source, run.params, run.dir);
        if (fetched.ok()) {
          out.version = fetched->version;
          out.metadata = fetched->metadata;
        }
        out.error = fetched.status();
        break;
      }
    }
  } catch (const std::exception& e) {
    out.error = Internal("resource type '" + run.type + "' failed: " + e.what());
  }
  if (owner.cancelled()) out.error = Cancelled("resource step " + run.id + " was cancelled");
  if (!ctx.image_cache_dir.empty()) CollectImages();  // it may have added an image
  return out;
}

std::unique_ptr<StepHandle> LocalWorker::RunResource(const ResourceRun& run,
                                                     std::shared_ptr<OutputSink> output,
                                                     std::function<void(ResourceResult)> done) {
  auto execution = std::make_shared<Execution>();
  auto body = [this, run, output, done, execution] {
    done(RunResourceHere(run, output, *execution));
    execution->Reported();
  };
  if (!Launch(execution, body)) {
    ResourceResult result;
    result.error = Unavailable("worker " + options_.name + " is shutting down");
    done(std::move(result));
  }
  return std::make_unique<Handle>([execution](Duration grace) { execution->Cancel(grace); });
}

}  // namespace baton::workers
