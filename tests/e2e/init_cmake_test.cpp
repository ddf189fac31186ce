// `baton init` on a small CMake project made in the test (tests/data/init/greeter) on a `master`
// branch, end to end on a real `baton quickstart` and the Cloud Foundry stand-in: the project's
// one old finding (strcpy in src/legacy.cpp) is in baselines written with `baton
// write-baseline`; a commit with one new finding fails static-analysis (and only it) before
// deploy; the next commit without it goes green through deploy, the app answers, and
// `download-artifact` brings back the SARIF reports of both runs.
#include <gtest/gtest.h>

#include <csignal>

#include <nlohmann/json.hpp>

#include "fakes/e2e_util.h"
#include "fakes/git_fixture.h"
#include "fakes/server_process.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using std::chrono::minutes;

fs::path FakeCfBinary() { return BatonBinary().parent_path() / "baton-fake-cf"; }

void CommitAll(const fs::path& repo, const std::string& message) {
  RunGit(repo, "add -A");
  RunGit(repo, "-c user.name=Init -c user.email=init@example.com commit -qm '" + message + "'");
}

std::string ReadFileIfAny(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec) ? ReadFile(path) : "";
}

class InitCMake : public ::testing::Test {
 protected:
  InitCMake() : project_(dir_ / "greeter") {
    fs::copy(SourceDir() / "tests" / "data" / "init" / "greeter", project_,
             fs::copy_options::recursive);
    RunGit(project_, "init -q -b master");
  }
  ProcessResult Baton(const std::vector<std::string>& args) {
    ProcessOptions options;
    options.cwd = project_;
    options.timeout = minutes(10);
    return RunBaton(args, options);
  }
  // Runs an analysis stage's task on the project as it is and writes its baseline from the
  // reports, as a user accepting a project's existing findings does.
  void WriteBaseline(const std::string& stage) {
    fs::path reports = dir_ / ("reports-" + stage);
    ProcessResult run =
        Baton({"execute", "-c", "ci/tasks/" + stage + ".yml", "-i", "source=.", "-o",
               "reports=" + reports.string(), "--data-dir", (dir_ / "execute-data").string()});
    EXPECT_EQ(run.exit_code, 1) << "the old finding is new without a baseline\n" << run.All();
    ProcessResult write = Baton(
        {"write-baseline", "--from", reports.string(), "-o", "ci/baselines/" + stage + ".json"});
    ASSERT_EQ(write.exit_code, 0) << write.All();
  }
  // Waits for `count` finished builds of `job`; returns the newest one's status.
  std::string Finished(const std::string& job, size_t count) {
    json builds = server_.WaitForFinishedBuilds("greeter", job, count, minutes(10));
    if (builds.size() < count) return "not finished: " + server_.JobBuilds("greeter", job).dump();
    return builds[0].value("status", "");
  }
  std::string NewestLog(const std::string& job) {
    json builds = server_.JobBuilds("greeter", job);
    return builds.empty() ? "" : server_.BuildLog(builds[0].value("id", int64_t{0}));
  }

  TempDir dir_;
  fs::path project_;
  ServerProcess server_;
};

TEST_F(InitCMake, WritesAPipelineThatGatesNewFindingsAndDeploysTheCleanCommit) {
  if (!fs::exists(FakeCfBinary())) GTEST_SKIP() << "needs " << FakeCfBinary();
  ASSERT_TRUE(server_.started()) << server_.log();

  ProcessResult init = Baton({"init"});
  ASSERT_EQ(init.exit_code, 0) << init.All();
  EXPECT_NE(init.out.find("branch master, deploys greeter"), std::string::npos) << init.out;
  ASSERT_TRUE(fs::exists(project_ / "ci" / "pipeline.yml"));
  EXPECT_TRUE(fs::exists(project_ / ".clang-tidy"));
  WriteBaseline("static-analysis");
  WriteBaseline("secure-coding");
  EXPECT_NE(ReadFileIfAny(project_ / "ci/baselines/secure-coding.json").find("src/legacy.cpp"),
            std::string::npos);
  CommitAll(project_, "greeter with its pipeline and baselines");

  // A new finding (an out-of-bounds read cppcheck and clang-tidy see; flawfinder does not).
  WriteFile(project_ / "src" / "days.cpp",
            "int LastDay() {\n  int days[4] = {7, 10, 9, 14};\n  return days[4];\n}\n");
  std::string cmake = ReadFile(project_ / "CMakeLists.txt");
  cmake.replace(cmake.find("src/legacy.cpp"), 14, "src/legacy.cpp src/days.cpp");
  WriteFile(project_ / "CMakeLists.txt", cmake);
  CommitAll(project_, "last day");

  ProcessOptions cf_options;
  cf_options.timeout = minutes(30);
  cf_options.output_file = dir_ / "cf.log";
  ChildProcess cf(
      {FakeCfBinary().string(), "--data-dir", (dir_ / "cf").string(), "--listen", "127.0.0.1:0",
       "--user", "admin", "--password", "cf-secret", "--org", "org", "--space", "dev"},
      cf_options);
  ASSERT_TRUE(
      WaitUntil([&] { return !ReadFileIfAny(dir_ / "cf" / "api-url").empty(); }, minutes(1)))
      << ReadFileIfAny(dir_ / "cf.log");
  std::string api = ReadFile(dir_ / "cf" / "api-url");
  api.erase(api.find_last_not_of(" \n") + 1);
  CliResult set = server_.Cli({"set-pipeline", "-n",
                               "-p",           "greeter",
                               "-c",           (project_ / "ci" / "pipeline.yml").string(),
                               "-v",           "repo=" + project_.string(),
                               "-v",           "cf_api=" + api,
                               "-v",           "cf_org=org",
                               "-v",           "cf_space=dev",
                               "-v",           "cf_username=admin",
                               "-v",           "cf_password=cf-secret",
                               "-v",           "cf_domain=apps.baton.local",
                               "-v",           "cf_ca_cert="});
  ASSERT_EQ(set.exit_code, 0) << set.All();

  EXPECT_EQ(Finished("static-analysis", 1), "failed");
  std::string log = NewestLog("static-analysis");
  EXPECT_NE(log.find("NEW error: src/days.cpp:3"), std::string::npos) << log;
  EXPECT_EQ(log.find("NEW error: src/legacy.cpp"), std::string::npos) << log;
  EXPECT_NE(log.find("static analysis FAILED"), std::string::npos) << log;
  EXPECT_EQ(Finished("unit-test", 1), "succeeded") << NewestLog("unit-test");
  EXPECT_EQ(Finished("secure-coding", 1), "succeeded") << NewestLog("secure-coding");
  EXPECT_TRUE(server_.JobBuilds("greeter", "deploy").empty()) << "deploy must not run";

  fs::remove(project_ / "src" / "days.cpp");
  WriteFile(project_ / "CMakeLists.txt",
            ReadFile(SourceDir() / "tests/data/init/greeter/CMakeLists.txt"));
  CommitAll(project_, "no last day after all");
  server_.CheckResource("greeter", "source");
  EXPECT_EQ(Finished("static-analysis", 2), "succeeded") << NewestLog("static-analysis");
  ASSERT_EQ(Finished("deploy", 1), "succeeded") << NewestLog("deploy") << ReadFile(dir_ / "cf.log");
  for (const char* job : {"compile", "unit-test", "secure-coding"}) {
    EXPECT_EQ(Finished(job, 2), "succeeded") << job << NewestLog(job);
  }
  EXPECT_EQ(server_.log().find("cf-secret"), std::string::npos);

  json apps = json::parse(RunProcess({"curl", "-fsS", api + "/fake/apps"}).out, nullptr, false);
  ASSERT_TRUE(apps.is_array() && !apps.empty()) << apps.dump();
  std::string url = apps[0].value("url", "");
  if (url.rfind("http", 0) != 0) url = "http://" + url;
  EXPECT_EQ(RunProcess({"curl", "-fsS", "--max-time", "5", url}).out, "hello, cloud");

  fs::path back = dir_ / "back";
  CliResult sa = server_.Cli(
      {"download-artifact", "-r", "greeter/static-analysis-reports", "-o", (back / "sa").string()});
  ASSERT_EQ(sa.exit_code, 0) << sa.All();
  EXPECT_TRUE(fs::exists(back / "sa" / "cppcheck.sarif"));
  EXPECT_TRUE(fs::exists(back / "sa" / "clang-tidy.sarif"));
  json versions = server_.Get(
      "/api/v1/teams/main/pipelines/greeter/resources/static-analysis-reports/versions");
  ASSERT_EQ(versions.size(), 2u) << versions.dump();
  CliResult failed_run = server_.Cli({"download-artifact", "-r", "greeter/static-analysis-reports",
                                      "-v", std::to_string(versions[1].value("id", int64_t{0})),
                                      "-o", (back / "failed").string()});
  ASSERT_EQ(failed_run.exit_code, 0) << failed_run.All();
  EXPECT_NE(ReadFileIfAny(back / "failed" / "cppcheck.sarif").find("arrayIndexOutOfBounds"),
            std::string::npos);
  CliResult sc = server_.Cli(
      {"download-artifact", "-r", "greeter/secure-coding-reports", "-o", (back / "sc").string()});
  ASSERT_EQ(sc.exit_code, 0) << sc.All();
  EXPECT_NE(ReadFileIfAny(back / "sc" / "flawfinder.sarif").find("src/legacy.cpp"),
            std::string::npos);
  cf.Signal(SIGTERM);
  cf.Wait();
}

TEST(InitCMakeErrors, RefusesADirectoryWithoutCMakeListsAndNeverOverwrites) {
  TempDir dir;
  ProcessResult none = RunBaton({"init", dir.path().string()});
  EXPECT_NE(none.exit_code, 0);
  EXPECT_NE(none.err.find("no CMakeLists.txt or pom.xml in"), std::string::npos) << none.err;
  WriteFile(dir / "CMakeLists.txt", "project(tool)\nadd_executable(tool_tests t.cpp)\n");
  ProcessResult first = RunBaton({"init", dir.path().string()});
  ASSERT_EQ(first.exit_code, 0) << first.All();
  EXPECT_NE(first.out.find("no deploy job"), std::string::npos) << first.out;
  EXPECT_EQ(ReadFile(dir / "ci" / "pipeline.yml").find("- name: deploy"), std::string::npos);
  WriteFile(dir / "ci" / "tasks" / "compile.yml", "mine\n");
  ProcessResult again = RunBaton({"init", dir.path().string()});
  EXPECT_NE(again.exit_code, 0);
  EXPECT_NE(again.err.find("ci/tasks/compile.yml"), std::string::npos) << again.err;
  EXPECT_EQ(ReadFile(dir / "ci" / "tasks" / "compile.yml"), "mine\n");
}

}  // namespace
}  // namespace baton::testing
