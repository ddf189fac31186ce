// BuildExecutor: turning RunTask / RunGet / RunPut into worker calls, and output into logs.
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <span>
#include <system_error>
#include <vector>

#include "baton/common/path_beneath.h"
#include "baton/common/strings.h"
#include "baton/pipelines/loader.h"
#include "baton/runner/resource_types.h"
#include "executor/executor_impl.h"

namespace baton::runner {
namespace fs = std::filesystem;

namespace {

// Output nobody reads: a task's image fetch (its errors come back in the result).
class QuietSink : public workers::OutputSink {
 public:
  void OnLine(SystemTime, workers::OutputStream, std::string_view) override {}
};

// Hands a step's output to the executor's thread, a batch per post. Output waiting there is
// bounded: a worker thread that gets ahead by more than kMaxPendingBytes waits, so a task
// printing faster than the build log is written is slowed down instead of growing memory.
// Consecutive lines of one stream and time (one read of the task's output) travel as one run,
// their text joined by '\n', up to kMaxRunBytes: each run becomes one `log` event (issue 16,
// W4: the per-line work between the worker and the store was most of a long log's cost).
class StepSink : public workers::OutputSink {
 public:
  StepSink(std::weak_ptr<BuildExecutor::Impl> impl, boost::asio::io_context& io, StepInfo step)
      : impl_(std::move(impl)), io_(io), step_(std::move(step)) {}

  void OnLine(SystemTime time, workers::OutputStream stream, std::string_view line) override {
    workers::OutputLine one{time, stream, line};
    OnLines(std::span<const workers::OutputLine>(&one, 1));
  }

  void OnLines(std::span<const workers::OutputLine> lines) override {
    std::vector<LogLine> batch = Runs(lines);
    size_t bytes = 0;
    for (const LogLine& run : batch) bytes += run.text.size() + sizeof(LogLine);
    WaitForRoom(bytes);
    boost::asio::post(io_, [impl = impl_, step = step_, batch = std::move(batch), bytes,
                            pending = pending_]() mutable {
      // The observers may take the texts (BuildRecorder moves them into the store).
      if (auto self = impl.lock()) self->LogLines(step, batch);
      pending->Release(bytes);
    });
  }

 private:
  static constexpr size_t kMaxPendingBytes = 4u << 20;
  // A run is at most one pipe read (64 KiB), so a stored event stays within one chunk.
  static constexpr size_t kMaxRunBytes = 64u << 10;

  // The bytes waiting on the executor's thread.
  struct Pending {
    std::mutex mu;
    std::condition_variable room;
    size_t bytes = 0;  // GUARDED_BY(mu)
    void Release(size_t n) {
      {
        std::lock_guard lock(mu);
        bytes -= n;
      }
      room.notify_all();
    }
  };

  void WaitForRoom(size_t n) {
    std::unique_lock lock(pending_->mu);
    // Never wait on the executor's own thread: it is the one that makes room.
    if (!io_.get_executor().running_in_this_thread() && !io_.stopped()) {
      pending_->room.wait_for(lock, std::chrono::seconds(5), [&] {
        return pending_->bytes == 0 || pending_->bytes + n <= kMaxPendingBytes || io_.stopped();
      });
    }
    pending_->bytes += n;
  }

  // Groups consecutive lines of one stream and time (up to kMaxRunBytes) into runs. Lines that
  // lie back to back in the worker's read buffer, one '\n' apart, as LineSplitter hands them,
  // are copied as one piece rather than line by line.
  static std::vector<LogLine> Runs(std::span<const workers::OutputLine> lines) {
    std::vector<LogLine> runs;
    for (size_t first = 0; first < lines.size();) {
      size_t last = first + 1, bytes = lines[first].text.size();
      while (last < lines.size() && lines[last].stream == lines[first].stream &&
             lines[last].time == lines[first].time &&
             bytes + 1 + lines[last].text.size() <= kMaxRunBytes) {
        bytes += 1 + lines[last++].text.size();
      }
      runs.push_back({lines[first].stream, lines[first].time, {}});
      Join(lines.subspan(first, last - first), bytes, runs.back().text);
      first = last;
    }
    return runs;
  }

  static void Join(std::span<const workers::OutputLine> lines, size_t bytes, std::string& text) {
    text.reserve(bytes);
    for (size_t i = 0; i < lines.size();) {
      const char* begin = lines[i].text.data();
      const char* end = begin + lines[i].text.size();
      size_t next = i + 1;
      for (; next < lines.size() && lines[next].text.data() == end + 1 && *end == '\n'; ++next) {
        end = lines[next].text.data() + lines[next].text.size();
      }
      if (i > 0) text += '\n';
      text.append(begin, end);
      i = next;
    }
  }

  std::weak_ptr<BuildExecutor::Impl> impl_;
  boost::asio::io_context& io_;
  StepInfo step_;
  std::shared_ptr<Pending> pending_ = std::make_shared<Pending>();
};

std::string EnvValue(const Json& value) {
  return value.is_string() ? value.get<std::string>() : value.dump();
}

std::string Sanitize(std::string s) {
  for (char& c : s) {
    if (c == '/' || c == '.' || c == ' ') c = '_';
  }
  return s;
}

ActionResult FromTaskResult(const workers::TaskResult& result) {
  if (!result.error.ok()) return ActionResult::Errored(result.error.message());
  if (result.exit_code == 0) return ActionResult::Succeeded();
  ActionResult r = ActionResult::Failed(result.exit_code);
  if (result.oom_killed) r.message = "killed: out of memory";
  return r;
}

}  // namespace

std::shared_ptr<workers::OutputSink> BuildExecutor::Impl::SinkFor(const StepInfo& step) {
  return std::make_shared<StepSink>(weak_from_this(), io_, step);
}

void BuildExecutor::Impl::Log(const StepInfo& step, workers::OutputStream stream, SystemTime time,
                              std::string_view line) {
  observer_.OnLog(Shown(step), stream, time, Redact(line));
}

void BuildExecutor::Impl::LogLines(const StepInfo& step, std::span<LogLine> lines) {
  if (!redactor_.empty()) {
    for (LogLine& line : lines) line.text = Redact(line.text);
  }
  observer_.OnLogs(Shown(step), lines);
}

std::shared_ptr<workers::OutputSink> BuildExecutor::Impl::GetSink(const RunGet& get) {
  if (get.for_image) return std::make_shared<QuietSink>();
  return SinkFor(get.step);
}

Status BuildExecutor::Impl::ResolveType(const std::string& type, workers::ResourceRun& run) const {
  return ResolveResourceType(engine_.resource_types(), type, run);
}

std::map<std::string, std::string> BuildExecutor::Impl::MetadataEnv() const {
  const BuildMetadata& m = options_.metadata;
  return {{"BUILD_ID", m.id},          {"BUILD_NAME", m.name},
          {"BUILD_JOB_NAME", m.job},   {"BUILD_PIPELINE_NAME", m.pipeline},
          {"BUILD_TEAM_NAME", m.team}, {"ATC_EXTERNAL_URL", m.external_url}};
}

Result<workers::RootfsSpec> BuildExecutor::Impl::ResolveImage(const RunTask& run) const {
  workers::RootfsSpec host;
  if (run.image) {
    // What made the artifact, through the resource types (a custom type may be a mirror_self
    // mock, or a chain ending in one): a mock fetched with mirror_self is the worker's own root.
    const ArtifactOrigin& origin = run.image_origin;
    workers::ResourceRun made;
    made.source = origin.source;
    bool builtin = !origin.type.empty() && ResolveType(origin.type, made).ok() &&
                   !made.custom_type_rootfs && made.custom_type_image.is_null();
    if (builtin && made.type == "mock" && made.source.is_object() &&
        made.source.value("mirror_self", false)) {
      return host;
    }
    // An image_resource from a registry: the worker that runs the task serves it from its own
    // image cache (pulling it there if the get ran elsewhere), as Concourse fetches a task's
    // image onto the task's worker; the get's rootfs/ links into the cache of the worker that
    // ran the get, which may be another machine.
    if (builtin && run.config.image_resource &&
        (made.type == "registry-image" || made.type == "docker-image")) {
      auto digest = pipelines::ReadTextFile((fs::path(VolumePath(*run.image)) / "digest").string());
      std::string text = digest.ok() ? *digest : "";
      text.erase(text.find_last_not_of(" \n\r\t") + 1);
      if (text.rfind("sha256:", 0) == 0) {
        return workers::RootfsSpec{workers::RootfsSpec::Kind::kImage, "", made.source, text};
      }
    }
    fs::path rootfs = fs::path(VolumePath(*run.image)) / "rootfs";
    if (!fs::is_directory(rootfs)) {
      return FailedPrecondition("image artifact has no rootfs/ directory (" + rootfs.string() +
                                ")");
    }
    // A cached image's rootfs/ is a link to the worker's image cache: mount the real directory.
    std::error_code ec;
    fs::path real = fs::canonical(rootfs, ec);
    return workers::RootfsSpec{workers::RootfsSpec::Kind::kDirectory,
                               ec ? rootfs.string() : real.string()};
  }
  if (!run.config.image_resource) return host;
  const pipelines::ImageResource& image = *run.config.image_resource;
  if (image.type == "mock" && image.source.value("mirror_self", false)) return host;
  if (image.type == "rootfs") {
    std::string path = image.source.value("path", "");
    if (path.empty() || !fs::is_directory(path)) {
      return FailedPrecondition("rootfs image: source.path '" + path + "' is not a directory");
    }
    return workers::RootfsSpec{workers::RootfsSpec::Kind::kDirectory, path};
  }
  return FailedPrecondition("image type " + image.type + " not supported yet");
}

Json BuildExecutor::Impl::ImageMetadata(const RunTask& run) const {
  if (!run.image) return Json();
  auto text =
      pipelines::ReadTextFile((fs::path(VolumePath(*run.image)) / "metadata.json").string());
  if (!text.ok()) return Json();
  return Json::parse(*text, nullptr, /*allow_exceptions=*/false);
}

std::map<std::string, std::string> BuildExecutor::Impl::ImageEnv(const Json& meta) const {
  std::map<std::string, std::string> env;
  if (!meta.is_object() || !meta.contains("env") || !meta["env"].is_array()) return env;
  for (const Json& entry : meta["env"]) {
    if (!entry.is_string()) continue;
    const std::string& kv = entry.get_ref<const std::string&>();
    size_t eq = kv.find('=');
    if (eq != std::string::npos && eq > 0) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return env;
}

Result<workers::TaskRun> BuildExecutor::Impl::MakeTaskRun(const RunTask& run) {
  workers::TaskRun task;
  task.id = "b" + options_.metadata.id + "-" + run.step.id + "-a" + std::to_string(run.id);
  BATON_ASSIGN_OR_RETURN(task.rootfs, ResolveImage(run));
  task.path = run.config.run.path;
  task.args = run.config.run.args;
  task.dir = run.config.run.dir;
  Json image_metadata = ImageMetadata(run);
  task.user = run.config.run.user;
  // As Concourse: the image's user (metadata.json `user`) unless the task's run.user says.
  if (task.user.empty() && image_metadata.is_object() && image_metadata.contains("user") &&
      image_metadata["user"].is_string()) {
    task.user = image_metadata["user"].get<std::string>();
    task.user = task.user.substr(0, task.user.find(':'));  // "uid:gid": the sandbox takes the user
  }
  task.work_dir = (fs::path(options_.build_root) / ("work-" + std::to_string(run.id))).string();
  BATON_RETURN_IF_ERROR(MakeDir(task.work_dir));
  for (const auto& input : run.inputs) {
    task.mounts.push_back({VolumePath(input.volume), input.path, true});
  }
  for (const auto& output : run.outputs) {
    BATON_RETURN_IF_ERROR(MakeDir(VolumePath(output.volume)));
    task.mounts.push_back({VolumePath(output.volume), output.path, true});
  }
  for (const auto& cache : run.cache_paths) {
    std::string dir =
        options_.cache_dir
            ? options_.cache_dir(run.step, cache)
            : (fs::path(options_.build_root) / "caches" / Sanitize(run.step.name) / Sanitize(cache))
                  .string();
    BATON_RETURN_IF_ERROR(MakeDir(dir));
    task.mounts.push_back({dir, cache, true});
  }
  task.env = MetadataEnv();
  for (auto& [name, value] : ImageEnv(image_metadata)) task.env[name] = std::move(value);
  for (const auto& [name, value] : run.params) task.env[name] = EnvValue(value);
  task.placement = {run.tags, options_.metadata.team, options_.interruptible};
  task.network = !run.hermetic;
  // One pipeline's tasks may use one network one after another; a one-off build's are its own.
  if (!options_.metadata.pipeline.empty()) {
    task.network_scope = options_.metadata.team + "/" + options_.metadata.pipeline;
  }
  task.privileged = run.privileged;
  if (run.config.container_limits) {
    task.limits.memory_bytes = run.config.container_limits->memory;
    task.limits.cpu_shares = run.config.container_limits->cpu;
  }
  return task;
}

void BuildExecutor::Impl::StartTask(const RunTask& run) {
  std::vector<Volume> volumes;
  for (const auto& input : run.inputs) volumes.push_back(input.volume);
  for (const auto& output : run.outputs) volumes.push_back(output.volume);
  if (run.image) volumes.push_back(*run.image);
  if (!VolumesReady(volumes, run.id, [run](Impl& me) { me.StartTask(run); })) return;
  auto task = MakeTaskRun(run);
  if (!task.ok()) {
    Report(run.id, ActionResult::Errored(task.status().message()));
    return;
  }
  std::weak_ptr<Impl> weak = weak_from_this();
  ActionId id = run.id;
  handles_[id] = worker_.RunTask(*task, SinkFor(run.step), [weak, id](workers::TaskResult r) {
    if (auto self = weak.lock()) self->Report(id, FromTaskResult(r));
  });
}

void BuildExecutor::Impl::StartGet(const RunGet& get) {
  if (!get.version.is_null()) return FetchVersion(get, get.version);
  workers::ResourceRun check;
  check.id = "b" + options_.metadata.id + "-" + get.step.id + "-check";
  check.action = workers::ResourceRun::Action::kCheck;
  check.source = get.source;
  check.placement = {get.tags, options_.metadata.team, options_.interruptible};
  if (Status t = ResolveType(get.type, check); !t.ok()) {
    return Report(get.id, ActionResult::Errored(t.message()));
  }
  check.env = MetadataEnv();
  std::weak_ptr<Impl> weak = weak_from_this();
  handles_[get.id] =
      worker_.RunResource(check, GetSink(get), [weak, get](workers::ResourceResult r) {
        auto self = weak.lock();
        if (!self) return;
        self->Post([get, r = std::move(r)](Impl& me) {
          if (!r.error.ok()) return me.Report(get.id, ActionResult::Errored(r.error.message()));
          if (r.versions.empty()) {
            return me.Report(get.id, ActionResult::Errored("no versions of resource " +
                                                           get.resource + " found"));
          }
          me.FetchVersion(get, r.versions.back());
        });
      });
}

void BuildExecutor::Impl::FetchVersion(const RunGet& get, Json version) {
  workers::ResourceRun run;
  run.id = "b" + options_.metadata.id + "-" + get.step.id + "-a" + std::to_string(get.id);
  run.action = workers::ResourceRun::Action::kGet;
  run.source = get.source;
  run.placement = {get.tags, options_.metadata.team, options_.interruptible};
  if (Status t = ResolveType(get.type, run); !t.ok()) {
    return Report(get.id, ActionResult::Errored(t.message()));
  }
  // A version fetched before is not fetched again (resource_caches.h); a new fetch is kept.
  std::optional<ResourceCacheKey> key;
  std::string entry_dir;
  if (CachesFetch(get, run)) {
    key = MakeResourceCacheKey(get.type, get.source, get.params, version);
    if (auto hit = options_.resource_caches->Find(*key)) return UseCachedFetch(get, std::move(hit));
    auto dir = options_.resource_caches->NewDir();
    if (!dir.ok()) return Report(get.id, ActionResult::Errored(dir.status().message()));
    entry_dir = dir->string();
    run.dir = (*dir / "files").string();
  } else {
    Status made = MakeDir(VolumePath(get.volume));
    if (!made.ok()) return Report(get.id, ActionResult::Errored(made.message()));
    run.dir = VolumePath(get.volume);
  }
  run.version = std::move(version);
  run.params = get.params;
  run.env = MetadataEnv();
  run.for_image = get.for_image;
  std::weak_ptr<Impl> weak = weak_from_this();
  handles_[get.id] = worker_.RunResource(
      run, GetSink(get), [weak, get, key, entry_dir](workers::ResourceResult r) {
        auto self = weak.lock();
        if (!self) return;
        self->Post([get, key, entry_dir, r = std::move(r)](Impl& me) {
          ResourceCaches* caches = me.options_.resource_caches;
          if (!r.error.ok()) {
            if (key) caches->Discard(entry_dir);
            return me.Report(get.id, ActionResult::Errored(r.error.message()));
          }
          if (key) {
            auto entry = caches->Add(*key, entry_dir, r.version, r.metadata);
            if (!entry.ok()) {
              caches->Discard(entry_dir);
              return me.Report(get.id, ActionResult::Errored(entry.status().message()));
            }
            return me.UseCachedFetch(get, std::move(*entry));
          }
          if (!get.for_image) {
            me.observer_.OnVersion(me.Shown(get.step), get.resource, r.version, r.metadata);
          }
          ActionResult result;
          result.version = r.version;
          result.metadata = r.metadata;
          me.Report(get.id, std::move(result));
        });
      });
}

void BuildExecutor::Impl::StartPut(const RunPut& put) {
  std::vector<Volume> volumes;
  for (const auto& [name, volume] : put.inputs) volumes.push_back(volume);
  if (!VolumesReady(volumes, put.id, [put](Impl& me) { me.StartPut(put); })) return;
  std::string dir = (fs::path(options_.build_root) / "put" / std::to_string(put.id)).string();
  Status made = MakeDir(dir);
  for (const auto& [name, volume] : put.inputs) {
    if (!made.ok()) break;
    if (std::string problem = ArtifactNameProblem(name); !problem.empty()) {
      made = InvalidArgument("artifact name '" + name + "' cannot be given to a put: " + problem);
      break;
    }
    std::error_code ec;
    fs::create_directory_symlink(VolumePath(volume), fs::path(dir) / name, ec);
    if (ec) made = IoError("cannot link input " + name + ": " + ec.message());
  }
  if (!made.ok()) return Report(put.id, ActionResult::Errored(made.message()));
  workers::ResourceRun run;
  run.id = "b" + options_.metadata.id + "-" + put.step.id + "-a" + std::to_string(put.id);
  run.action = workers::ResourceRun::Action::kPut;
  run.source = put.source;
  run.placement = {put.tags, options_.metadata.team, options_.interruptible};
  if (Status t = ResolveType(put.type, run); !t.ok()) {
    return Report(put.id, ActionResult::Errored(t.message()));
  }
  run.params = put.params;
  run.dir = dir;
  run.env = MetadataEnv();
  std::weak_ptr<Impl> weak = weak_from_this();
  handles_[put.id] =
      worker_.RunResource(run, SinkFor(put.step), [weak, put](workers::ResourceResult r) {
        auto self = weak.lock();
        if (!self) return;
        self->Post([put, r = std::move(r)](Impl& me) {
          if (!r.error.ok()) return me.Report(put.id, ActionResult::Errored(r.error.message()));
          me.observer_.OnVersion(me.Shown(put.step), put.resource, r.version, r.metadata);
          ActionResult result;
          result.version = r.version;
          result.metadata = r.metadata;
          me.Report(put.id, std::move(result));
        });
      });
}

}  // namespace baton::runner
