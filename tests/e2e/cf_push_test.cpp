// `baton run` pushing to the Cloud Foundry stand-in (`baton-fake-cf`, a separate process): the
// command-line contract the seed sample relies on, a green push whose app answers, a failing
// stage that errors the build with its name, and SIGTERM stopping the stand-in's apps.
#include <signal.h>

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "baton/net/http_client.h"
#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
constexpr const char* kPassword = "e2e-Secret-7788";

std::string Pipeline() {
  return R"yaml(resources:
- name: api
  type: cf
  source:
    api: ((cf_api))
    organization: baton-org
    space: demo
    username: admin
    password: ((cf_password))
jobs:
- name: deploy
  plan:
  - task: build
    config:
      platform: linux
      outputs: [{name: app}]
      run:
        path: sh
        args:
        - -c
        - |
          printf 'applications:\n- name: e2e-api\n  command: python3 app.py\n  env: {MESSAGE: hello-e2e}\n' > app/manifest.yml
          cat > app/app.py <<'EOF'
          import http.server, os
          class H(http.server.BaseHTTPRequestHandler):
              def do_GET(self):
                  b = (os.environ["MESSAGE"] + "\n").encode()
                  self.send_response(200); self.send_header("Content-Length", str(len(b)))
                  self.end_headers(); self.wfile.write(b)
          http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
          EOF
  - put: api
    params:
      manifest: app/manifest.yml
      show_app_log: true
)yaml";
}

class CfPushEndToEnd : public ::testing::Test {
 protected:
  void StartFake(std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {(BatonBinary().parent_path() / "baton-fake-cf").string(),
                                     "--data-dir", (dir_ / "cf").string(), "--password", kPassword};
    argv.insert(argv.end(), extra.begin(), extra.end());
    fake_ = std::make_unique<ChildProcess>(argv);
    ASSERT_TRUE(fake_->WaitForOutput("listening on", std::chrono::seconds(20))) << fake_->err();
    url_ = ReadFile(dir_ / "cf" / "api-url");
    while (!url_.empty() && url_.back() == '\n') url_.pop_back();
  }

  ProcessResult Run() {
    WriteFile(dir_ / "cf.yml", Pipeline());
    return RunBaton({"run", "-c", (dir_ / "cf.yml").string(), "--data-dir",
                     (dir_ / "data").string(), "-v", "cf_api=" + url_, "-v",
                     std::string("cf_password=") + kPassword});
  }

  nlohmann::json FakeApps() {
    net::HttpClient client;
    auto r = client.Get(url_ + "/fake/apps");
    if (!r.ok() || r->status != 200) return nlohmann::json::array();
    return nlohmann::json::parse(r->body, nullptr, false);
  }

  TempDir dir_;
  std::unique_ptr<ChildProcess> fake_;
  std::string url_;
};

TEST_F(CfPushEndToEnd, TheStandInPrintsOneReadyLineAndWritesItsUrl) {
  StartFake();
  EXPECT_EQ(fake_->out(), "baton-fake-cf (stand-in for Cloud Foundry) listening on " + url_ + "\n");
  EXPECT_EQ(url_.rfind("http://127.0.0.1:", 0), 0u) << url_;
  EXPECT_EQ(FakeApps(), nlohmann::json::array());
}

TEST_F(CfPushEndToEnd, WithTlsTheStandInServesHttpsWithTheCertificateItWrote) {
  StartFake({"--tls"});
  ASSERT_EQ(url_.rfind("https://127.0.0.1:", 0), 0u) << url_;
  net::ClientOptions trusting;
  trusting.ca_file = (dir_ / "cf" / "tls-cert.pem").string();
  auto r = net::HttpClient(trusting).Get(url_ + "/fake/apps");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  auto untrusted = net::HttpClient().Get(url_ + "/fake/apps");
  ASSERT_FALSE(untrusted.ok());
  EXPECT_NE(untrusted.status().message().find("certificate verify failed"), std::string::npos)
      << untrusted.status().message();
}

TEST_F(CfPushEndToEnd, BatonRunPushesTheAppAndSigtermStopsIt) {
  StartFake();
  ProcessResult r = Run();
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(ParseRunSummary(r.out)["deploy"], "succeeded") << r.All();
  EXPECT_EQ(r.All().find(kPassword), std::string::npos) << r.All();
  nlohmann::json apps = FakeApps();
  ASSERT_EQ(apps.size(), 1u) << apps.dump();
  EXPECT_EQ(apps[0]["name"], "e2e-api");
  EXPECT_EQ(apps[0]["state"], "STARTED");
  std::string app_url = apps[0]["url"];
  net::HttpClient client;
  auto answer = client.Get(app_url + "/");
  ASSERT_TRUE(answer.ok()) << answer.status().ToString();
  EXPECT_EQ(answer->body, "hello-e2e\n");

  fake_->Signal(SIGTERM);
  ProcessResult stopped = fake_->Wait();
  EXPECT_EQ(stopped.exit_code, 0) << stopped.All();
  EXPECT_NE(stopped.err.find("stopped every app"), std::string::npos) << stopped.err;
  net::ClientOptions quick;
  quick.connect_timeout = std::chrono::milliseconds(1000);
  EXPECT_FALSE(net::HttpClient(quick).Get(app_url + "/").ok());
}

TEST_F(CfPushEndToEnd, AStagingFailureErrorsTheBuildAndNamesTheStage) {
  StartFake({"--fail-at", "staging"});
  ProcessResult r = Run();
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(ParseRunSummary(r.out)["deploy"], "succeeded") << r.All();
  EXPECT_NE(r.All().find("cf put: staging failed"), std::string::npos) << r.All();
  EXPECT_EQ(r.All().find(kPassword), std::string::npos);
}

}  // namespace
}  // namespace baton::testing
