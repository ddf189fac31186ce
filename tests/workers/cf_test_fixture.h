// The fixture shared by the `cf` type's tests: the Cloud Foundry stand-in (tests/fakes/cf-api)
// in process, over real loopback HTTP, with real app processes (python3 http.server apps).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include "baton/net/http_client.h"
#include "baton/workers/http_transport.h"
#include "baton/workers/resource_type.h"
#include "cf-api/fake_cf.h"
#include "fakes/test_env.h"

namespace baton::workers {
namespace cftest {

namespace fs = std::filesystem;
using testing::TempDir;
using testing::fakecf::FailAt;
using testing::fakecf::FakeCfOptions;
using testing::fakecf::FakeCloudFoundry;

inline constexpr const char* kPassword = "s3cret-Pa55-word";

inline constexpr const char* kAppScript = R"(import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = (os.environ.get("MESSAGE", "no message") + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
)";

class LinesSink : public OutputSink {
 public:
  void OnLine(SystemTime, OutputStream, std::string_view line) override {
    std::lock_guard<std::mutex> lock(mu_);
    text_ += std::string(line) + "\n";
  }
  std::string text() const {
    std::lock_guard<std::mutex> lock(mu_);
    return text_;
  }

 private:
  mutable std::mutex mu_;
  std::string text_;
};

// Calls `hook` before the `n`-th request it forwards (to expire tokens mid-push).
class HookedTransport : public HttpTransport {
 public:
  HookedTransport(std::unique_ptr<HttpTransport> inner, int n, std::function<void()> hook)
      : inner_(std::move(inner)), n_(n), hook_(std::move(hook)) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    if (++count_ == n_) hook_();
    return inner_->Send(request);
  }

 private:
  std::unique_ptr<HttpTransport> inner_;
  int n_;
  int count_ = 0;
  std::function<void()> hook_;
};

inline std::string Get(const std::string& url) {
  net::ClientOptions o;
  o.request_timeout = std::chrono::milliseconds(2000);
  net::HttpClient client(o);
  auto r = client.Get(url);
  if (!r.ok()) return "error: " + r.status().message();
  return std::to_string(r->status) + " " + r->body;
}

class CfResource : public ::testing::Test {
 protected:
  void SetUp() override {
    FakeCfOptions o;
    o.data_dir = (dir_ / "cf").string();
    o.password = kPassword;
    o.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu_);
      fake_log_ += line + "\n";
    };
    Configure(o);
    cf_ = std::make_unique<FakeCloudFoundry>(o);
    ASSERT_TRUE(cf_->Start().ok());
    transport_ = workers::MakeHttpTransportFactory();
    ctx_.output = &sink_;
    ctx_.cache_dir = (dir_ / "cache").string();
    fs::create_directories(ctx_.cache_dir);
    ctx_.http_transport = &transport_;
    type_ = MakeBuiltinResourceType("cf");
    ASSERT_NE(type_, nullptr);
  }

  // Lets a test change the stand-in's options before it starts.
  virtual void Configure(FakeCfOptions&) {}

  Json Source() const {
    return {{"api", cf_->url()},
            {"organization", "baton-org"},
            {"space", "demo"},
            {"username", "admin"},
            {"password", kPassword}};
  }

  // Writes an app (app.py + manifest.yml) into build/<name>/ and returns put params.
  // `manifest_lines` are more keys of the application, each "  key: value\n".
  Json WriteApp(const std::string& name, const std::string& message,
                const std::string& command = "python3 app.py",
                const std::string& manifest_lines = "") {
    fs::path app = dir_ / "build" / name;
    testing::WriteFile(app / "app.py", kAppScript);
    testing::WriteFile(app / "manifest.yml",
                       "applications:\n- name: " + name + "\n  command: " + command +
                           "\n  env:\n    MESSAGE: ((message))\n" + manifest_lines);
    return {{"manifest", name + "/manifest.yml"}, {"vars", {{"message", message}}}};
  }

  Result<FetchedVersion> Put(const Json& params) {
    return type_->Put(ctx_, Source(), params, (dir_ / "build").string());
  }

  std::string Metadata(const FetchedVersion& v, const std::string& name) {
    for (const auto& m : v.metadata) {
      if (m.name == name) return m.value;
    }
    return "";
  }

  // The stand-in's loopback URL for app `name`'s route ("" when it has none).
  std::string AppUrl(const std::string& name) const {
    for (const auto& app : cf_->Apps()) {
      if (app.name == name) return app.url;
    }
    return "";
  }

  std::string FakeLog() {
    std::lock_guard<std::mutex> lock(mu_);
    return fake_log_;
  }

  TempDir dir_;
  std::mutex mu_;
  std::string fake_log_;  // GUARDED_BY(mu_); declared before cf_, which logs until destroyed
  std::unique_ptr<FakeCloudFoundry> cf_;
  HttpTransportFactory transport_;
  LinesSink sink_;
  ResourceContext ctx_;
  std::unique_ptr<ResourceType> type_;
};

}  // namespace cftest
}  // namespace baton::workers
