// The `mock` resource type: Concourse's hermetic test resource, built in so pipelines written for
// Concourse's own test suite run unchanged.
//
// Behaviour follows concourse/mock-resource (README.md, types.go, cmd/check/main.go,
// cmd/in/main.go, cmd/out/main.go), read for this implementation:
//  - check: check_delay, then check_failure, then force_version, else the given version, else
//    initial_version (default "mock") unless no_initial_version.
//  - in: writes ./version ("<version>\n"), ./privileged, source.create_files merged with
//    params.create_files_via_params (strings verbatim, other values as JSON), and for
//    mirror_self / params.mirror_self_via_params a metadata.json naming MIRRORED_VERSION.
//  - out: the version is params.version (or the contents of params.file, a Baton addition);
//    metadata is source.metadata. Without either, out pushes the empty version {version: ""}
//    as cmd/out/main.go does (it copies params.version, empty or not).
// Baton differences: Concourse keeps versions created by `put` in its database; Baton keeps them
// in <cache_dir>/mock-versions.json so that a later check returns them, oldest first. The image
// of `mirror_self` is the worker's own root filesystem, so no rootfs/ copy is made.
#include <algorithm>
#include <mutex>
#include <thread>

#include "baton/common/duration.h"
#include "baton/common/strings.h"
#include "resources/builtin_types.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

constexpr const char* kDefaultInitialVersion = "mock";

std::mutex& PutVersionsMutex() {
  static std::mutex mu;
  return mu;
}

fs::path PutVersionsFile(const ResourceContext& ctx) {
  return fs::path(ctx.cache_dir) / "mock-versions.json";
}

// Versions created by put, oldest first. REQUIRES: PutVersionsMutex() held.
std::vector<std::string> LoadPutVersions(const ResourceContext& ctx) {
  std::vector<std::string> versions;
  if (ctx.cache_dir.empty()) return versions;
  auto text = ReadFile(PutVersionsFile(ctx));
  if (!text.ok()) return versions;
  Json list = Json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (!list.is_array()) return versions;
  for (const Json& v : list) {
    if (v.is_string()) versions.push_back(v.get<std::string>());
  }
  return versions;
}

Status RememberPutVersion(const ResourceContext& ctx, const std::string& version) {
  if (ctx.cache_dir.empty()) return Status::Ok();
  std::lock_guard<std::mutex> lock(PutVersionsMutex());
  std::vector<std::string> versions = LoadPutVersions(ctx);
  if (std::find(versions.begin(), versions.end(), version) != versions.end()) return Status::Ok();
  versions.push_back(version);
  std::error_code ec;
  fs::create_directories(ctx.cache_dir, ec);
  return WriteFileAtomically(PutVersionsFile(ctx), Json(versions).dump());
}

Json VersionJson(const std::string& v) { return Json{{"version", v}}; }

Status WaitCheckDelay(const ResourceContext& ctx, const Json& source) {
  BATON_ASSIGN_OR_RETURN(std::string text, StringField(source, "check_delay", "source"));
  if (text.empty()) return Status::Ok();
  auto delay = ParseDuration(text);
  if (!delay.ok()) {
    return InvalidArgument("mock check: malformed source.check_delay (" + text +
                           "): " + delay.status().message());
  }
  const Clock& clock = ctx.clock ? *ctx.clock : RealClock();
  SteadyTime deadline = clock.SteadyNow() + *delay;
  while (clock.SteadyNow() < deadline) {
    if (IsCancelled(ctx)) return Cancelled("mock check cancelled during check_delay");
    std::this_thread::sleep_for(
        std::min<Duration>(std::chrono::milliseconds(10), deadline - clock.SteadyNow()));
  }
  return Status::Ok();
}

Result<std::vector<MetadataField>> SourceMetadata(const Json& source) {
  std::vector<MetadataField> out;
  if (!source.contains("metadata") || source["metadata"].is_null()) return out;
  const Json& list = source["metadata"];
  if (!list.is_array())
    return InvalidArgument("mock: source.metadata must be a list of {name, value}");
  for (const Json& item : list) {
    if (!item.is_object() || !item.value("name", Json()).is_string()) {
      return InvalidArgument("mock: each source.metadata entry needs a string `name`, got " +
                             item.dump());
    }
    Json value = item.value("value", Json(""));
    out.push_back({item["name"].get<std::string>(),
                   value.is_string() ? value.get<std::string>() : value.dump()});
  }
  return out;
}

void LogSourceMessage(const ResourceContext& ctx, const Json& source) {
  auto log = StringField(source, "log", "source");
  if (log.ok() && !log->empty()) LogLine(ctx, *log);
}

// Every known version in order: the initial one, then those created by put.
std::vector<std::string> KnownVersions(const ResourceContext& ctx, const Json& source,
                                       bool no_initial, const std::string& initial) {
  std::vector<std::string> known;
  if (!no_initial) known.push_back(initial);
  std::lock_guard<std::mutex> lock(PutVersionsMutex());
  for (std::string& v : LoadPutVersions(ctx)) {
    if (std::find(known.begin(), known.end(), v) == known.end()) known.push_back(std::move(v));
  }
  (void)source;
  return known;
}

Status WriteCreateFiles(const Json& files, const fs::path& dir, const std::string& what) {
  if (files.is_null()) return Status::Ok();
  if (!files.is_object())
    return InvalidArgument("mock get: " + what + " must be a map of path: content");
  for (const auto& [path, content] : files.items()) {
    BATON_ASSIGN_OR_RETURN(fs::path target, PathInside(dir, path, "mock get: " + what + " path"));
    std::string bytes = content.is_string() ? content.get<std::string>() : content.dump();
    BATON_RETURN_IF_ERROR(WriteFile(target, bytes));
  }
  return Status::Ok();
}

class MockResourceType final : public ResourceType {
 public:
  Result<std::vector<Json>> Check(const ResourceContext& ctx, const Json& source,
                                  const Json& from) override {
    LogSourceMessage(ctx, source);
    BATON_RETURN_IF_ERROR(WaitCheckDelay(ctx, source));
    BATON_ASSIGN_OR_RETURN(std::string failure, StringField(source, "check_failure", "source"));
    if (!failure.empty()) {
      return FailedPrecondition("mock check: intentionally failing to check: " + failure);
    }
    BATON_ASSIGN_OR_RETURN(std::string forced, StringField(source, "force_version", "source"));
    if (!forced.empty()) return std::vector<Json>{VersionJson(forced)};
    BATON_ASSIGN_OR_RETURN(bool no_initial, BoolField(source, "no_initial_version", "source"));
    BATON_ASSIGN_OR_RETURN(std::string initial, StringField(source, "initial_version", "source",
                                                            kDefaultInitialVersion));
    if (initial.empty()) initial = kDefaultInitialVersion;
    return VersionsAfter(KnownVersions(ctx, source, no_initial, initial), from);
  }

  Result<FetchedVersion> Get(const ResourceContext& ctx, const Json& source, const Json& version,
                             const Json& params, const std::string& dir) override {
    LogSourceMessage(ctx, source);
    if (!version.is_object() || !version.value("version", Json()).is_string()) {
      return InvalidArgument("mock get: version must look like {version: \"...\"}, got " +
                             version.dump());
    }
    std::string v = version["version"].get<std::string>();
    LogLine(ctx, "fetching version: " + v);
    fs::path dest(dir);
    BATON_RETURN_IF_ERROR(WriteFile(dest / "privileged", "false\n"));
    BATON_RETURN_IF_ERROR(WriteFile(dest / "version", v + "\n"));
    BATON_ASSIGN_OR_RETURN(bool mirror, BoolField(source, "mirror_self", "source"));
    BATON_ASSIGN_OR_RETURN(bool mirror_p, BoolField(params, "mirror_self_via_params", "params"));
    if (mirror || mirror_p) {
      Json meta{{"env", Json::array({"MIRRORED_VERSION=" + v})}, {"user", "root"}};
      BATON_RETURN_IF_ERROR(WriteFile(dest / "metadata.json", meta.dump() + "\n"));
    }
    Json files = source.value("create_files", Json::object());
    if (files.is_object() && params.is_object() && params.contains("create_files_via_params")) {
      const Json& extra = params["create_files_via_params"];
      if (!extra.is_object()) {
        return InvalidArgument("mock get: params.create_files_via_params must be a map");
      }
      for (const auto& [path, content] : extra.items()) files[path] = content;
    }
    BATON_RETURN_IF_ERROR(WriteCreateFiles(files, dest, "create_files"));
    BATON_ASSIGN_OR_RETURN(auto metadata, SourceMetadata(source));
    return FetchedVersion{VersionJson(v), std::move(metadata)};
  }

  Result<FetchedVersion> Put(const ResourceContext& ctx, const Json& source, const Json& params,
                             const std::string& dir) override {
    LogSourceMessage(ctx, source);
    BATON_ASSIGN_OR_RETURN(std::string v, PutVersion(params, dir));
    BATON_ASSIGN_OR_RETURN(bool print_env, BoolField(params, "print_env", "params"));
    if (print_env) {
      for (const auto& [k, val] : ctx.env) LogLine(ctx, k + "=" + val);
    }
    LogLine(ctx, "pushing version: " + v);
    BATON_RETURN_IF_ERROR(RememberPutVersion(ctx, v));
    BATON_ASSIGN_OR_RETURN(auto metadata, SourceMetadata(source));
    return FetchedVersion{VersionJson(v), std::move(metadata)};
  }

 private:
  static std::vector<Json> VersionsAfter(const std::vector<std::string>& known, const Json& from) {
    std::vector<Json> out;
    if (known.empty() && from.is_null()) return out;
    if (from.is_null()) return {VersionJson(known.back())};
    std::string from_v = from.value("version", Json("")).is_string()
                             ? from.value("version", std::string())
                             : from.value("version", Json()).dump();
    auto it = std::find(known.begin(), known.end(), from_v);
    // Unknown `from` (e.g. `check-resource --from version:foo`): mock echoes it as a version.
    if (it == known.end()) return {VersionJson(from_v)};
    for (; it != known.end(); ++it) out.push_back(VersionJson(*it));
    return out;
  }

  static Result<std::string> PutVersion(const Json& params, const std::string& dir) {
    BATON_ASSIGN_OR_RETURN(std::string v, StringField(params, "version", "params"));
    BATON_ASSIGN_OR_RETURN(std::string file, StringField(params, "file", "params"));
    if (!file.empty()) {
      BATON_ASSIGN_OR_RETURN(fs::path path, PathInside(dir, file, "mock put: params.file"));
      auto text = ReadFile(path);
      if (!text.ok()) {
        return NotFound("mock put: cannot read params.file '" + file +
                        "': make sure a previous step wrote it into an output");
      }
      v = std::string(Trim(*text));
    }
    return v;  // may be empty: mock-resource pushes {version: ""} then
  }
};

}  // namespace

std::unique_ptr<ResourceType> MakeMockResourceType() {
  return std::make_unique<MockResourceType>();
}

}  // namespace baton::workers::resources
