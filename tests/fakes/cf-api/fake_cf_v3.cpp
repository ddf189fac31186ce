// The stand-in's app, package, build and droplet endpoints (CC v3 shapes and states).
#include <filesystem>
#include <fstream>

#include "cf-api/fake_cf_impl.h"

namespace baton::testing::fakecf {
namespace {

using webapi::Request;
using webapi::Response;

Json Link(const std::string& href) { return {{"href", href}}; }

// The Main-Class of the jar whose contents are `bits_dir` (META-INF/MANIFEST.MF), or "".
std::string JarMainClass(const std::string& bits_dir) {
  std::ifstream in(bits_dir + "/META-INF/MANIFEST.MF");
  const std::string key = "Main-Class:";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) != 0) continue;
    std::string value = line.substr(key.size());
    value.erase(0, value.find_first_not_of(" \t"));
    value.erase(value.find_last_not_of(" \t\r") + 1);
    return value;
  }
  return "";
}

Json AppJson(const App& a, const std::string& url) {
  std::string self = url + "/v3/apps/" + a.guid;
  return {{"guid", a.guid},
          {"name", a.name},
          {"state", a.state},
          {"created_at", Rfc3339Now()},
          {"updated_at", Rfc3339Now()},
          {"lifecycle",
           {{"type", "buildpack"},
            {"data", {{"buildpacks", {"binary_buildpack"}}, {"stack", "cflinuxfs4"}}}}},
          {"relationships", {{"space", {{"data", {{"guid", a.space_guid}}}}}}},
          {"metadata", {{"labels", Json::object()}, {"annotations", Json::object()}}},
          {"links",
           {{"self", Link(self)},
            {"processes", Link(self + "/processes")},
            {"packages", Link(self + "/packages")},
            {"current_droplet", Link(self + "/droplets/current")},
            {"start", {{"href", self + "/actions/start"}, {"method", "POST"}}},
            {"stop", {{"href", self + "/actions/stop"}, {"method", "POST"}}}}}};
}

Json PackageJson(const Package& p, const std::string& url) {
  std::string self = url + "/v3/packages/" + p.guid;
  return {{"guid", p.guid},
          {"type", p.type},
          {"data", p.type == "docker"
                       ? Json{{"image", p.image}}
                       : Json{{"checksum", {{"type", "sha256"}, {"value", nullptr}}},
                              {"error", p.error.empty() ? Json(nullptr) : Json(p.error)}}},
          {"state", p.state},
          {"created_at", Rfc3339Now()},
          {"updated_at", Rfc3339Now()},
          {"relationships", {{"app", {{"data", {{"guid", p.app_guid}}}}}}},
          {"links",
           {{"self", Link(self)},
            {"upload", {{"href", self + "/upload"}, {"method", "POST"}}},
            {"app", Link(url + "/v3/apps/" + p.app_guid)}}}};
}

Json BuildJson(const Build& b, const std::string& url) {
  return {{"guid", b.guid},
          {"state", b.state},
          {"error", b.state == "FAILED" ? Json(b.error) : Json(nullptr)},
          {"lifecycle", {{"type", "buildpack"}, {"data", {{"buildpacks", {"binary_buildpack"}}}}}},
          {"package", {{"guid", b.package_guid}}},
          {"droplet", b.state == "STAGED" ? Json{{"guid", b.droplet_guid}} : Json(nullptr)},
          {"relationships", {{"app", {{"data", {{"guid", b.app_guid}}}}}}},
          {"created_at", Rfc3339Now()},
          {"links", {{"self", Link(url + "/v3/builds/" + b.guid)}}}};
}

bool JsonBody(const Request& req) {
  return req.headers.Get("Content-Type").value_or("").rfind("application/json", 0) == 0;
}

Response NeedsJson() {
  return CfError(400, 1001, "CF-MessageParseError",
                 "Request invalid due to parse error: invalid request body (JSON expected)");
}

Json ParseBody(const Request& req) { return Json::parse(req.body, nullptr, false); }

}  // namespace

void FakeCloudFoundry::Impl::AddAppRoutes(webapi::Router& r) {
  r.Add("GET", "/v3/apps", Locked(true, [this](Request& req) {
          Json list = Json::array();
          std::string names = req.Query("names").value_or("");
          std::string spaces = req.Query("space_guids").value_or(state_.space_guid);
          for (const auto& [g, a] : state_.apps) {
            if ((names.empty() || names == a.name) && spaces == a.space_guid) {
              list.push_back(AppJson(a, url_));
            }
          }
          return Response::Json(200, ListOf(url_, req, list, options_.per_page));
        }));
  r.Add("GET", "/v3/apps/:guid", Locked(true, [this](Request& req) {
          auto it = state_.apps.find(req.Param("guid"));
          if (it == state_.apps.end()) return NotFoundError("App");
          return Response::Json(200, AppJson(it->second, url_));
        }));
  r.Add("POST", "/v3/packages", Locked(true, [this](Request& req) {
          if (!JsonBody(req)) return NeedsJson();
          Json body = ParseBody(req);
          std::string type = body.is_object() ? body.value("type", "") : "";
          if (type != "bits" && type != "docker") {
            return UnprocessableEntity("Type must be one of 'bits', 'docker'");
          }
          std::string app = body.value("/relationships/app/data/guid"_json_pointer, "");
          if (!state_.apps.count(app)) return UnprocessableEntity("App must exist");
          // CC: the package type must match the app's lifecycle (docker.image in the manifest).
          bool docker_app = !state_.apps[app].docker_image.empty();
          if (type == "bits" && docker_app) {
            return UnprocessableEntity("Cannot create bits package for a Docker app.");
          }
          if (type == "docker" && !docker_app) {
            return UnprocessableEntity("Cannot create Docker package for a buildpack app.");
          }
          Package p;
          p.guid = NewGuid();
          p.app_guid = app;
          p.type = type;
          p.bits_dir = options_.data_dir + "/packages/" + p.guid;
          if (type == "docker") {
            p.image = body.value("/data/image"_json_pointer, "");
            if (p.image.empty()) return UnprocessableEntity("Data Image required");
            p.state = "READY";  // nothing to upload
            std::filesystem::create_directories(p.bits_dir);
            Log("docker package " + p.guid + " for image " + p.image +
                " (the stand-in does not pull images; it runs the manifest's command)");
          }
          state_.packages[p.guid] = p;
          return Response::Json(201, PackageJson(p, url_));
        }));
  r.Add("GET", "/v3/packages/:guid", Locked(true, [this](Request& req) {
          auto it = state_.packages.find(req.Param("guid"));
          if (it == state_.packages.end()) return NotFoundError("Package");
          return Response::Json(200, PackageJson(it->second, url_));
        }));
  r.Add("POST", "/v3/packages/:guid/upload", Locked(true, [this](Request& req) {
          auto it = state_.packages.find(req.Param("guid"));
          if (it == state_.packages.end()) return NotFoundError("Package");
          Package& p = it->second;
          if (p.type == "docker") {
            return UnprocessableEntity("Package type must be bits to upload bits.");
          }
          if (p.state != "AWAITING_UPLOAD") {
            return UnprocessableEntity("Package is " + p.state + "; bits were already uploaded");
          }
          auto zip = MultipartFile(req.headers.Get("Content-Type").value_or(""), req.body, "bits");
          if (!zip.ok()) return CfError(400, 1001, "CF-MessageParseError", zip.status().message());
          if (state_.fail_at == FailAt::kUpload) {
            return UnprocessableEntity("the stand-in was told to fail at upload");
          }
          // Like CC, answer at once and process the bits in the background.
          p.state = "PROCESSING_UPLOAD";
          auto bits = std::make_shared<std::string>(std::move(*zip));
          unzippers_.emplace_back([this, guid = p.guid, dir = p.bits_dir, bits] {
            std::filesystem::create_directories(dir);
            Status st = UnzipBits(*bits, dir);
            std::lock_guard<std::mutex> lock(mu_);
            auto package = state_.packages.find(guid);
            if (package == state_.packages.end()) return;
            package->second.state = st.ok() ? "READY" : "FAILED";
            if (!st.ok()) {
              package->second.error = st.message() + " (stand-in check)";
              Log("refused an upload: " + st.message());
              std::error_code ec;
              std::filesystem::remove_all(dir, ec);
            }
          });
          return Response::Json(200, PackageJson(p, url_));
        }));
  r.Add("POST", "/v3/builds", Locked(true, [this](Request& req) {
          if (!JsonBody(req)) return NeedsJson();
          Json body = ParseBody(req);
          std::string guid = body.is_object() ? body.value("/package/guid"_json_pointer, "") : "";
          auto it = state_.packages.find(guid);
          if (it == state_.packages.end()) return UnprocessableEntity("Unable to use package.");
          if (it->second.state != "READY") {
            return CfError(422, 10008, "CF-UnprocessableEntity",
                           "Package is " + it->second.state +
                               "; upload its bits and wait for READY before staging");
          }
          App& app = state_.apps[it->second.app_guid];
          Build b;
          b.guid = NewGuid();
          b.app_guid = app.guid;
          b.package_guid = guid;
          b.done_at = Steady::now() + std::chrono::milliseconds(300);
          const bool java = app.buildpack == "java_buildpack";
          AppLog(app, "staging package " + guid +
                          (it->second.type == "docker" ? " (docker image " + it->second.image + ")"
                                                       : " with " + app.buildpack));
          // java_buildpack's Java Main container: without a command, the pushed jar's
          // Main-Class is run (on the host's java; a real cell uses the buildpack's JRE).
          std::string start = app.web.command;
          if (start.empty() && java) {
            std::string main_class = JarMainClass(it->second.bits_dir);
            if (!main_class.empty()) start = "java -cp . " + main_class;
          }
          if (state_.fail_at == FailAt::kStaging) {
            b.error = "StagingError - Staging error: the stand-in was told to fail staging";
          } else if (start.empty() && java) {
            b.error =
                "StagingError - Staging error: No container can run this application. Please "
                "ensure that you've pushed a valid JVM artifact or artifacts using the -p "
                "command line argument or path manifest entry.";
          } else if (start.empty()) {
            b.error =
                "StagingError - Staging error: binary_buildpack needs a start command "
                "(set `command` in the manifest)";
          } else {
            Droplet d;
            d.guid = NewGuid();
            d.app_guid = app.guid;
            d.dir = it->second.bits_dir;  // binary_buildpack: the droplet is the bits
            d.command = start;
            state_.droplets[d.guid] = d;
            b.droplet_guid = d.guid;
          }
          if (!b.error.empty()) AppLog(app, b.error);
          state_.builds[b.guid] = b;
          return Response::Json(201, BuildJson(b, url_));
        }));
  r.Add("GET", "/v3/builds/:guid", Locked(true, [this](Request& req) {
          auto it = state_.builds.find(req.Param("guid"));
          if (it == state_.builds.end()) return NotFoundError("Build");
          return Response::Json(200, BuildJson(it->second, url_));
        }));
  r.Add("GET", "/v3/droplets/:guid", Locked(true, [this](Request& req) {
          auto it = state_.droplets.find(req.Param("guid"));
          if (it == state_.droplets.end()) return NotFoundError("Droplet");
          const Droplet& d = it->second;
          return Response::Json(
              200, Json{{"guid", d.guid},
                        {"state", d.state},
                        {"process_types", {{"web", d.command}}},
                        {"relationships", {{"app", {{"data", {{"guid", d.app_guid}}}}}}},
                        {"links", {{"self", Link(url_ + "/v3/droplets/" + d.guid)}}}});
        }));
  r.Add("PATCH", "/v3/apps/:guid/relationships/current_droplet", Locked(true, [this](Request& req) {
          auto app = state_.apps.find(req.Param("guid"));
          if (app == state_.apps.end()) return NotFoundError("App");
          if (!JsonBody(req)) return NeedsJson();
          Json body = ParseBody(req);
          std::string guid = body.is_object() ? body.value("/data/guid"_json_pointer, "") : "";
          auto d = state_.droplets.find(guid);
          if (d == state_.droplets.end() || d->second.app_guid != app->second.guid) {
            return UnprocessableEntity(
                "Unable to assign current droplet. Ensure the droplet "
                "exists and belongs to this app.");
          }
          app->second.current_droplet = guid;
          return Response::Json(200, Json{{"data", {{"guid", guid}}}});
        }));
}

}  // namespace baton::testing::fakecf
