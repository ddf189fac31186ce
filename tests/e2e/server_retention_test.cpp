// End to end: build_log_retention on a real `baton quickstart` — old builds' logs go (the builds
// stay listed, as in Concourse), the kept builds' logs stay intact (also across kill -9 and
// restart).
#include <gtest/gtest.h>

#include "fakes/server_process.h"

namespace baton::testing {
namespace {

using nlohmann::json;

TEST(ServerRetentionE2E, AJobKeepingTwoBuildsRunFourTimesKeepsTwoWithTheirLogs) {
  ServerProcess server;
  ASSERT_TRUE(server.started()) << server.log();
  TempDir files;
  WriteFile(files / "p.yml",
            "jobs:\n"
            "- name: j\n"
            "  build_log_retention: {builds: 2}\n"
            "  plan:\n"
            "  - task: say\n"
            "    config:\n"
            "      platform: linux\n"
            "      run: {path: sh, args: [-c, 'echo build=$BUILD_NAME']}\n");
  ASSERT_EQ(
      server.Cli({"set-pipeline", "-n", "-p", "p", "-c", (files / "p.yml").string()}).exit_code, 0);
  ASSERT_EQ(server.Cli({"unpause-pipeline", "-p", "p"}).exit_code, 0);
  std::vector<int64_t> ids;
  for (int i = 1; i <= 4; ++i) {
    CliResult run = server.Cli({"trigger-job", "-j", "p/j", "-w"});
    ASSERT_EQ(run.exit_code, 0) << run.All();
    EXPECT_NE(run.out.find("build=" + std::to_string(i)), std::string::npos) << run.out;
    json builds = server.WaitForFinishedBuilds("p", "j", 1);
    ASSERT_FALSE(builds.empty());
    ids.push_back(builds[0].value("id", int64_t{0}));
  }
  auto check_kept = [&] {
    // Retention runs just after a build is recorded as finished; the builds stay listed.
    auto reaped = [](const json& b) { return b.contains("reap_time"); };
    WaitUntil(
        [&] {
          json builds = server.JobBuilds("p", "j");
          return builds.size() == 4 && reaped(builds[2]) && reaped(builds[3]);
        },
        std::chrono::seconds(10));
    json builds = server.JobBuilds("p", "j");
    ASSERT_EQ(builds.size(), 4u) << builds.dump();
    EXPECT_EQ(builds[0].value("name", ""), "4");
    EXPECT_FALSE(reaped(builds[0])) << builds.dump();
    EXPECT_FALSE(reaped(builds[1])) << builds.dump();
    EXPECT_TRUE(reaped(builds[2])) << builds.dump();
    EXPECT_TRUE(reaped(builds[3])) << builds.dump();
    EXPECT_NE(server.BuildLog(ids[3]).find("build=4"), std::string::npos);
    EXPECT_NE(server.BuildLog(ids[2]).find("build=3"), std::string::npos);
    for (int i = 0; i < 2; ++i) {
      EXPECT_EQ(server.Api("GET", "/api/v1/builds/" + std::to_string(ids[i])).status, 200);
      EXPECT_EQ(server.BuildLog(ids[i]).find("build="), std::string::npos)
          << "the reaped log is deleted";
    }
    CliResult watch = server.Cli({"watch", "-j", "p/j", "-b", "3"});
    EXPECT_EQ(watch.exit_code, 0) << watch.All();
    EXPECT_NE(watch.out.find("build=3"), std::string::npos) << watch.out;
  };
  check_kept();
  server.Kill(SIGKILL);
  ASSERT_TRUE(server.Start()) << server.log();
  check_kept();
}

}  // namespace
}  // namespace baton::testing
