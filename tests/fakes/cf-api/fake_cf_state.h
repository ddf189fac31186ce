// Private to the cf stand-in: its in-memory Cloud Controller state and the helpers shared by
// the route files. Everything in State is GUARDED_BY(Impl::mu_).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "baton/common/json.h"
#include "baton/webapi/http_server.h"
#include "baton/webapi/router.h"
#include "cf-api/fake_cf.h"

namespace baton::testing::fakecf {

using Steady = std::chrono::steady_clock;

class AppProcess;  // below

// One running (or dead) copy of an app: a process group on a loopback port. Like Diego, the
// stand-in restarts a crashed instance of a started app after a growing delay.
struct Instance {
  std::string app_guid;
  std::string process_guid;
  std::string droplet_guid;
  int index = 0;        // CF_INSTANCE_INDEX
  std::string command;  // what it runs, in `dir` (kept for restarts)
  std::string dir;
  std::shared_ptr<AppProcess> process;  // null when not running (crashed)
  uint16_t port = 0;
  std::string state = "STARTING";  // STARTING, RUNNING, CRASHED, DOWN
  int crashes = 0;
  Steady::time_point started;
  Steady::time_point crashed_at;
  Steady::time_point retired;  // when it left the route (killed after a short drain)
  std::string health_type = "port";
  std::string health_endpoint = "/";
  int timeout_s = 60;
};
using Instances = std::vector<std::shared_ptr<Instance>>;

struct Process {
  std::string guid;
  std::string type = "web";
  int instances = 1;
  std::string command;
  std::string health_type = "port";  // CC's default for web: port, process or http
  std::string health_endpoint = "/";
  int timeout_s = 60;  // to become healthy, else the instance CRASHES
};

// A route mapped to an app: `host.domain` as Cloud Controller names it, served by the stand-in's
// router on its own loopback port (no DNS for the domain exists here).
struct MappedRoute {
  std::string guid, host, domain;
  std::unique_ptr<webapi::HttpServer> proxy;
  std::string loopback;  // http://127.0.0.1:<proxy port>
  std::string Url() const { return host.empty() ? domain : host + "." + domain; }
};

struct App {
  std::string guid, name, space_guid, state = "STOPPED";
  std::string current_droplet;
  Json env = Json::object();
  Process web;
  std::string memory = "256M";
  std::string docker_image;  // the docker lifecycle (manifest docker.image), "" for buildpack
  // binary_buildpack (the default) or java_buildpack (a jar's Main-Class when no command).
  std::string buildpack = "binary_buildpack";
  Instances instances;       // what the routes serve (the RUNNING ones, in turn)
  size_t next_instance = 0;  // the router's round robin
  std::vector<std::unique_ptr<MappedRoute>> routes;  // in the order they were mapped
  std::string log_file;
  // (offset in log_file, ns since the epoch) at each stand-in line and instance start: a line's
  // log-cache timestamp is that of the last mark before it.
  mutable std::vector<std::pair<uint64_t, int64_t>> log_marks;
};

// A log-cache read: start_time/end_time (ns), descending, limit (at most 1000, default 100).
struct LogQuery {
  int64_t start_time = 0;
  int64_t end_time = INT64_MAX;
  bool descending = false;
  size_t limit = 100;
  static Result<LogQuery> From(const webapi::Request& req);
};
// The app's log lines as log-cache envelopes, as `query` asks.
Json ReadLogCache(const App& app, const LogQuery& query);
// Records a log mark for `app` (before a line is appended or an instance starts).
void MarkLog(const App& app);

struct Package {
  std::string guid, app_guid, type = "bits", image, state = "AWAITING_UPLOAD";
  std::string bits_dir;
  std::string error;  // why it FAILED
};

struct Build {
  std::string guid, app_guid, package_guid, droplet_guid, state = "STAGING", error;
  Steady::time_point done_at;
};

struct Droplet {
  std::string guid, app_guid, dir, state = "STAGED", command;
};

struct Job {
  std::string guid, operation, state = "PROCESSING";
  Json errors = Json::array();
  Steady::time_point done_at;
};

struct Deployment {
  std::string guid, app_guid, droplet_guid, value = "ACTIVE", reason = "DEPLOYING";
  Instances instances;  // the new ones
  Process process;      // the new web process
};

struct State {
  std::set<std::string> access_tokens;
  std::set<std::string> refresh_tokens;
  std::map<std::string, int> grants;
  std::string org_guid, space_guid;
  std::map<std::string, App> apps;
  std::map<std::string, Package> packages;
  std::map<std::string, Build> builds;
  std::map<std::string, Droplet> droplets;
  std::map<std::string, Job> jobs;
  std::map<std::string, Deployment> deployments;
  std::vector<std::shared_ptr<Instance>> dying;  // stopped, waiting to be reaped
  std::vector<std::unique_ptr<webapi::HttpServer>> unmapped_proxies;  // answer 404 until Stop()
  std::vector<std::string> requests;
  FailAt fail_at = FailAt::kNone;
  std::vector<Fault> faults;
};

// --- helpers (fake_cf_util.cpp) ---
std::string NewGuid();
std::string Rfc3339Now();
webapi::Response CfError(int status, int code, const std::string& title, const std::string& detail);
webapi::Response InvalidAuthToken();
webapi::Response UnprocessableEntity(const std::string& detail);
webapi::Response NotFoundError(const std::string& what);
// One page of a CC list, {pagination, resources}, as `page` and `per_page` (default
// `default_per_page`) in the request ask; `next`/`previous` link the other pages.
Json ListOf(const std::string& base_url, const webapi::Request& req, Json resources,
            int default_per_page);
std::string Base64Encode(const std::string& data);
// A free loopback TCP port (bound and released).
uint16_t FreePort();

// --- instances (fake_cf_instances.cpp) ---
// REQUIRES: the stand-in's lock held. The port of the next RUNNING instance (round robin), 0
// when none runs.
uint16_t NextRunningPort(App& app);

// --- bits (fake_cf_bits.cpp) ---
// The `bits` file part of a multipart/form-data body; error text when malformed.
Result<std::string> MultipartFile(const std::string& content_type, const std::string& body,
                                  const std::string& field);
// Unzips `zip` into `dir`, refusing absolute/escaping names and a single top folder.
Status UnzipBits(const std::string& zip, const std::string& dir);

// --- processes (fake_cf_runtime.cpp) ---
// An app instance's process: /bin/sh running its command, leading its own process group,
// started and watched through Boost.Process (as a Diego cell's executor would supervise it).
// Thread-safe.
class AppProcess {
 public:
  // Starts `command` under /bin/sh in `dir` with PORT and `env`; output appended to `log_file`.
  static Result<std::shared_ptr<AppProcess>> Start(const std::string& command,
                                                   const std::string& dir, uint16_t port,
                                                   const Json& env, const std::string& log_file);
  ~AppProcess();
  // True once the process has exited (it is reaped then).
  bool Exited();
  // SIGTERM to the group, SIGKILL after a grace period of 3 s, then reaps; leftovers of the
  // group are killed too.
  void Kill();

 private:
  struct Impl;
  explicit AppProcess(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Diego's health checks: `port` (a TCP connection is accepted), `http` (GET endpoint answers
// 200) or `process` (alive is enough: always true here).
bool Healthy(const std::string& type, uint16_t port, const std::string& endpoint);

}  // namespace baton::testing::fakecf
