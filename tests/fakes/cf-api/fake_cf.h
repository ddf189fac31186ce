// FakeCloudFoundry: a STAND-IN for Cloud Foundry (Cloud Controller v3 + UAA + log-cache + a
// gorouter-like proxy) for tests and the demo. It is not Cloud Foundry; every line it prints
// and every README says so.
//
// It serves, on Baton's own HttpServer, the endpoints the `cf` resource uses, with CF's request
// and response shapes, states and asynchronous jobs, and checks every request: the bearer token,
// content types, the order of the push (upload before build, droplet before start) and the zip
// layout (no top folder). Errors use CF's `{"errors":[{"code","title","detail"}]}` shape.
// Pushed bits are unzipped under <data_dir> and started like the binary_buildpack: the
// manifest's `command` under /bin/sh in the bits directory with PORT set to a free loopback
// port, health-checked with HTTP GET (health-check-http-endpoint, default "/"). Each app's route
// is a stable loopback port served by the stand-in's proxy, which switches to a new instance
// only once it is healthy, so a rolling deployment keeps the old instance answering.
// Each process runs `instances` instances (CF_INSTANCE_INDEX set); crashed ones are restarted.
//
// Thread-safety: all methods may be called from any thread. Stop() (and the destructor) stop
// every app it started.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "baton/common/status.h"

namespace baton::testing::fakecf {

// Where the stand-in fails on purpose (--fail-at).
enum class FailAt { kNone, kAuth, kOrg, kSpace, kManifest, kUpload, kStaging, kCrash, kQuota };
const char* ToString(FailAt stage);
// "auth", "org", "space", "manifest", "upload", "staging", "start" or "crash", "quota", "none".
Result<FailAt> ParseFailAt(const std::string& text);

// A failure the stand-in answers instead of the next `count` requests whose method is `method`
// and whose path contains `path` (a 5xx as gorouter or CC gives it, or 429 with Retry-After).
struct Fault {
  int status = 502;
  std::string method = "GET";
  std::string path;
  int count = 1;
  int retry_after = 0;  // seconds, for 429 (0: no header)
};
// "STATUS:METHOD:PATH[:COUNT[:RETRY_AFTER]]", e.g. "502:GET:/v3/builds/" (--fail-once).
Result<Fault> ParseFault(const std::string& text);

// The link between clients and the stand-in's API port (for upload tests).
struct SlowLink {
  uint64_t upload_bytes_per_second = 0;  // client -> stand-in; 0: unlimited
  std::chrono::milliseconds latency{0};  // before each burst of bytes, either way
};

struct FakeCfOptions {
  std::string data_dir;  // bits, droplets and app logs; created if missing
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string user = "admin";  // password grant; also accepted as client_id/client_secret
  std::string password = "admin";
  std::string org = "baton-org";
  std::string space = "demo";
  std::string domain = "apps.baton.local";  // the shared domain routes are made under
  int per_page = 50;                        // list pages, as CC's default
  FailAt fail_at = FailAt::kNone;
  std::vector<Fault> faults;  // --fail-once
  // HTTPS with a certificate made at start (for 127.0.0.1 and localhost, its own CA), written
  // to data_dir/tls-cert.pem (see ca_file()).
  bool tls = false;
  SlowLink slow_link;
  // Receives each stand-in log line (already prefixed "baton-fake-cf (stand-in): "); may be
  // empty.
  std::function<void(const std::string&)> log;
};

struct FakeApp {
  std::string name;
  std::string state;  // STARTED / STOPPED
  std::string url;    // http://127.0.0.1:<route port> of its first route, "" without routes
  std::vector<std::string> routes;  // host.domain of every mapped route
};

class FakeCloudFoundry {
 public:
  explicit FakeCloudFoundry(FakeCfOptions options);
  ~FakeCloudFoundry();
  FakeCloudFoundry(const FakeCloudFoundry&) = delete;
  FakeCloudFoundry& operator=(const FakeCloudFoundry&) = delete;

  Status Start();
  // Stops every app (SIGTERM, then SIGKILL), the proxies and the server. Idempotent.
  void Stop();
  std::string url() const;      // http(s)://127.0.0.1:<port>
  std::string ca_file() const;  // the PEM certificate to trust with --tls, else ""
  // Changes the link for connections made from now on.
  void SetSlowLink(const SlowLink& link);

  void SetFailAt(FailAt stage);
  // Adds a failure for matching requests (see Fault).
  void AddFault(const Fault& fault);
  // Invalidates every access token (the next CC call answers 401 CF-InvalidAuthToken).
  void ExpireTokens();
  std::vector<FakeApp> Apps() const;
  // How many tokens UAA granted with `grant_type` ("password", "refresh_token", ...).
  int TokenGrants(const std::string& grant_type) const;
  // Every request seen, as "METHOD /path", in order.
  std::vector<std::string> Requests() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace baton::testing::fakecf
