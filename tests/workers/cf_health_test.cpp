// Health checks (health-check-type port|process|http, health-check-http-endpoint, timeout) and
// the manifest checks the stand-in makes with Cloud Controller's messages.
#include "workers/cf_test_fixture.h"

namespace baton::workers::cftest {
namespace {

using CfHealth = CfResource;

// Answers 500 on / and 200 on /healthz.
constexpr const char* kPickyApp = R"(import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        code = 200 if self.path == "/healthz" else 500
        self.send_response(code)
        self.send_header("Content-Length", "3")
        self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
)";

Json WritePicky(const fs::path& build, const std::string& lines) {
  testing::WriteFile(build / "picky" / "app.py", kPickyApp);
  testing::WriteFile(build / "picky" / "manifest.yml",
                     "applications:\n- name: picky\n  command: python3 app.py\n" + lines);
  return {{"manifest", "picky/manifest.yml"}, {"startup_timeout", 20}};
}

TEST_F(CfHealth, ProcessHealthCheckNeedsNoPort) {
  auto pushed =
      Put(WriteApp("worker", "x", "sleep 600", "  health-check-type: process\n  no-route: true\n"));
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
  EXPECT_EQ(Metadata(*pushed, "state"), "STARTED");
}

TEST_F(CfHealth, PortHealthCheckIsTheDefaultAndOnlyConnects) {
  auto pushed = Put(WritePicky(dir_ / "build", ""));
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
}

TEST_F(CfHealth, HttpHealthCheckUsesItsEndpoint) {
  auto pushed = Put(WritePicky(dir_ / "build",
                               "  health-check-type: http\n"
                               "  health-check-http-endpoint: /healthz\n"));
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
}

TEST_F(CfHealth, AnInstanceThatNeverPassesItsHealthCheckCrashesAfterTheTimeout) {
  auto pushed = Put(WritePicky(dir_ / "build", "  health-check-type: http\n  timeout: 1\n"));
  ASSERT_FALSE(pushed.ok());
  EXPECT_NE(pushed.status().message().find("app crashed"), std::string::npos)
      << pushed.status().message();
}

TEST_F(CfHealth, TheStandInChecksManifestValuesAsCloudControllerDoes) {
  struct Case {
    std::string lines, detail;
  };
  std::vector<Case> cases = {
      {"  instances: two\n", "For application 'picky': Instances must be an integer"},
      {"  memory: 256\n", "Memory must use a supported unit: B, K, KB, M, MB, G, GB, T, or TB"},
      {"  health-check-type: tcp\n",
       "Health check type must be \"port\", \"process\", or \"http\""},
      {"  health-check-http-endpoint: /h\n",
       "Health check type must be \"http\" to set a health check HTTP endpoint"},
  };
  for (const auto& c : cases) {
    auto pushed = Put(WritePicky(dir_ / "build", c.lines));
    ASSERT_FALSE(pushed.ok()) << c.lines;
    EXPECT_NE(pushed.status().message().find("cf put: apply manifest failed: POST"),
              std::string::npos)
        << pushed.status().message();
    EXPECT_NE(pushed.status().message().find("422 CF-UnprocessableEntity (10008)"),
              std::string::npos)
        << pushed.status().message();
    EXPECT_NE(pushed.status().message().find(c.detail), std::string::npos)
        << pushed.status().message();
  }
}

}  // namespace
}  // namespace baton::workers::cftest
