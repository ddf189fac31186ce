// The seed pipeline (samples/seed) end to end: the file validates, the sample app's own unit
// tests pass, a static-analysis or secure-coding finding over the threshold stops the pipeline
// before deploy, and the whole pipeline deploys the three apps to the Cloud Foundry stand-in.
// Every pipeline run is a real `baton run` of samples/seed/ci/pipeline.yml on a git repository
// made the way samples/demo.sh makes it.
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <regex>

#include <nlohmann/json.hpp>

#include "fakes/e2e_util.h"
#include "fakes/git_fixture.h"
#include "fakes/server_process.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::minutes;

fs::path SeedDir() { return SourceDir() / "samples" / "seed"; }
fs::path SeedPipeline() { return SeedDir() / "ci" / "pipeline.yml"; }
fs::path SeedFakeCfBinary() { return BatonBinary().parent_path() / "baton-fake-cf"; }

void SeedCommitAll(const fs::path& repo, const std::string& message) {
  RunGit(repo, "add -A");
  RunGit(repo, "-c user.name=Seed -c user.email=seed@example.com commit -qm '" + message + "'");
}

// app/ at the root and ci/tasks + ci/scripts, committed on main (as samples/demo.sh does).
void MakeSeedRepository(const fs::path& repo) {
  fs::create_directories(repo / "ci");
  fs::copy(SeedDir() / "app", repo, fs::copy_options::recursive);
  fs::copy(SeedDir() / "ci" / "tasks", repo / "ci" / "tasks", fs::copy_options::recursive);
  fs::copy(SeedDir() / "ci" / "scripts", repo / "ci" / "scripts", fs::copy_options::recursive);
  RunGit(repo, "init -q -b main");
  SeedCommitAll(repo, "seed: first commit");
}

std::vector<std::string> SeedVars(const fs::path& repo, const std::string& cf_api,
                                  const std::string& cf_password,
                                  const std::string& cf_ca_cert = "") {
  return {"-v", "repo=" + repo.string(),      "-v", "cf_api=" + cf_api,
          "-v", "cf_org=baton-org",           "-v", "cf_space=demo",
          "-v", "cf_username=admin",          "-v", "cf_password=" + cf_password,
          "-v", "cf_domain=apps.baton.local", "-v", "app_bind=127.0.0.1",
          "-v", "cf_ca_cert=" + cf_ca_cert};
}

// The number of TEST(...) cases in the app's test sources.
size_t CountTestCases(const fs::path& tests_dir) {
  size_t count = 0;
  std::regex test_macro(R"(^TEST(_F)?\()");
  for (const auto& entry : fs::directory_iterator(tests_dir)) {
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) count += std::regex_search(line, test_macro);
  }
  return count;
}

class SeedPipelineRun : public ::testing::Test {
 protected:
  SeedPipelineRun() : repo_(dir_ / "seed-app") { MakeSeedRepository(repo_); }

  // `baton run` of every job of the seed pipeline, with `cf_api` for the deploy job.
  ProcessResult RunAll(const std::string& cf_api = "http://127.0.0.1:9",
                       const std::string& cf_password = "unused",
                       const std::string& cf_ca_cert = "") {
    std::vector<std::string> args{"run",  "-c",         SeedPipeline().string(), "-p",
                                  "seed", "--data-dir", (dir_ / "data").string()};
    for (auto& v : SeedVars(repo_, cf_api, cf_password, cf_ca_cert)) args.push_back(v);
    ProcessOptions options;
    options.timeout = minutes(20);  // compile + analysis on 2 busy cores
    return RunBaton(args, options);
  }

  // Asserts that only `failing` failed, deploy was skipped because of it and never started.
  void ExpectStoppedBeforeDeployBy(const ProcessResult& r, const std::string& failing) {
    EXPECT_EQ(r.exit_code, 1) << r.All();
    auto summary = ParseRunSummary(r.out);
    for (const char* job : {"source", "compile", "static-analysis", "unit-test", "secure-coding"}) {
      EXPECT_EQ(summary[job], job == failing ? "failed" : "succeeded") << job << "\n" << r.out;
    }
    EXPECT_EQ(summary["deploy"], "skipped") << r.out;
    EXPECT_NE(r.out.find("upstream job `" + failing + "` did not succeed"), std::string::npos)
        << r.out;
    EXPECT_EQ(r.out.find("deploy #1/"), std::string::npos) << "deploy must not run\n" << r.out;
  }

  TempDir dir_;
  fs::path repo_;
};

TEST(SeedPipeline, ValidatesStrictlyWithEveryVarSet) {
  std::vector<std::string> args{"validate-pipeline", "-c", SeedPipeline().string(), "--strict",
                                "--check-vars"};
  for (auto& v : SeedVars("/srv/seed.git", "https://api.example.com", "secret")) args.push_back(v);
  ProcessResult r = RunBaton(args);
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("looks good"), std::string::npos) << r.All();
}

TEST(SeedPipeline, KeepsCloudFoundryCredentialsOutOfThePipelineFile) {
  std::string text = ReadFile(SeedPipeline());
  EXPECT_NE(text.find("password: ((cf_password))"), std::string::npos);
  EXPECT_NE(text.find("username: ((cf_username))"), std::string::npos);
}

TEST(SeedApp, ItsOwnUnitTestsPassWhenBuiltWithCMake) {
  TempDir dir;
  ProcessOptions options;
  options.timeout = minutes(10);
  fs::path app = SeedDir() / "app";
  fs::path build = dir / "build";
  ProcessResult configure =
      RunProcess({"cmake", "-S", app.string(), "-B", build.string(), "-G", "Ninja"}, options);
  ASSERT_EQ(configure.exit_code, 0) << configure.All();
  ProcessResult compile = RunProcess(
      {"cmake", "--build", build.string(), "-j", "2", "--target", "seed_tests"}, options);
  ASSERT_EQ(compile.exit_code, 0) << compile.All();
  EXPECT_EQ(compile.All().find("warning:"), std::string::npos) << compile.All();
  fs::path junit = dir / "junit.xml";
  ProcessResult ctest = RunProcess(
      {"ctest", "--test-dir", build.string(), "--output-junit", junit.string()}, options);
  ASSERT_EQ(ctest.exit_code, 0) << ctest.All();
  std::string report = ReadFile(junit);
  size_t cases = CountTestCases(app / "tests");
  EXPECT_GE(cases, 10u);
  EXPECT_EQ(CountOccurrences(report, "<testcase "), cases) << report;
  EXPECT_NE(report.find("failures=\"0\""), std::string::npos) << report;
}

TEST_F(SeedPipelineRun, AStaticAnalysisErrorStopsThePipelineBeforeDeploy) {
  WriteFile(repo_ / "src" / "last_day.cpp",
            "// The day the last seed of the catalog sprouts.\n"
            "int LastSproutDay() {\n"
            "  int days[4] = {7, 10, 9, 14};\n"
            "  return days[4];\n"
            "}\n");
  SeedCommitAll(repo_, "seed: last sprout day");
  ProcessResult r = RunAll();
  ExpectStoppedBeforeDeployBy(r, "static-analysis");
  EXPECT_NE(r.out.find("arrayIndexOutOfBounds"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("static analysis FAILED"), std::string::npos) << r.out;
}

TEST_F(SeedPipelineRun, ASecureCodingHitOverTheThresholdStopsThePipelineBeforeDeploy) {
  WriteFile(repo_ / "src" / "restart_hook.cpp",
            "// Runs an operator-supplied program when the service restarts.\n"
            "#include <unistd.h>\n"
            "\n"
            "int RunRestartHook(const char* program) {\n"
            "  return execlp(program, program, static_cast<char*>(nullptr));\n"
            "}\n");
  SeedCommitAll(repo_, "seed: restart hook");
  ProcessResult r = RunAll();
  ExpectStoppedBeforeDeployBy(r, "secure-coding");
  EXPECT_NE(r.out.find("[4] (shell) execlp"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("secure coding FAILED"), std::string::npos) << r.out;
}

// The file's text, or "" while it does not exist yet.
std::string SeedReadFileIfAny(const fs::path& path) {
  std::error_code ec;
  return fs::exists(path, ec) ? ReadFile(path) : "";
}

// GET `url` with curl (trusting `ca_file` when given); the body, or "" when it failed.
std::string Curl(const std::string& url, const std::string& ca_file = "") {
  std::vector<std::string> argv = {"curl", "-fsS", "--max-time", "5", url};
  if (!ca_file.empty()) argv.insert(argv.end(), {"--cacert", ca_file});
  ProcessResult r = RunProcess(argv);
  return r.exit_code == 0 ? r.out : "";
}

TEST_F(SeedPipelineRun, DeploysTheThreeAppsToTheCloudFoundryStandIn) {
  if (!fs::exists(SeedFakeCfBinary())) {
    GTEST_SKIP() << "needs the Cloud Foundry stand-in " << SeedFakeCfBinary()
                 << " (build the baton-fake-cf target)";
  }
  const std::string password = "seed-test-password";
  ProcessOptions cf_options;
  cf_options.timeout = minutes(30);
  cf_options.output_file = dir_ / "cf.log";  // read by nobody during the run: a file, not a pipe
  ChildProcess cf(
      {SeedFakeCfBinary().string(), "--data-dir", (dir_ / "cf").string(), "--listen", "127.0.0.1:0",
       "--user", "admin", "--password", password, "--org", "baton-org", "--space", "demo", "--tls"},
      cf_options);
  ASSERT_TRUE(
      WaitUntil([&] { return !SeedReadFileIfAny(dir_ / "cf" / "api-url").empty(); }, minutes(1)))
      << ReadFile(dir_ / "cf.log");
  std::string api = ReadFile(dir_ / "cf" / "api-url");
  api.erase(api.find_last_not_of(" \n") + 1);

  fs::path ca = dir_ / "cf" / "tls-cert.pem";  // the pipeline reaches the stand-in over TLS
  ProcessResult r = RunAll(api, password, ReadFile(ca));
  ASSERT_EQ(r.exit_code, 0) << r.All() << "\nstand-in log:\n" << ReadFile(dir_ / "cf.log");
  auto summary = ParseRunSummary(r.out);
  for (const char* job :
       {"source", "compile", "static-analysis", "unit-test", "secure-coding", "deploy"}) {
    EXPECT_EQ(summary[job], "succeeded") << job << "\n" << r.out;
  }
  EXPECT_EQ(r.out.find(password), std::string::npos) << "the password must not be logged";

  auto apps = nlohmann::json::parse(Curl(api + "/fake/apps", ca.string()), nullptr, false);
  ASSERT_TRUE(apps.is_array()) << Curl(api + "/fake/apps", ca.string());
  std::map<std::string, std::string> urls;
  for (const auto& app : apps) {
    std::string url = app.value("url", "");
    urls[app.value("name", "")] = url.rfind("http", 0) == 0 ? url : "http://" + url;
  }
  ASSERT_EQ(urls.count("seed-api"), 1u) << apps.dump();
  EXPECT_NE(Curl(urls["seed-api"] + "/api/v1/seeds/basil").find("\"name\":\"Genovese basil\""),
            std::string::npos);
  EXPECT_NE(Curl(urls["seed-admin"] + "/").find("<h1>Seed admin</h1>"), std::string::npos);
  EXPECT_NE(Curl(urls["seed-user"] + "/").find("<h1>Seed shop</h1>"), std::string::npos);
  cf.Signal(SIGTERM);  // a graceful stop, so the stand-in stops the apps it started
  cf.Wait();
}

}  // namespace
}  // namespace baton::testing
