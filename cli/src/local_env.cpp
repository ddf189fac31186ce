#include "local_env.h"

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <mutex>

#include "baton/common/duration.h"
#include "baton/common/logging.h"
#include "baton/pipelines/loader.h"
#include "baton/workers/http_transport.h"

namespace baton::cli {

void LocalFlags::AddTo(CLI::App* cmd) {
  cmd->add_option("--data-dir", data_dir,
                  "Where history, artifacts and caches live (default $BATON_DATA_DIR or "
                  "~/.local/share/baton)");
  cmd->add_flag("--unsafe-no-sandbox", unsafe_no_sandbox,
                "Run tasks without namespaces when no sandbox can be built (unsafe)");
  cmd->add_option("--task-id-range", task_id_range,
                  "Host user/group ids that unprivileged tasks' ids 0.. map to, as FIRST:COUNT "
                  "(default 100000:65536, as /etc/subuid)");
  cmd->add_option("--mask-path", mask_paths,
                  "A host path tasks must not see, e.g. another Baton's data dir or a token file "
                  "(repeatable; hidden even from privileged tasks)");
  cmd->add_option("--log-level", log_level, "trace, debug, info, warn, error or off");
  AddImageCacheFlags(cmd);
}

void LocalFlags::AddImageCacheFlags(CLI::App* cmd) {
  cmd->add_option("--image-cache-max-age", image_cache_max_age,
                  "Remove cached task images unused for this long, e.g. 72h (default 168h; 0: "
                  "keep at any age)");
  cmd->add_option("--image-cache-max-size", image_cache_max_size,
                  "Keep the cached task images within this size, least recently used go first, "
                  "e.g. 20GB (default 0: no limit)")
      ->transform(CLI::AsSizeValue(false));
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

namespace {

// "100000:65536" -> {100000, 65536}; every part must be a plain decimal number.
Status ParseIdRange(const std::string& text, workers::LocalWorkerOptions& options) {
  auto number = [](std::string_view s, uint32_t* out) {
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
    return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
  };
  size_t colon = text.find(':');
  std::string_view all(text);
  if (colon == std::string::npos || !number(all.substr(0, colon), &options.userns_host_id) ||
      !number(all.substr(colon + 1), &options.userns_size) || options.userns_host_id == 0 ||
      options.userns_size == 0) {
    return InvalidArgument("--task-id-range '" + text +
                           "' is not FIRST:COUNT with both above 0; use e.g. 100000:65536");
  }
  // The last id of the range is FIRST + COUNT - 1, and host ids end at 4294967294 (the kernel
  // keeps 4294967295 as "no id").
  if (uint64_t{options.userns_host_id} + options.userns_size > 4294967295ull) {
    return InvalidArgument(
        "--task-id-range '" + text + "' ends at host id " +
        std::to_string(uint64_t{options.userns_host_id} + options.userns_size - 1) +
        ", past the last one (4294967294); use a lower FIRST or a smaller "
        "COUNT, e.g. 100000:65536");
  }
  return Status::Ok();
}

// The data dir's artifact store, its directories made by the first call (see
// LocalWorkerStart::artifacts_on_first_use). Thread-safety: as ArtifactStore's.
class ArtifactStoreOnFirstUse : public workers::ArtifactStore {
 public:
  explicit ArtifactStoreOnFirstUse(std::string root) : root_(std::move(root)) {}

  Result<workers::ArtifactVersion> Put(const std::string& resource_key,
                                       const std::string& dir) override {
    BATON_ASSIGN_OR_RETURN(workers::ArtifactStore * store, Store());
    return store->Put(resource_key, dir);
  }
  Status Restore(const std::string& digest, const std::string& dir) override {
    BATON_ASSIGN_OR_RETURN(workers::ArtifactStore * store, Store());
    return store->Restore(digest, dir);
  }
  Result<std::vector<workers::ArtifactVersion>> List(const std::string& resource_key) override {
    BATON_ASSIGN_OR_RETURN(workers::ArtifactStore * store, Store());
    return store->List(resource_key);
  }
  Result<std::vector<workers::ArtifactEntry>> Entries(const std::string& digest) override {
    BATON_ASSIGN_OR_RETURN(workers::ArtifactStore * store, Store());
    return store->Entries(digest);
  }
  Result<std::string> ReadFile(const std::string& digest, const std::string& path) override {
    BATON_ASSIGN_OR_RETURN(workers::ArtifactStore * store, Store());
    return store->ReadFile(digest, path);
  }
  Result<FilePart> ReadFilePart(const std::string& digest, const std::string& path, uint64_t offset,
                                uint64_t length) override {
    BATON_ASSIGN_OR_RETURN(workers::ArtifactStore * store, Store());
    return store->ReadFilePart(digest, path, offset, length);
  }
  Result<workers::PruneStats> Prune(const std::string& resource_key, size_t keep_last) override {
    BATON_ASSIGN_OR_RETURN(workers::ArtifactStore * store, Store());
    return store->Prune(resource_key, keep_last);
  }

 private:
  Result<workers::ArtifactStore*> Store() {
    std::call_once(opened_, [&] {
      auto opened = workers::OpenLocalArtifactStore(root_);
      if (opened.ok()) {
        store_ = std::move(*opened);
      } else {
        error_ = opened.status();
      }
    });
    if (!store_) return error_;
    return store_.get();
  }

  const std::string root_;
  std::once_flag opened_;
  std::unique_ptr<workers::ArtifactStore> store_;  // written once, under opened_
  Status error_;                                   // written once, under opened_
};

}  // namespace

Status PrepareDataDir(const std::string& data_dir) {
  std::error_code ec;
  bool fresh = !std::filesystem::exists(data_dir, ec);
  std::filesystem::create_directories(data_dir, ec);
  if (ec) return IoError("cannot create data dir " + data_dir + ": " + ec.message());
  // A data dir Baton makes is its own (the admin token, history, artifacts, images); one the
  // user made keeps its mode, while the worker and artifact dirs inside are made private.
  if (fresh) {
    std::filesystem::permissions(data_dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
    if (ec) return IoError("cannot make data dir " + data_dir + " private: " + ec.message());
  }
  return Status::Ok();
}

Result<LocalWorkerEnv> StartLocalWorker(const std::string& data_dir, const LocalFlags& flags,
                                        const LocalWorkerStart& start) {
  std::error_code ec;
  LocalWorkerEnv env;
  if (start.artifacts_on_first_use) {
    env.artifacts = std::make_unique<ArtifactStoreOnFirstUse>(data_dir + "/artifacts");
  } else {
    BATON_ASSIGN_OR_RETURN(env.artifacts, workers::OpenLocalArtifactStore(data_dir + "/artifacts"));
  }
  workers::LocalWorkerOptions options;
  options.data_dir = data_dir + "/worker";
  options.unsafe_no_sandbox = flags.unsafe_no_sandbox;
  BATON_RETURN_IF_ERROR(ParseIdRange(flags.task_id_range, options));
  Result<Duration> max_age = flags.image_cache_max_age == "0"
                                 ? Result<Duration>(Duration(0))
                                 : ParseDuration(flags.image_cache_max_age);
  if (!max_age.ok() || max_age->count() < 0) {
    return InvalidArgument("--image-cache-max-age '" + flags.image_cache_max_age +
                           "' is not a duration; use e.g. 72h or 30m (0 keeps images at any age)");
  }
  options.image_cache_max_age = std::chrono::duration_cast<std::chrono::seconds>(*max_age);
  options.image_cache_max_bytes = flags.image_cache_max_size;
  options.http_transport = workers::MakeHttpTransportFactory();
  options.prepare_networks = start.prepare_networks;
  options.artifacts = env.artifacts.get();
  options.networks_ahead = start.networks_ahead;
  options.max_tasks = start.max_tasks;
  options.hidden_paths = {data_dir};
  for (const auto& path : flags.mask_paths) {
    options.hidden_paths.push_back(std::filesystem::absolute(path, ec).lexically_normal().string());
  }
  env.worker = std::make_unique<workers::LocalWorker>(options);
  if (start.await_sandbox) BATON_RETURN_IF_ERROR(WorkerRefusal(env));
  return env;
}

Status WorkerRefusal(const LocalWorkerEnv& env) {
  if (env.worker->refusal_reason().empty()) return Status::Ok();
  return FailedPrecondition(env.worker->refusal_reason());
}

Result<LocalWorkerEnv*> StartingWorker::Env() const {
  std::call_once(started_, [&] { env_.emplace(starting_.get()); });
  if (!env_->ok()) return env_->status();
  return &**env_;
}

std::string StartingWorker::name() const {
  auto env = Env();
  return env.ok() ? (*env)->worker->name() : "local";
}

workers::IsolationLevel StartingWorker::isolation() const {
  auto env = Env();
  return env.ok() ? (*env)->worker->isolation() : workers::IsolationLevel::kNone;
}

namespace {
// A step that never started: nothing to cancel.
class NotStarted : public workers::StepHandle {
 public:
  void Cancel(Duration) override {}
};

// A step of a worker that did not start: `done` told why at once.
template <typename StepResult>
std::unique_ptr<workers::StepHandle> NotStartedStep(const Status& why,
                                                    const std::function<void(StepResult)>& done) {
  StepResult result;
  result.error = why;
  done(std::move(result));
  return std::make_unique<NotStarted>();
}
}  // namespace

std::unique_ptr<workers::StepHandle> StartingWorker::RunTask(
    const workers::TaskRun& run, std::shared_ptr<workers::OutputSink> output,
    std::function<void(workers::TaskResult)> done) {
  auto env = Env();
  if (!env.ok()) return NotStartedStep(env.status(), done);
  workers::LocalWorker* worker = (*env)->worker.get();
  return worker->RunTask(
      run, std::move(output), [this, worker, done = std::move(done)](workers::TaskResult result) {
        // The task waited for the probe's answer: refusal_reason() does not wait here.
        if (!result.error.ok() && !worker->refusal_reason().empty() && on_refusal_) {
          std::call_once(refused_, on_refusal_);
        }
        done(std::move(result));
      });
}

std::unique_ptr<workers::StepHandle> StartingWorker::RunResource(
    const workers::ResourceRun& run, std::shared_ptr<workers::OutputSink> output,
    std::function<void(workers::ResourceResult)> done) {
  auto env = Env();
  if (!env.ok()) return NotStartedStep(env.status(), done);
  return (*env)->worker->RunResource(run, std::move(output), std::move(done));
}

Result<std::string> ReadInputFile(const std::string& path) { return pipelines::ReadTextFile(path); }

}  // namespace baton::cli
