// `baton init` on a small Maven project made in the test (tests/data/init/greeter-maven) on a
// `master` branch, end to end on a real `baton quickstart` and the Cloud Foundry stand-in, as
// init_cmake_test.cpp does for CMake: Maven works offline against Debian's /usr/share/maven-repo,
// the unit-test stage runs surefire over the compile stage's classes, and checkstyle's findings
// (static-analysis: checkstyle.xml; secure-coding: ci/secure-coding.xml) are gated against
// baselines written with `baton write-baseline`. The project's old findings (a multiple variable
// declaration, MD5 in Legacy.java) are accepted; a commit with a new one (Runtime.exec of a built
// command line) fails secure-coding only and is not deployed; the next commit without it goes
// green through deploy (java_buildpack runs the jar's Main-Class), the app answers, and
// `download-artifact` brings back the SARIF reports. Skipped when Debian's Java tools
// (.ci/packages/java.txt) are not installed.
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

const char kGreeter[] = "src/main/java/com/example/Greeter.java";

bool Installed(const std::string& tool) {
  return RunProcess({"sh", "-c", "command -v " + tool}).exit_code == 0;
}

fs::path MavenFakeCfBinary() { return BatonBinary().parent_path() / "baton-fake-cf"; }

void MavenCommitAll(const fs::path& repo, const std::string& message) {
  RunGit(repo, "add -A");
  RunGit(repo, "-c user.name=Init -c user.email=init@example.com commit -qm '" + message + "'");
}

std::string MavenReadFileIfAny(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec) ? ReadFile(path) : "";
}

class InitMaven : public ::testing::Test {
 protected:
  InitMaven() : project_(dir_ / "greeter") {
    fs::copy(SourceDir() / "tests" / "data" / "init" / "greeter-maven", project_,
             fs::copy_options::recursive);
    RunGit(project_, "init -q -b master");
  }
  ProcessResult Baton(const std::vector<std::string>& args) {
    ProcessOptions options;
    options.cwd = project_;
    options.timeout = minutes(10);
    return RunBaton(args, options);
  }
  // Runs an analysis stage's task on the project as it is (its old finding is new without a
  // baseline) and writes the stage's baseline from the reports.
  void WriteBaseline(const std::string& stage, const std::string& old_finding) {
    fs::path reports = dir_ / ("reports-" + stage);
    ProcessResult run =
        Baton({"execute", "-c", "ci/tasks/" + stage + ".yml", "-i", "source=.", "-o",
               "reports=" + reports.string(), "--data-dir", (dir_ / "execute-data").string()});
    EXPECT_EQ(run.exit_code, 1) << "the old finding is new without a baseline\n" << run.All();
    EXPECT_NE(run.out.find(old_finding), std::string::npos) << run.out;
    ProcessResult write = Baton(
        {"write-baseline", "--from", reports.string(), "-o", "ci/baselines/" + stage + ".json"});
    ASSERT_EQ(write.exit_code, 0) << write.All();
  }
  std::string Finished(const std::string& job, size_t count) {
    json builds = server_.WaitForFinishedBuilds("greeter", job, count, minutes(10));
    if (builds.size() < count) return "not finished: " + server_.JobBuilds("greeter", job).dump();
    return builds[0].value("status", "");
  }
  std::string NewestLog(const std::string& job) {
    json builds = server_.JobBuilds("greeter", job);
    return builds.empty() ? "" : server_.BuildLog(builds[0].value("id", int64_t{0}));
  }
  CliResult Download(const std::string& resource, const std::string& version, const fs::path& to) {
    std::vector<std::string> args = {"download-artifact", "-r", "greeter/" + resource, "-o",
                                     to.string()};
    if (!version.empty()) args.insert(args.end(), {"-v", version});
    return server_.Cli(args);
  }

  TempDir dir_;
  fs::path project_;
  ServerProcess server_;
};

TEST_F(InitMaven, GatesNewFindingsPerStageAndDeploysTheCleanCommitsJar) {
  for (const char* tool : {"java", "mvn", "checkstyle"}) {
    if (!Installed(tool)) GTEST_SKIP() << tool << " is not installed (.ci/packages/java.txt)";
  }
  if (!fs::exists(MavenFakeCfBinary())) GTEST_SKIP() << "needs " << MavenFakeCfBinary();
  ASSERT_TRUE(server_.started()) << server_.log();

  ProcessResult init = Baton({"init"});
  ASSERT_EQ(init.exit_code, 0) << init.All();
  EXPECT_NE(init.out.find("for this Maven project: branch master, deploys greeter"),
            std::string::npos)
      << init.out;
  EXPECT_EQ(init.out.find("names no <mainClass>"), std::string::npos) << init.out;
  for (const char* file : {"checkstyle.xml", "ci/secure-coding.xml", "ci/manifest.yml"}) {
    EXPECT_TRUE(fs::exists(project_ / file)) << file;
  }
  WriteBaseline("static-analysis", "[MultipleVariableDeclarations]");
  WriteBaseline("secure-coding", "NEW error: src/main/java/com/example/Legacy.java:12");
  MavenCommitAll(project_, "greeter with its pipeline and baselines");

  // A new secure-coding finding: a command line built from input (checkstyle's style checks
  // have nothing to say about it).
  const std::string original = ReadFile(project_ / kGreeter);
  std::string code = original;
  const std::string main = "  public static void main(";
  code.replace(code.find(main), 0,
               "  static Process open(String page) throws IOException {\n"
               "    return Runtime.getRuntime().exec(\"xdg-open \" + page);\n  }\n\n");
  WriteFile(project_ / kGreeter, code);
  MavenCommitAll(project_, "open pages");

  ProcessOptions cf_options;
  cf_options.timeout = minutes(30);
  cf_options.output_file = dir_ / "cf.log";
  ChildProcess cf({MavenFakeCfBinary().string(), "--data-dir", (dir_ / "cf").string(), "--listen",
                   "127.0.0.1:0", "--user", "admin", "--password", "cf-secret", "--org", "org",
                   "--space", "dev"},
                  cf_options);
  ASSERT_TRUE(
      WaitUntil([&] { return !MavenReadFileIfAny(dir_ / "cf" / "api-url").empty(); }, minutes(1)))
      << MavenReadFileIfAny(dir_ / "cf.log");
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

  EXPECT_EQ(Finished("secure-coding", 1), "failed");
  std::string log = NewestLog("secure-coding");
  EXPECT_NE(log.find("NEW error: src/main/java/com/example/Greeter.java:19"), std::string::npos)
      << log;
  EXPECT_NE(log.find("[CommandExecution]"), std::string::npos) << log;
  EXPECT_EQ(log.find("NEW error: src/main/java/com/example/Legacy.java"), std::string::npos) << log;
  EXPECT_NE(log.find("secure coding FAILED: 1 new errors (allowed 0)"), std::string::npos) << log;
  EXPECT_EQ(Finished("static-analysis", 1), "succeeded") << NewestLog("static-analysis");
  EXPECT_EQ(Finished("unit-test", 1), "succeeded") << NewestLog("unit-test");
  EXPECT_TRUE(server_.JobBuilds("greeter", "deploy").empty()) << "deploy must not run";

  WriteFile(project_ / kGreeter, original);
  MavenCommitAll(project_, "no pages after all");
  server_.CheckResource("greeter", "source");
  EXPECT_EQ(Finished("secure-coding", 2), "succeeded") << NewestLog("secure-coding");
  ASSERT_EQ(Finished("deploy", 1), "succeeded") << NewestLog("deploy") << ReadFile(dir_ / "cf.log");
  for (const char* job : {"compile", "unit-test", "static-analysis"}) {
    EXPECT_EQ(Finished(job, 2), "succeeded") << job << NewestLog(job);
  }
  EXPECT_NE(NewestLog("compile").find("[INFO] Compiling"), std::string::npos);
  std::string tests = NewestLog("unit-test");
  EXPECT_NE(tests.find("Tests run: 1, Failures: 0"), std::string::npos) << tests;
  EXPECT_EQ(tests.find("[INFO] Compiling"), std::string::npos)
      << "unit-test runs the compile stage's classes\n"
      << tests;
  EXPECT_NE(MavenReadFileIfAny(dir_ / "cf.log").find("java -cp . com.example.Greeter"),
            std::string::npos)
      << "java_buildpack started the jar's Main-Class\n"
      << MavenReadFileIfAny(dir_ / "cf.log");
  EXPECT_EQ(server_.log().find("cf-secret"), std::string::npos);

  json apps = json::parse(RunProcess({"curl", "-fsS", api + "/fake/apps"}).out, nullptr, false);
  ASSERT_TRUE(apps.is_array() && !apps.empty()) << apps.dump();
  std::string url = apps[0].value("url", "");
  if (url.rfind("http", 0) != 0) url = "http://" + url;
  EXPECT_EQ(RunProcess({"curl", "-fsS", "--max-time", "5", url}).out, "hello, cloud");

  fs::path back = dir_ / "back";
  CliResult sa = Download("static-analysis-reports", "", back / "sa");
  ASSERT_EQ(sa.exit_code, 0) << sa.All();
  EXPECT_NE(
      MavenReadFileIfAny(back / "sa" / "checkstyle.sarif").find("MultipleVariableDeclarations"),
      std::string::npos);
  CliResult sc = Download("secure-coding-reports", "", back / "sc");
  ASSERT_EQ(sc.exit_code, 0) << sc.All();
  std::string sarif = MavenReadFileIfAny(back / "sc" / "secure-coding.sarif");
  EXPECT_NE(sarif.find("Legacy.java"), std::string::npos) << sarif;
  EXPECT_EQ(sarif.find("CommandExecution"), std::string::npos) << sarif;
  json versions =
      server_.Get("/api/v1/teams/main/pipelines/greeter/resources/secure-coding-reports/versions");
  ASSERT_EQ(versions.size(), 2u) << versions.dump();
  CliResult failed_run =
      Download("secure-coding-reports", std::to_string(versions[1].value("id", int64_t{0})),
               back / "failed");
  ASSERT_EQ(failed_run.exit_code, 0) << failed_run.All();
  EXPECT_NE(MavenReadFileIfAny(back / "failed" / "secure-coding.sarif").find("CommandExecution"),
            std::string::npos);
  CliResult ut = Download("unit-test-reports", "", back / "ut");
  ASSERT_EQ(ut.exit_code, 0) << ut.All();
  EXPECT_TRUE(fs::exists(back / "ut" / "TEST-com.example.GreeterTest.xml"));
  cf.Signal(SIGTERM);
  cf.Wait();
}

TEST(InitMavenErrors, APomWithoutAMainClassGetsADeployJobAndAWarning) {
  TempDir dir;
  WriteFile(dir / "pom.xml",
            "<project><modelVersion>4.0.0</modelVersion><groupId>x</groupId>"
            "<artifactId>lib-tool</artifactId><version>1</version></project>\n");
  ProcessResult init = RunBaton({"init", dir.path().string()});
  ASSERT_EQ(init.exit_code, 0) << init.All();
  EXPECT_NE(init.out.find("deploys lib-tool"), std::string::npos) << init.out;
  EXPECT_NE(init.out.find("note: the pom names no <mainClass>"), std::string::npos) << init.out;
  EXPECT_NE(ReadFile(dir / "ci" / "manifest.yml").find("- name: lib-tool"), std::string::npos);
  TempDir none;
  WriteFile(none / "pom.xml", ReadFile(dir / "pom.xml"));
  ProcessResult no_deploy = RunBaton({"init", "--no-deploy", none.path().string()});
  ASSERT_EQ(no_deploy.exit_code, 0) << no_deploy.All();
  EXPECT_EQ(ReadFile(none / "ci" / "pipeline.yml").find("- name: deploy"), std::string::npos);
  EXPECT_FALSE(fs::exists(none / "ci" / "manifest.yml"));
  EXPECT_NE(ReadFile(none / "ci" / "pipeline.yml").find("- name: secure-coding"),
            std::string::npos);
}

}  // namespace
}  // namespace baton::testing
