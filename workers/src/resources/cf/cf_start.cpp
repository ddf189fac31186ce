// The last stages of a `cf` put: start (or a rolling deployment), waiting for RUNNING
// instances, the route and the app log.
#include <algorithm>

#include "baton/common/base64.h"
#include "resources/cf/cf_push.h"
#include "resources/resource_util.h"

namespace baton::workers::resources {
namespace {

std::string InstanceList(const std::vector<int>& indexes) {
  std::string out;
  for (int i : indexes) out += (out.empty() ? "" : ", ") + std::to_string(i);
  return out;
}

// As the cf CLI waits for a start: OK(true) once any instance of the process runs (Diego
// restarts crashed ones); an error when every instance has crashed.
Result<bool> InstancesRunning(const Json& stats, const std::string& process_type) {
  if (!stats.contains("resources") || !stats["resources"].is_array()) return false;
  if (stats["resources"].empty()) return false;
  std::vector<int> crashed;
  bool running = false;
  for (const Json& instance : stats["resources"]) {
    std::string state = instance.value("state", "");
    if (state == "CRASHED") crashed.push_back(instance.value("index", 0));
    running = running || state == "RUNNING";
  }
  if (!running && crashed.size() == stats["resources"].size()) {
    return FailedPrecondition("app crashed: every instance of " + process_type + " (" +
                              InstanceList(crashed) + ") is CRASHED");
  }
  return running;
}

// "2 of 3 instances of web running; instance 1 CRASHED (Cloud Foundry restarts it)".
std::string InstancesSummary(const Json& stats, const std::string& type) {
  int running = 0;
  std::vector<int> crashed;
  for (const Json& instance : stats["resources"]) {
    std::string state = instance.value("state", "");
    running += state == "RUNNING";
    if (state == "CRASHED") crashed.push_back(instance.value("index", 0));
  }
  std::string out = std::to_string(running) + " of " + std::to_string(stats["resources"].size()) +
                    " instance(s) of " + type + " running";
  if (!crashed.empty()) {
    out += "; CRASHED: instance " + InstanceList(crashed) + " (Cloud Foundry restarts them)";
  }
  return out;
}

Status WaitProcessRunning(const ResourceContext& ctx, CfClient& client, const std::string& guid,
                          const std::string& type, const CfPushOptions& options) {
  auto stats = PollUntil(ctx, client, "/v3/processes/" + guid + "/stats", options.start_timeout,
                         "instances of " + type + " to run",
                         [&](const Json& s) { return InstancesRunning(s, type); });
  if (!stats.ok()) return stats.status();
  LogLine(ctx, "cf: " + InstancesSummary(*stats, type));
  return Status::Ok();
}

Status WaitAllRunning(const ResourceContext& ctx, CfClient& client, const std::string& app,
                      const CfPushOptions& options) {
  BATON_ASSIGN_OR_RETURN(Json processes, client.GetAll("/v3/apps/" + app + "/processes"));
  for (const Json& p : processes.value("resources", Json::array())) {
    if (p.value("instances", 0) == 0) continue;
    BATON_RETURN_IF_ERROR(
        WaitProcessRunning(ctx, client, p.value("guid", ""), p.value("type", "web"), options));
  }
  return Status::Ok();
}

Result<bool> DeploymentFinished(const Json& d) {
  const Json status = d.value("status", Json::object());
  std::string value = status.value("value", "");
  std::string reason = status.value("reason", "");
  if (value != "FINALIZED") return false;
  if (reason == "DEPLOYED") return true;
  return FailedPrecondition("the deployment ended " + reason);
}

// A failed, timed-out or aborted rolling deployment stays ACTIVE in Cloud Controller, and every
// later manifest change to the app's process is refused "while a deployment is in flight": cancel
// it, as the cf CLI does, so the old instances keep serving and the next push can proceed.
void CancelDeployment(const ResourceContext& ctx, CfClient& client, const std::string& guid) {
  auto cancelled =
      client.SendJson("POST", "/v3/deployments/" + guid + "/actions/cancel", Json::object());
  if (cancelled.ok()) {
    LogLine(ctx,
            "cf: cancelled rolling deployment " + guid + "; the previous droplet keeps serving");
  } else {
    LogLine(ctx, "cf: could not cancel rolling deployment " + guid + " (" +
                     cancelled.status().message() + "); cancel it with `cf cancel-deployment`");
  }
}

Status Deploy(const ResourceContext& ctx, CfClient& client, const CfPushOptions& options,
              CfPushResult& result) {
  Json body = {{"droplet", {{"guid", result.droplet_guid}}},
               {"strategy", "rolling"},
               {"relationships", {{"app", {{"data", {{"guid", result.app_guid}}}}}}}};
  BATON_ASSIGN_OR_RETURN(Json deployment, client.SendJson("POST", "/v3/deployments", body));
  result.deployment_guid = deployment.value("guid", "");
  LogLine(ctx, "cf: rolling deployment " + result.deployment_guid + " started");
  auto done =
      PollUntil(ctx, client, "/v3/deployments/" + result.deployment_guid, options.start_timeout,
                "the rolling deployment", [&](const Json& d) -> Result<bool> {
                  for (const Json& p : d.value("new_processes", Json::array())) {
                    auto stats = client.Get("/v3/processes/" + p.value("guid", "") + "/stats");
                    if (!stats.ok()) return stats.status();
                    auto running = InstancesRunning(*stats, p.value("type", "web"));
                    if (!running.ok()) return running.status();
                  }
                  return DeploymentFinished(d);
                });
  if (done.ok()) {
    LogLine(ctx, "cf: rolling deployment finished");
    return Status::Ok();
  }
  CancelDeployment(ctx, client, result.deployment_guid);
  return done.status();
}

}  // namespace

Status StartApp(const ResourceContext& ctx, CfClient& client, const CfPushOptions& options,
                CfPushResult& result) {
  BATON_ASSIGN_OR_RETURN(Json app, client.Get("/v3/apps/" + result.app_guid));
  bool running = app.value("state", "") == "STARTED";
  if (options.rolling && running) {
    BATON_RETURN_IF_ERROR(Deploy(ctx, client, options, result));
    result.state = "STARTED";
    return WaitAllRunning(ctx, client, result.app_guid, options);
  }
  Json droplet = {{"data", {{"guid", result.droplet_guid}}}};
  if (running) {
    BATON_RETURN_IF_ERROR(
        client.SendJson("POST", "/v3/apps/" + result.app_guid + "/actions/stop", Json::object())
            .status());
  }
  BATON_RETURN_IF_ERROR(
      client
          .SendJson("PATCH", "/v3/apps/" + result.app_guid + "/relationships/current_droplet",
                    droplet)
          .status());
  BATON_RETURN_IF_ERROR(
      client.SendJson("POST", "/v3/apps/" + result.app_guid + "/actions/start", Json::object())
          .status());
  LogLine(ctx, "cf: starting " + result.app_name);
  result.state = "STARTED";
  return WaitAllRunning(ctx, client, result.app_guid, options);
}

Result<std::vector<std::string>> AppRoutes(CfClient& client, const std::string& app_guid) {
  BATON_ASSIGN_OR_RETURN(Json routes, client.GetAll("/v3/apps/" + app_guid + "/routes"));
  std::vector<std::string> out;
  for (const Json& r : routes.value("resources", Json::array())) {
    std::string url = r.value("url", "");
    if (!url.empty()) out.push_back(url);
  }
  return out;
}

void ShowAppLog(const ResourceContext& ctx, CfClient& client, const std::string& app_guid,
                SystemTime since) {
  if (client.log_cache_url().empty()) {
    LogLine(ctx, "cf: show_app_log: the API names no log_cache endpoint");
    return;
  }
  // Like `cf logs --recent`: the newest lines (descending), here only those of this push.
  int64_t start_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(since.time_since_epoch()).count();
  auto read = client.Get(client.log_cache_url() + "/api/v1/read/" + app_guid +
                         "?envelope_types=LOG&start_time=" + std::to_string(start_ns) +
                         "&descending=true&limit=200");
  if (!read.ok()) {
    LogLine(ctx, "cf: show_app_log: " + read.status().message());
    return;
  }
  Json batch = read->value("envelopes", Json::object()).value("batch", Json::array());
  if (!batch.is_array()) batch = Json::array();
  std::reverse(batch.begin(), batch.end());  // oldest first
  LogLine(ctx, "cf: app log since the push started (" + std::to_string(batch.size()) + " lines):");
  for (const Json& e : batch) {
    std::string source = e.value("tags", Json::object()).value("source_type", "APP");
    std::string payload =
        Base64Decode(e.value("log", Json::object()).value("payload", "")).value_or("");
    LogLine(ctx, "  [" + source + "] " + client.Redact(payload));
  }
}

}  // namespace baton::workers::resources
