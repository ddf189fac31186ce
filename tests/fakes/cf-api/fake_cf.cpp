// The stand-in's control plane: API root, UAA tokens, organizations, spaces, apply_manifest and
// its job, and the /fake/* routes for tests and the demo.
#include <openssl/rand.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <stdexcept>

#include "cf-api/fake_cf_impl.h"

namespace baton::testing::fakecf {
namespace {

using webapi::Request;
using webapi::Response;

constexpr const char* kStages[] = {"none",   "auth",    "org",   "space", "manifest",
                                   "upload", "staging", "crash", "quota"};

std::string Token() {
  unsigned char b[24];
  RAND_bytes(b, sizeof b);
  std::string out;
  for (unsigned char c : b) out += "0123456789abcdef"[c >> 4], out += "0123456789abcdef"[c & 15];
  return out;
}

std::map<std::string, std::string> FormFields(const std::string& body) {
  std::map<std::string, std::string> out;
  auto parsed = net::ParseQuery(body);
  if (parsed) {
    for (const auto& [k, v] : *parsed) out.emplace(k, v);
  }
  return out;
}

Json YamlToJson(const YAML::Node& node) {
  if (node.IsMap()) {
    Json out = Json::object();
    for (const auto& kv : node) out[kv.first.Scalar()] = YamlToJson(kv.second);
    return out;
  }
  if (node.IsSequence()) {
    Json out = Json::array();
    for (const auto& item : node) out.push_back(YamlToJson(item));
    return out;
  }
  if (node.IsScalar()) return node.Scalar();
  return nullptr;
}

Json OrgOrSpace(const std::string& guid, const std::string& name, const std::string& url) {
  return {{"guid", guid},
          {"name", name},
          {"created_at", Rfc3339Now()},
          {"updated_at", Rfc3339Now()},
          {"metadata", {{"labels", Json::object()}, {"annotations", Json::object()}}},
          {"links", {{"self", {{"href", url}}}}}};
}

}  // namespace

const char* ToString(FailAt stage) { return kStages[static_cast<int>(stage)]; }

Result<FailAt> ParseFailAt(const std::string& text) {
  if (text == "start") return FailAt::kCrash;
  for (int i = 0; i < static_cast<int>(std::size(kStages)); ++i) {
    if (text == kStages[i]) return static_cast<FailAt>(i);
  }
  return InvalidArgument("unknown stage '" + text +
                         "' (auth, org, space, manifest, upload, staging, start, crash, quota)");
}

webapi::Handler FakeCloudFoundry::Impl::Locked(bool auth, std::function<Response(Request&)> body) {
  return [this, auth, body = std::move(body)](Request& req) {
    std::lock_guard<std::mutex> lock(mu_);
    state_.requests.push_back(req.method + " " + req.path);
    Advance();
    if (auto fault = TakeFault(req)) return *fault;
    if (auth) {
      std::string header = req.headers.Get("Authorization").value_or("");
      std::string lower = header.substr(0, 7);
      for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (lower != "bearer " || !state_.access_tokens.count(header.substr(7))) {
        return InvalidAuthToken();
      }
    }
    return body(req);
  };
}

void FakeCloudFoundry::Impl::Advance() {
  auto now = Steady::now();
  for (auto& [g, job] : state_.jobs) {
    if (job.state == "PROCESSING" && now >= job.done_at)
      job.state = job.errors.empty() ? "COMPLETE" : "FAILED";
  }
  for (auto& [g, b] : state_.builds) {
    if (b.state == "STAGING" && now >= b.done_at) b.state = b.error.empty() ? "STAGED" : "FAILED";
  }
}

std::optional<Response> FakeCloudFoundry::Impl::TakeFault(const Request& req) {
  for (auto& f : state_.faults) {
    if (f.count <= 0 || f.method != req.method || req.path.find(f.path) == std::string::npos) {
      continue;
    }
    --f.count;
    Log("answering " + std::to_string(f.status) + " to " + req.method + " " + req.path +
        " (told to fail once)");
    if (f.status == 429) {
      Response out = CfError(429, 10013, "CF-RateLimitExceeded", "Rate Limit Exceeded");
      if (f.retry_after > 0) out.headers.Set("Retry-After", std::to_string(f.retry_after));
      return out;
    }
    if (f.status == 502 || f.status == 504) {  // from gorouter, not CC: no CF error body
      return Response::Text(f.status, std::to_string(f.status) +
                                          " Bad Gateway: Registered endpoint failed to handle "
                                          "the request. (stand-in router)\n");
    }
    return CfError(f.status, 10015, "CF-ServiceUnavailable",
                   "The stand-in was told to fail this request once");
  }
  return std::nullopt;
}

Result<Fault> ParseFault(const std::string& text) {
  std::vector<std::string> parts;
  for (size_t at = 0;;) {
    size_t colon = text.find(':', at);
    parts.push_back(text.substr(at, colon - at));
    if (colon == std::string::npos) break;
    at = colon + 1;
  }
  Fault f;
  try {
    if (parts.size() < 3 || parts.size() > 5) throw std::invalid_argument("parts");
    f.status = std::stoi(parts[0]);
    f.method = parts[1];
    f.path = parts[2];
    if (parts.size() > 3) f.count = std::stoi(parts[3]);
    if (parts.size() > 4) f.retry_after = std::stoi(parts[4]);
  } catch (const std::exception&) {
    return InvalidArgument("bad fault '" + text +
                           "': want STATUS:METHOD:PATH[:COUNT[:RETRY_AFTER]], e.g. "
                           "502:GET:/v3/builds/");
  }
  return f;
}

void FakeCloudFoundry::Impl::AddControlRoutes(webapi::Router& r) {
  r.Add("GET", "/", Locked(false, [this](Request&) {
          Json links = {
              {"self", {{"href", url_}}},
              {"cloud_controller_v2", nullptr},
              {"cloud_controller_v3", {{"href", url_ + "/v3"}, {"meta", {{"version", "3.180.0"}}}}},
              // Two hosts in a real foundation, both UAA; the CLI asks links.login for tokens,
              // and the stand-in grants them only there, so a client that uses links.uaa fails.
              {"login", {{"href", url_ + "/login"}}},
              {"uaa", {{"href", url_ + "/uaa"}}},
              {"log_cache", {{"href", url_ + "/logcache"}}},
              {"stand_in", {{"href", url_ + "/fake/apps"}}}};
          return Response::Json(200, Json{{"links", links}});
        }));
  r.Add(
      "POST", "/login/oauth/token", Locked(false, [this](Request& req) {
        if (req.headers.Get("Content-Type")
                .value_or("")
                .rfind("application/x-www-form-urlencoded", 0) != 0) {
          return Response::Json(
              400, Json{{"error", "invalid_request"}, {"error_description", "form body expected"}});
        }
        std::string basic = req.headers.Get("Authorization").value_or("");
        if (basic.rfind("Basic ", 0) != 0) {
          return Response::Json(401, Json{{"error", "unauthorized"},
                                          {"error_description", "client authentication missing"}});
        }
        auto form = FormFields(req.body);
        std::string grant = form["grant_type"];
        bool ok = false;
        if (grant == "password") {
          ok = basic == "Basic " + Base64Encode("cf:") && form["username"] == options_.user &&
               form["password"] == options_.password;
        } else if (grant == "client_credentials") {
          ok = basic == "Basic " + Base64Encode(options_.user + ":" + options_.password);
        } else if (grant == "refresh_token") {
          ok = state_.refresh_tokens.count(form["refresh_token"]) > 0;
        }
        if (state_.fail_at == FailAt::kAuth) ok = false;
        if (!ok) {
          Log("UAA refused a " + grant + " grant");
          return Response::Json(
              401, Json{{"error", "unauthorized"}, {"error_description", "Bad credentials"}});
        }
        ++state_.grants[grant];
        std::string access = Token(), refresh = Token();
        state_.access_tokens.insert(access);
        state_.refresh_tokens.insert(refresh);
        Json out = {{"access_token", access},
                    {"token_type", "bearer"},
                    {"expires_in", 599},
                    {"scope", "cloud_controller.read cloud_controller.write"},
                    {"jti", NewGuid()}};
        if (grant != "client_credentials") out["refresh_token"] = refresh;
        return Response::Json(200, out);
      }));
  r.Add("GET", "/v3/organizations", Locked(true, [this](Request& req) {
          Json list = Json::array();
          if (req.Query("names").value_or(options_.org) == options_.org &&
              state_.fail_at != FailAt::kOrg) {
            list.push_back(OrgOrSpace(state_.org_guid, options_.org,
                                      url_ + "/v3/organizations/" + state_.org_guid));
          }
          return Response::Json(200, ListOf(url_, req, list, options_.per_page));
        }));
  r.Add("GET", "/v3/spaces", Locked(true, [this](Request& req) {
          Json list = Json::array();
          if (req.Query("names").value_or(options_.space) == options_.space &&
              req.Query("organization_guids").value_or(state_.org_guid) == state_.org_guid &&
              state_.fail_at != FailAt::kSpace) {
            Json s = OrgOrSpace(state_.space_guid, options_.space,
                                url_ + "/v3/spaces/" + state_.space_guid);
            s["relationships"] = {{"organization", {{"data", {{"guid", state_.org_guid}}}}}};
            list.push_back(s);
          }
          return Response::Json(200, ListOf(url_, req, list, options_.per_page));
        }));
  r.Add("POST", "/v3/spaces/:guid/actions/apply_manifest", Locked(true, [this](Request& req) {
          if (req.Param("guid") != state_.space_guid) return NotFoundError("Space");
          if (req.headers.Get("Content-Type").value_or("").rfind("application/x-yaml", 0) != 0) {
            return CfError(400, 1001, "CF-MessageParseError",
                           "Request invalid due to parse error: Content-Type must be "
                           "application/x-yaml");
          }
          Json doc;
          try {
            doc = YamlToJson(YAML::Load(req.body));
          } catch (const YAML::Exception& e) {
            return CfError(400, 1001, "CF-MessageParseError",
                           std::string("Request invalid due to parse error: ") + e.what());
          }
          if (!doc.is_object() || !doc.contains("applications") ||
              !doc["applications"].is_array() || doc["applications"].empty()) {
            return UnprocessableEntity("Applications must be an array of applications");
          }
          Job job;
          job.guid = NewGuid();
          job.operation = "space.apply_manifest";
          job.done_at = Steady::now() + std::chrono::milliseconds(150);
          for (const Json& a : doc["applications"]) {
            Status st = ApplyApplication(a);
            if (st.code() == StatusCode::kFailedPrecondition) {  // found by the job, as CC does
              job.errors.push_back(
                  {{"code", 10008},
                   {"title", "CF-UnprocessableEntity"},
                   {"detail", "For application '" + a.value("name", "") + "': " + st.message()}});
            } else if (!st.ok()) {
              return UnprocessableEntity(st.message());
            }
          }
          if (state_.fail_at == FailAt::kManifest) {
            job.errors.push_back(
                {{"code", 10008},
                 {"title", "CF-UnprocessableEntity"},
                 {"detail", "For application '" + doc["applications"][0].value("name", "") +
                                "': the stand-in was told to fail at manifest"}});
          }
          state_.jobs[job.guid] = job;
          Response out = Response::Json(202, Json::object());
          out.body.clear();
          out.headers.Set("Location", url_ + "/v3/jobs/" + job.guid);
          return out;
        }));
  r.Add("GET", "/v3/jobs/:guid", Locked(true, [this](Request& req) {
          auto it = state_.jobs.find(req.Param("guid"));
          if (it == state_.jobs.end()) return NotFoundError("Job");
          const Job& j = it->second;
          return Response::Json(
              200, Json{{"guid", j.guid},
                        {"operation", j.operation},
                        {"state", j.state},
                        {"errors", j.state == "FAILED" ? j.errors : Json::array()},
                        {"warnings", Json::array()},
                        {"created_at", Rfc3339Now()},
                        {"updated_at", Rfc3339Now()},
                        {"links", {{"self", {{"href", url_ + "/v3/jobs/" + j.guid}}}}}});
        }));
  r.Add("GET", "/fake/apps", [this](Request&) {
    Json out = Json::array();
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [g, app] : state_.apps) {
      Json routes = Json::array();
      for (const auto& r : app.routes)
        routes.push_back({{"route", r->Url()}, {"url", r->loopback}});
      out.push_back({{"name", app.name},
                     {"state", app.state},
                     {"url", app.routes.empty() ? "" : app.routes[0]->loopback},
                     {"routes", routes}});
    }
    return Response::Json(200, out);
  });
  r.Add("POST", "/fake/fail-at", [this](Request& req) {
    auto stage = ParseFailAt(req.Query("stage").value_or("none"));
    if (!stage.ok()) return webapi::JsonError(400, stage.status().message());
    std::lock_guard<std::mutex> lock(mu_);
    state_.fail_at = *stage;
    Log(std::string("now failing at: ") + ToString(*stage));
    return Response::Json(200, Json{{"fail_at", ToString(*stage)}});
  });
  r.Add("POST", "/fake/fail-once", [this](Request& req) {
    auto fault = ParseFault(req.Query("fault").value_or(""));
    if (!fault.ok()) return webapi::JsonError(400, fault.status().message());
    std::lock_guard<std::mutex> lock(mu_);
    state_.faults.push_back(*fault);
    return Response::Json(200, Json{{"faults", state_.faults.size()}});
  });
  r.Add("POST", "/fake/expire-tokens", [this](Request&) {
    std::lock_guard<std::mutex> lock(mu_);
    state_.access_tokens.clear();
    return Response::Json(200, Json{{"expired", true}});
  });
}

}  // namespace baton::testing::fakecf
