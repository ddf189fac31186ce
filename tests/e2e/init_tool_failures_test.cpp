// The analysis stages when their tool is missing or crashes (samples/seed/ci and
// samples/init/maven scripts), run as the pipeline runs them: `baton execute` of the stage's
// task file on a small project made in the test. The task's PATH is narrowed in the test's copy
// of the task file: for "missing", a directory of links to every host program but the tool;
// for "crashed", a stand-in of the tool that kills itself with SIGSEGV (as a crashing analyser
// does). Each run must fail the stage, naming the tool and the reason, never pass quietly.
#include <gtest/gtest.h>

#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;

bool ToolInstalled(const std::string& tool) {
  return RunProcess({"sh", "-c", "command -v " + tool}).exit_code == 0;
}

class ToolFailures : public ::testing::Test {
 protected:
  // A C++ project with the seed's analysis scripts and one file each tool reads.
  fs::path CppProject() {
    fs::path p = dir_ / "cpp";
    fs::create_directories(p / "ci");
    for (const char* sub : {"scripts", "tasks"}) {
      fs::copy(SourceDir() / "samples" / "seed" / "ci" / sub, p / "ci" / sub,
               fs::copy_options::recursive);
    }
    WriteFile(p / "CMakeLists.txt",
              "cmake_minimum_required(VERSION 3.16)\nproject(p CXX)\n"
              "add_library(p src/name.cpp)\n");
    WriteFile(p / ".clang-tidy", "Checks: '-*,bugprone-*'\n");
    WriteFile(p / "src" / "name.cpp", "int NameLength() { return 4; }\n");
    return p;
  }
  // A Java project with baton init's Maven scripts and its starter checkstyle.xml.
  fs::path JavaProject() {
    fs::path p = dir_ / "java";
    fs::create_directories(p / "ci");
    fs::path maven = SourceDir() / "samples" / "init" / "maven";
    fs::copy(maven / "scripts", p / "ci" / "scripts", fs::copy_options::recursive);
    fs::copy(maven / "tasks", p / "ci" / "tasks", fs::copy_options::recursive);
    fs::copy(SourceDir() / "samples" / "seed" / "ci" / "scripts" / "findings.py",
             p / "ci" / "scripts" / "findings.py");
    fs::copy(maven / "checkstyle.xml", p / "checkstyle.xml");
    fs::copy(maven / "secure-coding.xml", p / "ci" / "secure-coding.xml");
    WriteFile(p / "src/main/java/com/example/Name.java",
              "package com.example;\n\n/** A name. */\npublic final class Name {}\n");
    return p;
  }
  // bin/ in the project: a link to every program of the host's /usr/bin except `tool`.
  void WithoutTool(const fs::path& project, const std::string& tool) {
    fs::create_directories(project / "bin");
    for (const auto& entry : fs::directory_iterator("/usr/bin")) {
      std::string name = entry.path().filename().string();
      if (name != tool) fs::create_symlink(entry.path(), project / "bin" / name);
    }
  }
  // bin/ in the project: `tool` that prints a line and dies of SIGSEGV.
  void CrashingTool(const fs::path& project, const std::string& tool) {
    fs::create_directories(project / "bin");
    WriteFile(project / "bin" / tool,
              "#!/bin/sh\necho \"" + tool + " starting\" >&2\nkill -SEGV $$\n");
    fs::permissions(project / "bin" / tool, fs::perms::owner_all | fs::perms::others_exec);
  }
  // Runs ci/tasks/<stage>.yml with the project's bin/ first in PATH (alone when `only_bin`).
  ProcessResult Stage(const fs::path& project, const std::string& stage, bool only_bin) {
    fs::path task = project / "ci" / "tasks" / (stage + ".yml");
    std::string text = ReadFile(task);
    std::string run = text.substr(text.find("run:"));
    // The script the task runs: `args: [source/ci/scripts/<script>.sh]`.
    size_t from = text.find("source/ci/scripts/", text.find("run:"));
    std::string script = text.substr(from, text.find(']', from) - from);
    std::string path = only_bin ? "$PWD/source/bin" : "$PWD/source/bin:$PATH";
    text.replace(text.find("run:"), run.size(),
                 "run:\n  path: sh\n  args: [-c, 'PATH=" + path + "; export PATH; exec sh " +
                     script + "']\n");
    WriteFile(task, text);
    ProcessOptions options;
    options.timeout = std::chrono::minutes(5);
    return RunBaton(
        {"execute", "-c", task.string(), "-i", "source=" + project.string(), "-o",
         "reports=" + (dir_ / "reports").string(), "--data-dir", (dir_ / "data").string()},
        options);
  }
  TempDir dir_;
};

struct ToolCase {
  const char* stage;   // the task file under ci/tasks
  const char* tool;    // the tool taken away or made to crash
  const char* failed;  // the stage's failure line
};

const ToolCase kCppCases[] = {
    {"static-analysis", "cppcheck", "static analysis FAILED: "},
    {"static-analysis", "clang-tidy", "static analysis FAILED: "},
    {"secure-coding", "flawfinder", "secure coding FAILED: "},
};

TEST_F(ToolFailures, AMissingToolFailsTheStageNamingTheToolAndThePackage) {
  for (const ToolCase& c : kCppCases) {
    SCOPED_TRACE(c.tool);
    fs::path project = CppProject();
    WithoutTool(project, c.tool);
    ProcessResult r = Stage(project, c.stage, /*only_bin=*/true);
    EXPECT_EQ(r.exit_code, 1) << r.All();
    EXPECT_NE(r.out.find(std::string(c.failed) + c.tool +
                         " is not installed on the worker (apt-get install " + c.tool + ")"),
              std::string::npos)
        << r.out;
    fs::remove_all(project);
  }
}

TEST_F(ToolFailures, ACrashingToolFailsTheStageNamingTheToolAndTheSignal) {
  const std::map<std::string, std::string> reasons = {
      {"cppcheck", "cppcheck crashed (killed by signal SIGSEGV) before finishing its report"},
      {"clang-tidy",
       "clang-tidy crashed (terminated by signal 11); its stderr: "
       "reports/clang-tidy.stderr"},
      {"flawfinder", "flawfinder crashed (killed by signal SIGSEGV) before finishing its report"},
  };
  for (const ToolCase& c : kCppCases) {
    SCOPED_TRACE(c.tool);
    fs::path project = CppProject();
    CrashingTool(project, c.tool);
    ProcessResult r = Stage(project, c.stage, /*only_bin=*/false);
    EXPECT_EQ(r.exit_code, 1) << r.All();
    EXPECT_NE(r.out.find(c.failed + reasons.at(c.tool)), std::string::npos) << r.out;
    EXPECT_EQ(r.out.find(" passed"), std::string::npos) << r.out;
    fs::remove_all(project);
  }
}

TEST_F(ToolFailures, CheckstyleMissingOrCrashingFailsTheJavaStages) {
  if (!ToolInstalled("checkstyle")) GTEST_SKIP() << "checkstyle is not installed (.ci/packages)";
  fs::path project = JavaProject();
  WithoutTool(project, "checkstyle");
  ProcessResult missing = Stage(project, "static-analysis", /*only_bin=*/true);
  EXPECT_EQ(missing.exit_code, 1) << missing.All();
  EXPECT_NE(missing.out.find("static analysis FAILED: checkstyle is not installed on the worker "
                             "(apt-get install checkstyle)"),
            std::string::npos)
      << missing.out;

  fs::remove_all(project);
  project = JavaProject();
  CrashingTool(project, "checkstyle");
  ProcessResult crashed = Stage(project, "static-analysis", /*only_bin=*/false);
  EXPECT_EQ(crashed.exit_code, 1) << crashed.All();
  EXPECT_NE(crashed.out.find("static analysis FAILED: checkstyle crashed (killed by signal "
                             "SIGSEGV) before finishing its report"),
            std::string::npos)
      << crashed.out;
  EXPECT_NE(crashed.out.find("checkstyle starting"), std::string::npos) << "its output is shown\n"
                                                                        << crashed.out;
  ProcessResult secure = Stage(project, "secure-coding", /*only_bin=*/false);
  EXPECT_EQ(secure.exit_code, 1) << secure.All();
  EXPECT_NE(secure.out.find("secure coding FAILED: checkstyle crashed (killed by signal SIGSEGV) "
                            "before finishing its report"),
            std::string::npos)
      << secure.out;
}

}  // namespace
}  // namespace baton::testing
