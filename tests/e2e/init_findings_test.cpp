// The analysis stages' findings gate (samples/seed/ci/scripts: findings.py and the stage
// scripts), run as the pipeline runs them: `baton execute` of the stage's task file on a small
// project made in the test. Findings are keyed by file, check and message, so a known finding
// that moves stays known, a new one fails the stage and is listed, and `baton write-baseline`
// turns a run's reports into the baseline. Missing configuration fails with the reason.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;

class FindingsGate : public ::testing::Test {
 protected:
  FindingsGate() : project_(dir_ / "project") {
    fs::create_directories(project_ / "ci");
    fs::copy(SourceDir() / "samples" / "seed" / "ci" / "scripts", project_ / "ci" / "scripts",
             fs::copy_options::recursive);
    fs::copy(SourceDir() / "samples" / "seed" / "ci" / "tasks", project_ / "ci" / "tasks",
             fs::copy_options::recursive);
    WriteFile(project_ / "src" / "copy.cpp",
              "#include <string.h>\n"
              "void CopyName(char* to, const char* from) { strcpy(to, from); }\n");
  }
  // Runs the stage's task file; its reports land in dir_/<reports>.
  ProcessResult Stage(const std::string& task, const std::string& reports) {
    ProcessOptions options;
    options.timeout = std::chrono::minutes(5);
    return RunBaton({"execute", "-c", (project_ / "ci" / "tasks" / task).string(), "-i",
                     "source=" + project_.string(), "-o", "reports=" + (dir_ / reports).string(),
                     "--data-dir", (dir_ / "data").string()},
                    options);
  }
  TempDir dir_;
  fs::path project_;
};

TEST_F(FindingsGate, OnlyFindingsMissingFromTheBaselineFailTheStageAndAreListed) {
  ProcessResult first = Stage("secure-coding.yml", "r1");
  EXPECT_EQ(first.exit_code, 1) << "no baseline yet: strcpy is new\n" << first.All();
  EXPECT_NE(first.out.find("no baseline at ci/baselines/secure-coding.json"), std::string::npos)
      << first.out;
  EXPECT_NE(first.out.find("NEW error: src/copy.cpp:2"), std::string::npos) << first.out;
  EXPECT_TRUE(fs::exists(dir_ / "r1" / "flawfinder.sarif")) << "SARIF kept on failure";

  ProcessResult write = RunBaton({"write-baseline", "--from", (dir_ / "r1").string(), "-o",
                                  (project_ / "ci" / "baselines" / "secure-coding.json").string()});
  ASSERT_EQ(write.exit_code, 0) << write.All();
  EXPECT_NE(write.out.find("wrote 1 known findings"), std::string::npos) << write.out;

  // The known finding moves down two lines; a new one (system) arrives in another file.
  WriteFile(project_ / "src" / "copy.cpp",
            "#include <string.h>\n\n\n"
            "void CopyName(char* to, const char* from) { strcpy(to, from); }\n");
  WriteFile(project_ / "src" / "hook.cpp",
            "#include <stdlib.h>\n"
            "int RunHook(const char* command) { return system(command); }\n");
  ProcessResult second = Stage("secure-coding.yml", "r2");
  EXPECT_EQ(second.exit_code, 1) << second.All();
  EXPECT_NE(second.out.find("1 known from the baseline, 1 new"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("NEW error: src/hook.cpp:2"), std::string::npos) << second.out;
  EXPECT_EQ(second.out.find("NEW error: src/copy.cpp"), std::string::npos) << second.out;
  EXPECT_NE(second.out.find("secure coding FAILED: 1 new errors (allowed 0)"), std::string::npos)
      << second.out;

  fs::remove(project_ / "src" / "hook.cpp");
  ProcessResult third = Stage("secure-coding.yml", "r3");
  EXPECT_EQ(third.exit_code, 0) << third.All();
  EXPECT_NE(third.out.find("secure coding passed"), std::string::npos) << third.out;
}

TEST_F(FindingsGate, ScansTheConfiguredPathsAndSaysWhenNoneExists) {
  fs::rename(project_ / "src", project_ / "lib");
  ProcessResult none = Stage("secure-coding.yml", "r1");
  EXPECT_EQ(none.exit_code, 1) << none.All();
  EXPECT_NE(none.out.find("none of SCAN_PATHS (src include) exists"), std::string::npos)
      << none.out;
  std::string task = ReadFile(project_ / "ci" / "tasks" / "secure-coding.yml");
  task.replace(task.find("SCAN_PATHS: src include"), 23, "SCAN_PATHS: lib");
  WriteFile(project_ / "ci" / "tasks" / "secure-coding.yml", task);
  ProcessResult lib = Stage("secure-coding.yml", "r2");
  EXPECT_EQ(lib.exit_code, 1) << lib.All();
  EXPECT_NE(lib.out.find("NEW error: lib/copy.cpp:2"), std::string::npos) << lib.out;
}

TEST_F(FindingsGate, StaticAnalysisWithoutAClangTidyConfigFailsSayingSo) {
  ProcessResult r = Stage("static-analysis.yml", "r1");
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_NE(r.out.find("no .clang-tidy at the repository's root"), std::string::npos) << r.out;
}

TEST_F(FindingsGate, WriteBaselineRefusesADirectoryWithoutOne) {
  fs::create_directories(dir_ / "empty");
  ProcessResult r = RunBaton(
      {"write-baseline", "--from", (dir_ / "empty").string(), "-o", (dir_ / "b.json").string()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("no baseline.json in"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "b.json"));
}

}  // namespace
}  // namespace baton::testing
