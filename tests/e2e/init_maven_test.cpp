// `baton init` on a small Maven project made in the test (tests/data/init/greeter-maven) on a
// `master` branch, run with `baton run`: Maven works offline against Debian's
// /usr/share/maven-repo, the unit-test stage runs surefire over the compile stage's classes
// (JUnit reports), and checkstyle's findings are gated against a baseline written with `baton
// write-baseline`: the old finding passes, a new one fails static-analysis only. Skipped when
// Debian's Java tools (.ci/packages/java.txt) are not installed.
#include <gtest/gtest.h>

#include "fakes/e2e_util.h"
#include "fakes/git_fixture.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::minutes;

bool Installed(const std::string& tool) {
  return RunProcess({"sh", "-c", "command -v " + tool}).exit_code == 0;
}

void CommitAll(const fs::path& repo, const std::string& message) {
  RunGit(repo, "add -A");
  RunGit(repo, "-c user.name=Init -c user.email=init@example.com commit -qm '" + message + "'");
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
  ProcessResult Run() {
    return Baton({"run", "-c", "ci/pipeline.yml", "-v", "repo=" + project_.string(), "--data-dir",
                  (dir_ / "data").string()});
  }
  TempDir dir_;
  fs::path project_;
};

TEST_F(InitMaven, BuildsTestsOfflineAndGatesNewCheckstyleFindings) {
  for (const char* tool : {"java", "mvn", "checkstyle"}) {
    if (!Installed(tool)) GTEST_SKIP() << tool << " is not installed (.ci/packages/java.txt)";
  }
  ProcessResult init = Baton({"init"});
  ASSERT_EQ(init.exit_code, 0) << init.All();
  EXPECT_NE(init.out.find("for this Maven project: branch master"), std::string::npos) << init.out;
  EXPECT_TRUE(fs::exists(project_ / "checkstyle.xml"));
  fs::path reports = dir_ / "reports";
  ProcessResult first =
      Baton({"execute", "-c", "ci/tasks/static-analysis.yml", "-i", "source=.", "-o",
             "reports=" + reports.string(), "--data-dir", (dir_ / "execute-data").string()});
  EXPECT_EQ(first.exit_code, 1) << "the old finding is new without a baseline\n" << first.All();
  EXPECT_NE(first.out.find("[MultipleVariableDeclarations]"), std::string::npos) << first.out;
  ASSERT_EQ(Baton({"write-baseline", "--from", reports.string(), "-o",
                   "ci/baselines/static-analysis.json"})
                .exit_code,
            0);
  EXPECT_TRUE(fs::exists(reports / "checkstyle.sarif"));

  // A new finding: strings compared with == (checkstyle's StringLiteralEquality, an error).
  std::string code = ReadFile(project_ / "src/main/java/com/example/Greeter.java");
  std::string greet = "  public static String greet(String name) {\n";
  code.replace(code.find(greet), greet.size(),
               greet + "    if (name == \"\") {\n      return \"hello\";\n    }\n");
  WriteFile(project_ / "src/main/java/com/example/Greeter.java", code);
  CommitAll(project_, "greeter with its pipeline, a baseline and a new finding");
  ProcessResult failing = Run();
  EXPECT_EQ(failing.exit_code, 1) << failing.All();
  auto summary = ParseRunSummary(failing.out);
  EXPECT_EQ(summary["compile"], "succeeded") << failing.out;
  EXPECT_EQ(summary["unit-test"], "succeeded") << failing.out;
  EXPECT_EQ(summary["static-analysis"], "failed") << failing.out;
  EXPECT_NE(failing.out.find("NEW error: src/main/java/com/example/Greeter.java:8"),
            std::string::npos)
      << failing.out;
  EXPECT_EQ(failing.out.find("NEW warning"), std::string::npos) << "the old one is known";

  WriteFile(project_ / "src/main/java/com/example/Greeter.java",
            ReadFile(SourceDir() / "tests/data/init/greeter-maven/src/main/java/com/example/"
                                   "Greeter.java"));
  CommitAll(project_, "no == after all");
  ProcessResult green = Run();
  ASSERT_EQ(green.exit_code, 0) << green.All();
  EXPECT_NE(green.out.find("Tests run: 1, Failures: 0"), std::string::npos) << green.out;
  EXPECT_NE(green.out.find("JUnit reports: reports/ (1 test cases)"), std::string::npos)
      << green.out;
  EXPECT_NE(green.out.find("compile #2/compile | [INFO] Compiling"), std::string::npos);
  EXPECT_EQ(green.out.find("surefire | [INFO] Compiling"), std::string::npos)
      << "unit-test runs the compile stage's classes\n"
      << green.out;
}

}  // namespace
}  // namespace baton::testing
