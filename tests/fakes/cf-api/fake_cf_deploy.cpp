// The stand-in's start/stop, deployments, processes and their stats, routes and log-cache.
#include <fstream>
#include <sstream>

#include "cf-api/fake_cf_impl.h"

namespace baton::testing::fakecf {
namespace {

using webapi::Request;
using webapi::Response;

Response QuotaExceeded() {
  return CfError(422, 100005, "CF-AppMemoryQuotaExceeded",
                 "You have exceeded your organization's memory limit: app requested more memory "
                 "than available (the stand-in was told to fail at quota)");
}

Json ProcessJson(const Process& p, const std::string& app_guid, const std::string& url) {
  return {{"guid", p.guid},
          {"type", p.type},
          {"command", p.command},
          {"instances", p.instances},
          {"memory_in_mb", 256},
          {"health_check",
           {{"type", p.health_type},
            {"data",
             {{"endpoint", p.health_type == "http" ? Json(p.health_endpoint) : Json(nullptr)},
              {"timeout", p.timeout_s}}}}},
          {"relationships", {{"app", {{"data", {{"guid", app_guid}}}}}}},
          {"links", {{"self", {{"href", url + "/v3/processes/" + p.guid}}}}}};
}

Json DeploymentJson(const Deployment& d, const std::string& url) {
  return {{"guid", d.guid},
          {"state", d.value == "FINALIZED" ? "DEPLOYED" : "DEPLOYING"},
          {"status", {{"value", d.value}, {"reason", d.reason}, {"details", Json::object()}}},
          {"strategy", "rolling"},
          {"droplet", {{"guid", d.droplet_guid}}},
          {"new_processes", Json::array({{{"guid", d.process.guid}, {"type", "web"}}})},
          {"relationships", {{"app", {{"data", {{"guid", d.app_guid}}}}}}},
          {"links", {{"self", {{"href", url + "/v3/deployments/" + d.guid}}}}}};
}

Json InstanceJson(int index, const std::string& state, uint16_t port) {
  Json one = {{"type", "web"},           {"index", index}, {"state", state},
              {"host", "127.0.0.1"},     {"uptime", 0},    {"mem_quota", 268435456},
              {"disk_quota", 1073741824}};
  if (state == "RUNNING") one["instance_ports"] = {{{"external", port}, {"internal", 8080}}};
  return one;
}

// One entry per desired instance, as CC reports them (DOWN when not running at all).
Json StatsJson(const Instances& instances, int desired) {
  Json out = Json::array();
  for (const auto& i : instances) out.push_back(InstanceJson(i->index, i->state, i->port));
  for (int index = static_cast<int>(instances.size()); index < desired; ++index) {
    out.push_back(InstanceJson(index, "DOWN", 0));
  }
  return {{"resources", out}};
}

}  // namespace

void FakeCloudFoundry::Impl::AddDeployRoutes(webapi::Router& r) {
  r.Add("POST", "/v3/apps/:guid/actions/start", Locked(true, [this](Request& req) {
          auto it = state_.apps.find(req.Param("guid"));
          if (it == state_.apps.end()) return NotFoundError("App");
          App& app = it->second;
          if (app.current_droplet.empty()) {
            return UnprocessableEntity("Assign a droplet before starting this app.");
          }
          if (state_.fail_at == FailAt::kQuota) return QuotaExceeded();
          if (app.state != "STARTED") {
            app.state = "STARTED";
            Retire(app.instances);
            app.instances = Launch(app, app.web, state_.droplets[app.current_droplet]);
          }
          return Response::Json(200,
                                Json{{"guid", app.guid}, {"name", app.name}, {"state", app.state}});
        }));
  r.Add("POST", "/v3/apps/:guid/actions/stop", Locked(true, [this](Request& req) {
          auto it = state_.apps.find(req.Param("guid"));
          if (it == state_.apps.end()) return NotFoundError("App");
          App& app = it->second;
          app.state = "STOPPED";
          Retire(app.instances);
          AppLog(app, "stopped");
          return Response::Json(200,
                                Json{{"guid", app.guid}, {"name", app.name}, {"state", app.state}});
        }));
  r.Add("POST", "/v3/deployments", Locked(true, [this](Request& req) {
          Json body = Json::parse(req.body, nullptr, false);
          if (!body.is_object()) {
            return CfError(400, 1001, "CF-MessageParseError", "Request invalid due to parse error");
          }
          std::string app_guid = body.value("/relationships/app/data/guid"_json_pointer, "");
          auto it = state_.apps.find(app_guid);
          if (it == state_.apps.end()) return UnprocessableEntity("Unable to use app.");
          App& app = it->second;
          std::string droplet = body.value("/droplet/guid"_json_pointer, app.current_droplet);
          if (!state_.droplets.count(droplet) || state_.droplets[droplet].app_guid != app.guid) {
            return UnprocessableEntity("Unable to assign current droplet.");
          }
          if (state_.fail_at == FailAt::kQuota) return QuotaExceeded();
          for (auto& [g, d] : state_.deployments) {
            if (d.app_guid == app.guid && d.value == "ACTIVE") {
              d.value = "FINALIZED";
              d.reason = "SUPERSEDED";
              Retire(d.instances);
            }
          }
          Deployment d;
          d.guid = NewGuid();
          d.app_guid = app.guid;
          d.droplet_guid = droplet;
          d.process = app.web;
          d.process.guid = NewGuid();
          d.instances = Launch(app, d.process, state_.droplets[droplet]);
          app.state = "STARTED";
          AppLog(app, "rolling deployment " + d.guid + " started");
          Json out = DeploymentJson(d, url_);
          state_.deployments[d.guid] = std::move(d);
          return Response::Json(201, out);
        }));
  // CC puts the previous droplet's instances back and ends the deployment CANCELED.
  r.Add("POST", "/v3/deployments/:guid/actions/cancel", Locked(true, [this](Request& req) {
          auto it = state_.deployments.find(req.Param("guid"));
          if (it == state_.deployments.end()) return NotFoundError("Deployment");
          Deployment& d = it->second;
          if (d.value != "ACTIVE") {
            return UnprocessableEntity("Cannot cancel a deployment with status: " + d.value +
                                       " and reason: " + d.reason);
          }
          d.value = "FINALIZED";
          d.reason = "CANCELED";
          Retire(d.instances);
          App& app = state_.apps[d.app_guid];
          AppLog(app, "rolling deployment " + d.guid + " canceled");
          Log("app " + app.name + ": rolling deployment canceled; the old instance keeps serving");
          Response out = Response::Json(200, Json::object());
          out.body.clear();
          return out;
        }));
  r.Add("GET", "/v3/deployments/:guid", Locked(true, [this](Request& req) {
          auto it = state_.deployments.find(req.Param("guid"));
          if (it == state_.deployments.end()) return NotFoundError("Deployment");
          return Response::Json(200, DeploymentJson(it->second, url_));
        }));
  r.Add("GET", "/v3/apps/:guid/processes", Locked(true, [this](Request& req) {
          auto it = state_.apps.find(req.Param("guid"));
          if (it == state_.apps.end()) return NotFoundError("App");
          Json list = Json::array({ProcessJson(it->second.web, it->second.guid, url_)});
          return Response::Json(200, ListOf(url_, req, list, options_.per_page));
        }));
  r.Add("GET", "/v3/processes/:guid/stats", Locked(true, [this](Request& req) {
          std::string guid = req.Param("guid");
          for (const auto& [g, app] : state_.apps) {
            if (app.web.guid == guid) {
              return Response::Json(200,
                                    StatsJson(app.state == "STARTED" ? app.instances : Instances{},
                                              app.web.instances));
            }
          }
          for (const auto& [g, d] : state_.deployments) {
            if (d.process.guid == guid) {
              const Instances& inst =
                  d.value == "ACTIVE" ? d.instances : state_.apps[d.app_guid].instances;
              return Response::Json(200, StatsJson(inst, d.process.instances));
            }
          }
          return NotFoundError("Process");
        }));
  r.Add("GET", "/logcache/api/v1/read/:guid", Locked(true, [this](Request& req) {
          auto it = state_.apps.find(req.Param("guid"));
          auto query = LogQuery::From(req);
          if (!query.ok()) {
            return Response::Json(400, Json{{"error", query.status().message()}});
          }
          Json batch = Json::array();
          if (it != state_.apps.end()) batch = ReadLogCache(it->second, *query);
          return Response::Json(200, Json{{"envelopes", {{"batch", batch}}}});
        }));
}

}  // namespace baton::testing::fakecf
