// The stand-in's apply_manifest for one application: validation with Cloud Controller's
// messages (a 422 for the request), the in-flight deployment check (a FAILED job), and the
// app, process and route settings it applies.
#include <filesystem>
#include <regex>

#include "cf-api/fake_cf_impl.h"

namespace baton::testing::fakecf {
namespace {

bool IsString(const Json& a, const char* key) { return !a.contains(key) || a[key].is_string(); }

std::string Text(const Json& a, const char* key) {
  return a.contains(key) && a[key].is_string() ? a[key].get<std::string>() : "";
}

bool Integer(const std::string& text, long long* out) {
  static const std::regex kInt("-?[0-9]{1,9}");
  if (!std::regex_match(text, kInt)) return false;
  *out = std::stoll(text);
  return true;
}

// What CC's manifest messages say about one application's fields (the stand-in's subset).
Status Validate(const Json& a) {
  long long n = 0;
  if (a.contains("instances")) {
    if (!Integer(Text(a, "instances"), &n)) return InvalidArgument("Instances must be an integer");
    if (n < 0) return InvalidArgument("Instances must be greater than or equal to 0");
  }
  static const std::regex kSize("[0-9]+(B|K|KB|M|MB|G|GB|T|TB)", std::regex::icase);
  for (const char* key : {"memory", "disk_quota"}) {
    if (a.contains(key) && !std::regex_match(Text(a, key), kSize)) {
      return InvalidArgument(std::string(key == std::string("memory") ? "Memory" : "Disk quota") +
                             " must use a supported unit: B, K, KB, M, MB, G, GB, T, or TB");
    }
  }
  std::string type = Text(a, "health-check-type");
  if (a.contains("health-check-type") && type != "port" && type != "process" && type != "http" &&
      type != "none") {
    return InvalidArgument("Health check type must be \"port\", \"process\", or \"http\"");
  }
  if (a.contains("health-check-http-endpoint") && type != "http") {
    return InvalidArgument(
        "Health check type must be \"http\" to set a health check HTTP endpoint");
  }
  if (a.contains("timeout") && (!Integer(Text(a, "timeout"), &n) || n < 1)) {
    return InvalidArgument("Timeout must be greater than or equal to 1");
  }
  if (!IsString(a, "command")) return InvalidArgument("Command must be a string");
  if (a.contains("env") && !a["env"].is_object()) {
    return InvalidArgument("Env must be an object of keys and values");
  }
  return Status::Ok();
}

}  // namespace

Status FakeCloudFoundry::Impl::ApplyApplication(const Json& a) {
  if (!a.is_object() || Text(a, "name").empty()) {
    return InvalidArgument("For application at index 0: Name must not be empty");
  }
  std::string name = Text(a, "name");
  if (Status st = Validate(a); !st.ok()) {
    return InvalidArgument("For application '" + name + "': " + st.message());
  }
  App* app = nullptr;
  for (auto& [g, existing] : state_.apps) {
    if (existing.name == name) app = &existing;
  }
  if (!app) {
    std::string guid = NewGuid();
    app = &state_.apps[guid];
    app->guid = guid;
    app->name = name;
    app->space_guid = state_.space_guid;
    app->web.guid = guid;  // CC gives the first web process the app's guid
    std::string dir = options_.data_dir + "/apps/" + guid;
    std::filesystem::create_directories(dir);
    app->log_file = dir + "/app.log";
    Log("app " + name + " created");
  }
  if (a.contains("env")) app->env = a["env"];
  // `buildpacks: [name]` (or the older `buildpack: name`): the first one decides.
  if (a.contains("buildpacks") && a["buildpacks"].is_array() && !a["buildpacks"].empty() &&
      a["buildpacks"][0].is_string()) {
    app->buildpack = a["buildpacks"][0].get<std::string>();
  } else if (!Text(a, "buildpack").empty()) {
    app->buildpack = Text(a, "buildpack");
  }
  if (a.contains("docker") && a["docker"].is_object()) {
    app->docker_image = a["docker"].value("image", "");
  }
  if (Status st = RefuseWhileDeploying(*app, a); !st.ok()) {
    return FailedPrecondition(st.message());
  }
  Process& web = app->web;
  if (a.contains("command")) web.command = Text(a, "command");
  if (a.contains("health-check-type")) {
    web.health_type =
        Text(a, "health-check-type") == "none" ? "process" : Text(a, "health-check-type");
  }
  if (a.contains("health-check-http-endpoint")) {
    web.health_endpoint = Text(a, "health-check-http-endpoint");
  }
  if (a.contains("timeout")) web.timeout_s = std::stoi(Text(a, "timeout"));
  if (a.contains("instances")) web.instances = std::stoi(Text(a, "instances"));
  if (a.contains("memory")) app->memory = Text(a, "memory");
  return ApplyRoutes(*app, a);
}

// Cloud Controller refuses to change a web process (command, instances, memory, health check)
// while a deployment of its app is ACTIVE; the apply_manifest job FAILS with this error.
Status FakeCloudFoundry::Impl::RefuseWhileDeploying(const App& app, const Json& a) {
  const Deployment* active = nullptr;
  for (const auto& [g, d] : state_.deployments) {
    if (d.app_guid == app.guid && d.value == "ACTIVE") active = &d;
  }
  if (!active) return Status::Ok();
  const Process& p = active->process;
  auto differs = [&](const char* key, const std::string& current) {
    return a.contains(key) && Text(a, key) != current;
  };
  if (differs("command", p.command) || differs("instances", std::to_string(p.instances)) ||
      differs("memory", app.memory) || differs("health-check-type", p.health_type) ||
      differs("health-check-http-endpoint", p.health_endpoint) ||
      differs("timeout", std::to_string(p.timeout_s))) {
    return FailedPrecondition("Cannot update this process while a deployment is in flight.");
  }
  return Status::Ok();
}

}  // namespace baton::testing::fakecf
