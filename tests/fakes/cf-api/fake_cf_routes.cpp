// The stand-in's routes: mapped only as the manifest asks (routes, no-route, random-route,
// default-route), as Cloud Controller's apply_manifest does, under the one shared domain.
#include <openssl/rand.h>

#include "cf-api/fake_cf_impl.h"

namespace baton::testing::fakecf {
namespace {

using webapi::Request;
using webapi::Response;

bool Flag(const Json& a, const char* key) {
  if (!a.contains(key)) return false;
  const Json& v = a[key];
  return v.is_boolean() ? v.get<bool>() : (v.is_string() && v.get<std::string>() == "true");
}

// A word pair like the CLI's random routes ("brave-otter-ab").
std::string RandomHostSuffix() {
  static const char* kAdjectives[] = {"brave", "calm", "eager", "fuzzy", "quiet", "shy"};
  static const char* kNouns[] = {"otter", "heron", "badger", "lynx", "wren", "bison"};
  unsigned char b[3];
  RAND_bytes(b, sizeof b);
  return std::string(kAdjectives[b[0] % 6]) + "-" + kNouns[b[1] % 6] + "-" +
         "abcdefghijklmnopqrstuvwxyz"[b[2] % 26];
}

Json RouteJson(const MappedRoute& r, const App& app, const std::string& url) {
  return {{"guid", r.guid},
          {"protocol", "http"},
          {"host", r.host},
          {"path", ""},
          {"url", r.Url()},
          {"destinations",
           Json::array({{{"app", {{"guid", app.guid}, {"process", {{"type", "web"}}}}}}})},
          {"relationships", {{"space", {{"data", {{"guid", app.space_guid}}}}}}},
          {"links", {{"self", {{"href", url + "/v3/routes/" + r.guid}}}}}};
}

}  // namespace

Status FakeCloudFoundry::Impl::ApplyRoutes(App& app, const Json& a) {
  std::vector<std::string> hosts;  // the hosts to map under the shared domain
  const std::string& domain = options_.domain;
  if (a.contains("routes")) {
    if (!a["routes"].is_array()) return InvalidArgument("Routes must be a list of route objects");
    for (const Json& r : a["routes"]) {
      std::string route = r.is_object() && r.contains("route") && r["route"].is_string()
                              ? r["route"].get<std::string>()
                              : "";
      if (route.empty()) return InvalidArgument("Routes must be a list of route objects");
      if (route == domain) {
        hosts.push_back("");
      } else if (route.size() > domain.size() &&
                 route.compare(route.size() - domain.size() - 1, std::string::npos, "." + domain) ==
                     0) {
        hosts.push_back(route.substr(0, route.size() - domain.size() - 1));
      } else {
        return FailedPrecondition("The route '" + route + "' did not match any existing domains.");
      }
    }
  }
  if (Flag(a, "no-route")) {
    // Stopping a proxy joins its threads, which may wait for mu_: stop them in Stop().
    for (auto& r : app.routes) state_.unmapped_proxies.push_back(std::move(r->proxy));
    app.routes.clear();
    return Status::Ok();
  }
  if (hosts.empty() && app.routes.empty()) {
    if (Flag(a, "random-route")) hosts.push_back(app.name + "-" + RandomHostSuffix());
    if (Flag(a, "default-route")) hosts.push_back(app.name);
  }
  for (const auto& host : hosts) {
    bool mapped = false;
    for (const auto& r : app.routes) mapped = mapped || r->host == host;
    if (mapped) continue;
    auto route = std::make_unique<MappedRoute>();
    route->guid = NewGuid();
    route->host = host;
    route->domain = domain;
    BATON_RETURN_IF_ERROR(StartProxy(app, *route));
    Log("app " + app.name + ": route " + route->Url() + " mapped (the stand-in serves it at " +
        route->loopback + ")");
    app.routes.push_back(std::move(route));
  }
  return Status::Ok();
}

void FakeCloudFoundry::Impl::AddRouteRoutes(webapi::Router& r) {
  r.Add("GET", "/v3/apps/:guid/routes", Locked(true, [this](Request& req) {
          auto it = state_.apps.find(req.Param("guid"));
          if (it == state_.apps.end()) return NotFoundError("App");
          Json list = Json::array();
          for (const auto& route : it->second.routes) {
            list.push_back(RouteJson(*route, it->second, url_));
          }
          return Response::Json(200, ListOf(url_, req, list, options_.per_page));
        }));
}

}  // namespace baton::testing::fakecf
