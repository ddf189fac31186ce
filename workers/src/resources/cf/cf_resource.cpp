// The `cf` resource type, in the spirit of cloudfoundry-community/cf-resource:
//  - put: pushes one application (manifest + bits) through the CC v3 API; see cf_push.h.
//  - check: the last version this worker pushed for the same source (kept in the resource's
//    cache dir as cf-last-push.json), or nothing before the first push.
//  - get: no network; writes version.json and metadata.json into the step's directory.
#include <glob.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <mutex>

#include "baton/common/clock.h"
#include "resources/cf/cf_client.h"
#include "resources/cf/cf_manifest.h"
#include "resources/cf/cf_push.h"
#include "resources/cf/cf_resource.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

constexpr const char* kLastPushFile = "cf-last-push.json";

std::mutex& LastPushMutex() {
  static std::mutex mu;
  return mu;
}

Result<std::vector<fs::path>> VarsFiles(const Json& params, const fs::path& dir) {
  BATON_ASSIGN_OR_RETURN(auto files, StringListField(params, "vars_files", "cf put: vars_files"));
  std::vector<fs::path> out;
  for (const auto& f : files) {
    BATON_ASSIGN_OR_RETURN(fs::path p, PathInside(dir, f, "cf put: vars_files"));
    out.push_back(p);
  }
  return out;
}

Result<std::chrono::milliseconds> Seconds(const Json& params, const std::string& key,
                                          std::chrono::milliseconds fallback) {
  if (!params.contains(key)) return fallback;
  if (!params[key].is_number_integer() || params[key].get<int64_t>() <= 0) {
    return InvalidArgument("cf put: " + key + " must be a positive number of seconds");
  }
  return std::chrono::milliseconds(params[key].get<int64_t>() * 1000);
}

// A file holding `content`, removed with this object.
class TempFile {
 public:
  TempFile() = default;
  TempFile(TempFile&& o) noexcept : path_(std::exchange(o.path_, "")) {}
  TempFile& operator=(TempFile&& o) noexcept {
    std::swap(path_, o.path_);
    return *this;
  }
  ~TempFile() {
    std::error_code ec;
    if (!path_.empty()) fs::remove(path_, ec);
  }
  static Result<TempFile> With(const std::string& content, const std::string& what) {
    std::string tmpl = (fs::temp_directory_path() / "baton-cf-XXXXXX").string();
    int fd = mkstemp(tmpl.data());
    if (fd < 0) return IoError(what + ": cannot create a temporary file: " + strerror(errno));
    close(fd);
    TempFile out;
    out.path_ = tmpl;
    BATON_RETURN_IF_ERROR(WriteFile(tmpl, content));
    return out;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string Env(std::initializer_list<const char*> names) {
  for (const char* name : names) {
    const char* value = getenv(name);
    if (value && *value) return value;
  }
  return "";
}

// As the cf CLI (Go's net/http): HTTPS_PROXY for an https API (HTTP_PROXY for http), and
// NO_PROXY, read from the worker's environment.
void ProxyFromEnvironment(const ResourceContext& ctx, const std::string& api,
                          HttpTransportOptions& options) {
  bool https = api.rfind("https://", 0) == 0;
  options.proxy = https ? Env({"HTTPS_PROXY", "https_proxy"}) : Env({"HTTP_PROXY", "http_proxy"});
  options.no_proxy = Env({"NO_PROXY", "no_proxy"});
  if (options.proxy.empty()) return;
  std::string shown = options.proxy;  // without user:password@
  size_t scheme = shown.find("://");
  size_t host = scheme == std::string::npos ? 0 : scheme + 3;
  size_t at = shown.find('@', host);
  if (at != std::string::npos) shown.erase(host, at - host + 1);
  LogLine(ctx, std::string("cf: through the proxy ") + shown + " (" +
                   (https ? "HTTPS_PROXY" : "HTTP_PROXY") +
                   (options.no_proxy.empty() ? "" : "; NO_PROXY " + options.no_proxy) + ")");
}

Result<CfManifestInput> ManifestInput(const Json& params, const fs::path& dir) {
  CfManifestInput in;
  BATON_ASSIGN_OR_RETURN(std::string manifest, StringField(params, "manifest", "cf put: manifest"));
  if (manifest.empty()) return InvalidArgument("cf put: params.manifest is required");
  BATON_ASSIGN_OR_RETURN(in.file, PathInside(dir, manifest, "cf put: manifest"));
  in.vars = params.value("vars", Json::object());
  BATON_ASSIGN_OR_RETURN(in.vars_files, VarsFiles(params, dir));
  in.environment_variables = params.value("environment_variables", Json::object());
  BATON_ASSIGN_OR_RETURN(in.current_app_name,
                         StringField(params, "current_app_name", "cf put: current_app_name"));
  return in;
}

// As cf-resource: `path` may be a glob (build/app-*.jar) that must match exactly one file.
Result<fs::path> OneMatch(const fs::path& pattern, const std::string& as_written) {
  if (as_written.find_first_of("*?[") == std::string::npos) return pattern;
  glob_t found{};
  int rc = glob(pattern.c_str(), 0, nullptr, &found);
  std::vector<std::string> matches(found.gl_pathv, found.gl_pathv + (rc == 0 ? found.gl_pathc : 0));
  globfree(&found);
  if (matches.size() != 1) {
    return InvalidArgument("cf put: path '" + as_written + "' matches " +
                           std::to_string(matches.size()) + " files; it must match exactly one");
  }
  return fs::path(matches[0]);
}

Result<CfPushOptions> PushOptions(const Json& params, const fs::path& dir,
                                  const CfManifestInput& in, const CfManifest& manifest) {
  CfPushOptions o;
  BATON_ASSIGN_OR_RETURN(std::string path, StringField(params, "path", "cf put: path"));
  if (!path.empty()) {
    BATON_ASSIGN_OR_RETURN(o.app_dir, PathInside(dir, path, "cf put: path"));
    BATON_ASSIGN_OR_RETURN(o.app_dir, OneMatch(o.app_dir, path));
  } else {
    o.app_dir = (in.file.parent_path() / manifest.path).lexically_normal();
  }
  o.docker_image = manifest.docker_image;
  BATON_ASSIGN_OR_RETURN(o.docker_username,
                         StringField(params, "docker_username", "cf put: docker_username"));
  if (o.docker_username.empty()) o.docker_username = manifest.docker_username;
  BATON_ASSIGN_OR_RETURN(o.docker_password,
                         StringField(params, "docker_password", "cf put: docker_password"));
  if (!o.docker_username.empty() && o.docker_password.empty()) {
    return InvalidArgument("cf put: docker user '" + o.docker_username +
                           "' needs params.docker_password");
  }
  BATON_ASSIGN_OR_RETURN(o.no_start, BoolField(params, "no_start", "cf put: no_start"));
  BATON_ASSIGN_OR_RETURN(o.show_app_log, BoolField(params, "show_app_log", "cf put: show_app_log"));
  BATON_ASSIGN_OR_RETURN(std::string strategy, StringField(params, "strategy", "cf put: strategy"));
  if (!strategy.empty() && strategy != "rolling") {
    return InvalidArgument("cf put: strategy must be 'rolling' (or absent), got '" + strategy +
                           "'");
  }
  o.rolling = strategy == "rolling" || !in.current_app_name.empty();
  BATON_ASSIGN_OR_RETURN(o.staging_timeout, Seconds(params, "staging_timeout", o.staging_timeout));
  BATON_ASSIGN_OR_RETURN(o.start_timeout, Seconds(params, "startup_timeout", o.start_timeout));
  BATON_ASSIGN_OR_RETURN(o.upload_stall_timeout,
                         Seconds(params, "upload_stall_timeout", o.upload_stall_timeout));
  return o;
}

FetchedVersion ToFetched(const CfPushResult& r, SystemTime now) {
  FetchedVersion out;
  std::string guid = !r.deployment_guid.empty() ? r.deployment_guid
                     : !r.droplet_guid.empty()  ? r.droplet_guid
                                                : r.package_guid;  // no_start: nothing staged
  out.version = {{"guid", guid}, {"timestamp", FormatRfc3339(now)}};
  out.metadata = {{"app_name", r.app_name},
                  {"app_guid", r.app_guid},
                  {"droplet_guid", r.droplet_guid},
                  {"package_guid", r.package_guid},
                  {"state", r.state}};
  if (!r.deployment_guid.empty()) out.metadata.push_back({"deployment_guid", r.deployment_guid});
  if (!r.route.empty()) out.metadata.push_back({"route", r.route});
  return out;
}

Json ToJson(const FetchedVersion& f) {
  Json metadata = Json::array();
  for (const auto& m : f.metadata) metadata.push_back({{"name", m.name}, {"value", m.value}});
  return {{"version", f.version}, {"metadata", metadata}};
}

std::optional<FetchedVersion> LastPush(const ResourceContext& ctx) {
  if (ctx.cache_dir.empty()) return std::nullopt;
  std::lock_guard<std::mutex> lock(LastPushMutex());
  auto text = ReadFile(fs::path(ctx.cache_dir) / kLastPushFile);
  if (!text.ok()) return std::nullopt;
  Json j = Json::parse(*text, nullptr, false);
  if (!j.is_object() || !j.contains("version")) return std::nullopt;
  FetchedVersion out;
  out.version = j["version"];
  for (const Json& m : j.value("metadata", Json::array())) {
    out.metadata.push_back({m.value("name", ""), m.value("value", "")});
  }
  return out;
}

Status RememberPush(const ResourceContext& ctx, const FetchedVersion& pushed) {
  if (ctx.cache_dir.empty()) return Status::Ok();
  std::lock_guard<std::mutex> lock(LastPushMutex());
  return WriteFileAtomically(fs::path(ctx.cache_dir) / kLastPushFile, ToJson(pushed).dump(2));
}

class CfResourceType : public ResourceType {
 public:
  Result<std::vector<Json>> Check(const ResourceContext& ctx, const Json& source,
                                  const Json& from) override {
    BATON_RETURN_IF_ERROR(ParseCfSource(source).status());
    std::vector<Json> out;
    if (auto last = LastPush(ctx)) out.push_back(last->version);
    return out;
  }

  Result<FetchedVersion> Get(const ResourceContext& ctx, const Json& source, const Json& version,
                             const Json& params, const std::string& dir) override {
    FetchedVersion out;
    out.version = version;
    if (auto last = LastPush(ctx); last && last->version == version) out.metadata = last->metadata;
    BATON_RETURN_IF_ERROR(WriteFile(fs::path(dir) / "version.json", version.dump()));
    BATON_RETURN_IF_ERROR(WriteFile(fs::path(dir) / "metadata.json", ToJson(out).dump(2)));
    return out;
  }

  Result<FetchedVersion> Put(const ResourceContext& ctx, const Json& source, const Json& params,
                             const std::string& dir) override {
    BATON_ASSIGN_OR_RETURN(CfSource cf, ParseCfSource(source));
    if (!ctx.http_transport || !*ctx.http_transport) {
      return FailedPrecondition(
          "cf put: this worker has no HTTP transport (Baton was built or wired without one)");
    }
    BATON_ASSIGN_OR_RETURN(CfManifestInput in, ManifestInput(params, dir));
    BATON_ASSIGN_OR_RETURN(CfManifest manifest, LoadCfManifest(in));
    BATON_ASSIGN_OR_RETURN(CfPushOptions options, PushOptions(params, dir, in, manifest));
    HttpTransportOptions transport_options;
    transport_options.insecure_skip_verify = cf.skip_cert_check;
    TempFile ca;
    if (!cf.ca_cert.empty()) {
      BATON_ASSIGN_OR_RETURN(ca, TempFile::With(cf.ca_cert, "cf source: ca_cert"));
      transport_options.ca_file = ca.path();
    }
    ProxyFromEnvironment(ctx, cf.api, transport_options);
    CfClient client((*ctx.http_transport)(transport_options), cf);
    client.set_log([&ctx](const std::string& line) { LogLine(ctx, line); });
    client.AddSecret(options.docker_password);
    LogLine(ctx, "cf: pushing " + manifest.app_name + " to " + cf.api +
                     (options.rolling ? " (rolling)" : ""));
    auto pushed = PushApp(ctx, client, manifest, options);
    if (!pushed.ok()) {
      return Status(pushed.status().code(), client.Redact(pushed.status().message()));
    }
    const Clock& clock = ctx.clock ? *ctx.clock : RealClock();
    FetchedVersion out = ToFetched(*pushed, clock.Now());
    std::string routes;
    for (const auto& r : pushed->routes) routes += (routes.empty() ? "" : ", ") + r;
    LogLine(ctx, "cf: " + manifest.app_name + " is " + pushed->state +
                     (routes.empty() ? " (no routes)" : " at " + routes));
    BATON_RETURN_IF_ERROR(RememberPush(ctx, out));
    return out;
  }
};

}  // namespace

std::unique_ptr<ResourceType> MakeCfResourceType() { return std::make_unique<CfResourceType>(); }

}  // namespace baton::workers::resources
