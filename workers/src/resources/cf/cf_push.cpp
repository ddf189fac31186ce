#include "resources/cf/cf_push.h"

#include <unistd.h>

#include <random>
#include <thread>

#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

namespace fs = std::filesystem;

Status Stage(const std::string& stage, const Status& status) {
  if (status.ok()) return status;
  return Status(status.code(), "cf put: " + stage + " failed: " + status.message());
}

std::string Query(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.') {
      out += c;
    } else {
      char buf[4];
      snprintf(buf, sizeof buf, "%%%02X", static_cast<unsigned char>(c));
      out += buf;
    }
  }
  return out;
}

// The guid of the only resource in a list answer, or NotFound(`missing`).
Result<std::string> OnlyGuid(const Json& list, const std::string& missing) {
  if (!list.contains("resources") || !list["resources"].is_array() || list["resources"].empty()) {
    return NotFound(missing);
  }
  return list["resources"][0].value("guid", "");
}

Result<std::string> FindSpace(const ResourceContext& ctx, CfClient& client) {
  const CfSource& s = client.source();
  BATON_ASSIGN_OR_RETURN(Json orgs, client.Get("/v3/organizations?names=" + Query(s.organization)));
  auto org = OnlyGuid(orgs, "organization '" + s.organization + "' not found (or not visible)");
  if (!org.ok()) return Stage("organization", org.status());
  auto spaces =
      client.Get("/v3/spaces?names=" + Query(s.space) + "&organization_guids=" + Query(*org));
  if (!spaces.ok()) return Stage("space", spaces.status());
  auto space = OnlyGuid(
      *spaces, "space '" + s.space + "' not found in organization '" + s.organization + "'");
  if (!space.ok()) return Stage("space", space.status());
  LogLine(ctx, "cf: targeting organization " + s.organization + ", space " + s.space);
  return *space;
}

std::string JobErrors(const Json& job) {
  std::string out;
  if (job.contains("errors") && job["errors"].is_array()) {
    for (const Json& e : job["errors"]) {
      out += (out.empty() ? "" : "; ") + e.value("title", "") + ": " + e.value("detail", "");
    }
  }
  return out.empty() ? "the job failed without details" : out;
}

Status ApplyManifest(const ResourceContext& ctx, CfClient& client, const std::string& space,
                     const CfManifest& manifest, const CfPushOptions& options) {
  BATON_ASSIGN_OR_RETURN(HttpResponse r,
                         client.Send("POST", "/v3/spaces/" + space + "/actions/apply_manifest",
                                     CfManifestYaml(manifest), "application/x-yaml"));
  auto location = r.Header("Location");
  if (!location) return FailedPrecondition("apply_manifest answered without a job Location");
  auto job = PollUntil(ctx, client, *location, options.job_timeout, "the manifest job",
                       [](const Json& j) -> Result<bool> {
                         std::string state = j.value("state", "");
                         if (state == "FAILED") return FailedPrecondition(JobErrors(j));
                         return state == "COMPLETE";
                       });
  if (job.ok()) LogLine(ctx, "cf: applied the manifest of " + manifest.app_name);
  return job.status();
}

Result<std::string> CreatePackage(CfClient& client, const std::string& app,
                                  const CfPushOptions& options) {
  Json body = {{"type", "bits"}, {"relationships", {{"app", {{"data", {{"guid", app}}}}}}}};
  if (!options.docker_image.empty()) {  // as `cf push --docker-image`: the image, no bits
    body["type"] = "docker";
    body["data"] = {{"image", options.docker_image}};
    if (!options.docker_username.empty()) {
      body["data"]["username"] = options.docker_username;
      body["data"]["password"] = options.docker_password;
    }
  }
  BATON_ASSIGN_OR_RETURN(Json package, client.SendJson("POST", "/v3/packages", body));
  return package.value("guid", "");
}

Result<std::string> StageDroplet(const ResourceContext& ctx, CfClient& client,
                                 const std::string& package, const CfPushOptions& options) {
  Json body = {{"package", {{"guid", package}}}};
  BATON_ASSIGN_OR_RETURN(Json build, client.SendJson("POST", "/v3/builds", body));
  std::string guid = build.value("guid", "");
  LogLine(ctx, "cf: staging (build " + guid + ")");
  BATON_ASSIGN_OR_RETURN(
      Json staged, PollUntil(ctx, client, "/v3/builds/" + guid, options.staging_timeout, "staging",
                             [](const Json& b) -> Result<bool> {
                               std::string state = b.value("state", "");
                               if (state == "FAILED") {
                                 std::string why = b.contains("error") && b["error"].is_string()
                                                       ? b["error"].get<std::string>()
                                                       : "no reason given";
                                 return FailedPrecondition(why);
                               }
                               return state == "STAGED";
                             }));
  if (!staged.contains("droplet") || !staged["droplet"].is_object()) {
    return FailedPrecondition("the build is STAGED but names no droplet");
  }
  return staged["droplet"].value("guid", "");
}

Result<std::string> FindApp(CfClient& client, const std::string& space, const std::string& name) {
  BATON_ASSIGN_OR_RETURN(
      Json apps, client.Get("/v3/apps?names=" + Query(name) + "&space_guids=" + Query(space)));
  return OnlyGuid(apps, "app '" + name + "' does not exist after applying the manifest");
}

Status ReadRoutes(CfClient& client, CfPushResult& result) {
  BATON_ASSIGN_OR_RETURN(result.routes, AppRoutes(client, result.app_guid));
  result.route = result.routes.empty() ? "" : result.routes.front();
  return Status::Ok();
}

// As `cf push --no-start` in CLI v8: the bits are uploaded, nothing is staged, and a running
// app is stopped.
Result<CfPushResult> UploadedOnly(const ResourceContext& ctx, CfClient& client,
                                  CfPushResult& result) {
  auto app = client.Get("/v3/apps/" + result.app_guid);
  if (!app.ok()) return Stage("stop", app.status());
  if (app->value("state", "") == "STARTED") {
    auto stopped =
        client.SendJson("POST", "/v3/apps/" + result.app_guid + "/actions/stop", Json::object());
    if (!stopped.ok()) return Stage("stop", stopped.status());
    LogLine(ctx, "cf: stopped " + result.app_name + " (no_start)");
  }
  LogLine(ctx, "cf: not staging or starting " + result.app_name + " (no_start, as cf push v8)");
  result.state = "STOPPED";
  BATON_RETURN_IF_ERROR(Stage("route", ReadRoutes(client, result)));
  return result;
}

}  // namespace

Result<Json> PollUntil(const ResourceContext& ctx, CfClient& client, const std::string& path,
                       std::chrono::milliseconds timeout, const std::string& waiting_for,
                       const std::function<Result<bool>(const Json&)>& done) {
  const Clock& clock = ctx.clock ? *ctx.clock : RealClock();
  SteadyTime deadline = clock.SteadyNow() + timeout;
  std::chrono::milliseconds interval{50};
  while (true) {
    BATON_ASSIGN_OR_RETURN(Json value, client.Get(path));
    BATON_ASSIGN_OR_RETURN(bool finished, done(value));
    if (finished) return value;
    if (IsCancelled(ctx)) return Cancelled("cancelled while waiting for " + waiting_for);
    if (clock.SteadyNow() >= deadline) {
      return DeadlineExceeded("timed out after " + std::to_string(timeout.count() / 1000) +
                              "s waiting for " + waiting_for);
    }
    std::this_thread::sleep_for(interval);  // the API offers no push notification: poll
    interval = std::min(interval * 2, std::chrono::milliseconds(1000));
  }
}

Result<CfPushResult> PushApp(const ResourceContext& ctx, CfClient& client,
                             const CfManifest& manifest, const CfPushOptions& options) {
  const SystemTime push_started = (ctx.clock ? *ctx.clock : RealClock()).Now();  // for show_app_log
  BATON_RETURN_IF_ERROR(Stage("login", client.Login()));
  LogLine(ctx, "cf: authenticated against " + client.source().api);
  BATON_ASSIGN_OR_RETURN(std::string space, FindSpace(ctx, client));
  BATON_RETURN_IF_ERROR(
      Stage("apply manifest", ApplyManifest(ctx, client, space, manifest, options)));
  CfPushResult result;
  result.app_name = manifest.app_name;
  auto app = FindApp(client, space, manifest.app_name);
  if (!app.ok()) return Stage("apply manifest", app.status());
  result.app_guid = *app;
  auto package = CreatePackage(client, result.app_guid, options);
  if (!package.ok()) return Stage("upload", package.status());
  result.package_guid = *package;
  if (options.docker_image.empty()) {
    BATON_RETURN_IF_ERROR(Stage("upload", UploadBits(ctx, client, result.package_guid, options)));
    LogLine(ctx, "cf: uploaded the bits (package " + result.package_guid + ")");
  } else {
    LogLine(ctx, "cf: docker image " + options.docker_image + " (package " + result.package_guid +
                     "; no bits)");
  }
  if (options.no_start) return UploadedOnly(ctx, client, result);
  auto droplet = StageDroplet(ctx, client, result.package_guid, options);
  if (!droplet.ok()) {
    if (options.show_app_log) ShowAppLog(ctx, client, result.app_guid, push_started);
    return Stage("staging", droplet.status());
  }
  result.droplet_guid = *droplet;
  LogLine(ctx, "cf: staged droplet " + result.droplet_guid);
  Status started = StartApp(ctx, client, options, result);
  if (options.show_app_log) ShowAppLog(ctx, client, result.app_guid, push_started);
  BATON_RETURN_IF_ERROR(Stage("start", started));
  BATON_RETURN_IF_ERROR(Stage("route", ReadRoutes(client, result)));
  return result;
}

}  // namespace baton::workers::resources
