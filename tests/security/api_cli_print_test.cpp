// Issue 9, names printed raw: the CLI escapes control characters in what a server sends
// (names in tables, error messages), so a hostile or compromised server cannot rewrite the
// user's terminal. The real `baton` binary against an in-test server that sends such names.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "baton/webapi/http_server.h"
#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

using nlohmann::json;

// ESC ] 0 ; title BEL retitles the window; ESC [ 2 J clears the screen; U+009B is a C1 CSI.
const std::string kEvil =
    "evil\x1b]0;pwned\x07\x1b[2J\xc2\x9b"
    "31m";

struct HostileServer {
  HostileServer() {
    webapi::Router router;
    router.Add("GET", "/api/v1/teams/main/pipelines", [](webapi::Request&) {
      json list = json::array({{{"id", 1},
                                {"name", kEvil},
                                {"paused", false},
                                {"public", false},
                                {"config_version", 1},
                                {"created_at", "2026-12-02T09:00:00Z"}}});
      return webapi::Response::Json(200, list);
    });
    router.Add("GET", "/api/v1/teams/main/pipelines/p/jobs", [](webapi::Request&) {
      return webapi::JsonError(400, "bad request", "no job " + kEvil);
    });
    server = std::make_unique<webapi::HttpServer>(std::move(router), webapi::ServerOptions{});
  }
  std::unique_ptr<webapi::HttpServer> server;
};

ProcessResult RunAgainst(const HostileServer& hostile, const std::vector<std::string>& args,
                         const TempDir& home) {
  ProcessOptions options;
  options.extra_env = {"BATON_TARGET_URL=" + hostile.server->base_url(), "BATON_TOKEN=t",
                       "HOME=" + home.path().string(), "NO_COLOR=1"};
  return RunBaton(args, options);
}

TEST(ApiCliPrint, NamesInATableAreEscapedNotPrintedRaw) {
  HostileServer hostile;
  ASSERT_TRUE(hostile.server->Start().ok());
  TempDir home;
  ProcessResult r = RunAgainst(hostile, {"pipelines"}, home);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(r.out.find('\x1b'), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find('\x07'), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\xc2\x9b"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(R"(evil\x1b]0;pwned\x07\x1b[2J\u009b31m)"), std::string::npos) << r.out;
}

TEST(ApiCliPrint, AServerErrorMessageIsEscapedNotPrintedRaw) {
  HostileServer hostile;
  ASSERT_TRUE(hostile.server->Start().ok());
  TempDir home;
  ProcessResult r = RunAgainst(hostile, {"jobs", "-p", "p"}, home);
  EXPECT_NE(r.exit_code, 0) << r.All();
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(R"(no job evil\x1b]0;pwned)"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace baton::testing
