// `baton execute` end to end: the real binary runs one task config in a sandbox, with inputs
// from local directories, outputs copied back, params in the environment, and the exit codes
// 0 succeeded / 1 failed / 2 errored or usage / 3 aborted.
#include <signal.h>

#include <thread>

#include <gtest/gtest.h>

#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using std::chrono::seconds;

class Execute : public ::testing::Test {
 protected:
  fs::path Task(const std::string& yaml) {
    fs::path file = dir_ / "task.yml";
    WriteFile(file, yaml);
    return file;
  }
  ProcessResult RunExecute(const fs::path& task, std::vector<std::string> extra = {},
                           ProcessOptions options = {}) {
    std::vector<std::string> args{"execute", "-c", task.string(), "--data-dir",
                                  (dir_ / "data").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunBaton(args, options);
  }
  TempDir dir_;
};

TEST_F(Execute, RunsATaskWithNamedInputsAndSucceeds) {
  WriteFile(dir_ / "src" / "greeting.txt", "hello from an input\n");
  WriteFile(dir_ / "cfg" / "name.txt", "baton\n");
  fs::path task = Task(R"yaml(platform: linux
inputs:
- name: src
- name: cfg
run:
  path: sh
  args: [-c, 'cat src/greeting.txt; echo "name=$(cat cfg/name.txt)"']
)yaml");
  ProcessResult r = RunExecute(
      task, {"-i", "src=" + (dir_ / "src").string(), "-i", "cfg=" + (dir_ / "cfg").string()});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("hello from an input"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("name=baton"), std::string::npos) << r.out;
}

// A task alone uses no artifact store: its directories are not made (as for `baton run`).
TEST_F(Execute, MakesNoArtifactStoreForATaskAlone) {
  fs::path task = Task("platform: linux\nrun:\n  path: /bin/true\n");
  ProcessResult r = RunExecute(task);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_TRUE(fs::is_directory(dir_ / "data" / "worker"));
  EXPECT_FALSE(fs::exists(dir_ / "data" / "artifacts"));
}

TEST_F(Execute, TakesTheCurrentDirectoryAsTheOnlyInput) {
  WriteFile(dir_ / "here" / "marker.txt", "current-dir-input\n");
  fs::path task = Task(
      "platform: linux\ninputs:\n- name: repo\nrun:\n  path: cat\n"
      "  args: [repo/marker.txt]\n");
  ProcessOptions in_dir;
  in_dir.cwd = dir_ / "here";
  ProcessResult r = RunExecute(task, {}, in_dir);
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("current-dir-input"), std::string::npos) << r.out;
}

TEST_F(Execute, CopiesOutputsBackToTheGivenDirectory) {
  fs::path task = Task(R"yaml(platform: linux
outputs:
- name: built
run:
  path: sh
  args: [-c, 'mkdir -p built/sub && echo artifact-bytes > built/sub/app.bin']
)yaml");
  fs::path out = dir_ / "copied";
  ProcessResult r = RunExecute(task, {"-o", "built=" + out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_EQ(ReadFile(out / "sub" / "app.bin"), "artifact-bytes\n");
}

TEST_F(Execute, PassesParamsAsEnvironmentVariables) {
  fs::path task = Task(R"yaml(platform: linux
params:
  GREETING: bonjour
  COUNT: 3
run:
  path: sh
  args: [-c, 'echo "greeting=$GREETING count=$COUNT"']
)yaml");
  ProcessResult r = RunExecute(task);
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("greeting=bonjour count=3"), std::string::npos) << r.out;
}

TEST_F(Execute, LeavesTheInputDirectoriesOnTheHostUnchanged) {
  WriteFile(dir_ / "src" / "file.txt", "original\n");
  fs::path task = Task(
      "platform: linux\ninputs:\n- name: src\nrun:\n  path: sh\n"
      "  args: [-c, 'echo changed > src/file.txt; cat src/file.txt']\n");
  ProcessResult r = RunExecute(task, {"-i", "src=" + (dir_ / "src").string()});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("changed"), std::string::npos) << "the task sees its own write";
  // fly execute uploads a copy: the user's files never change.
  EXPECT_EQ(ReadFile(dir_ / "src" / "file.txt"), "original\n");
}

TEST_F(Execute, TheCopyOfAnInputKeepsExecutablesSymlinksAndHiddenFiles) {
  WriteFile(dir_ / "src" / "bin" / "hello.sh", "#!/bin/sh\necho hello-from-script\n");
  fs::permissions(dir_ / "src" / "bin" / "hello.sh", fs::perms::owner_exec, fs::perm_options::add);
  WriteFile(dir_ / "src" / ".hidden", "hidden-file\n");
  fs::create_symlink("bin/hello.sh", dir_ / "src" / "link.sh");
  fs::path task = Task(
      "platform: linux\ninputs:\n- name: src\nrun:\n  path: sh\n"
      "  args: [-c, './src/link.sh; cat src/.hidden; readlink src/link.sh']\n");
  ProcessResult r = RunExecute(task, {"-i", "src=" + (dir_ / "src").string()});
  EXPECT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("hello-from-script"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("hidden-file"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("bin/hello.sh"), std::string::npos) << r.out;
}

TEST_F(Execute, ExitsOneWhenTheTaskFails) {
  fs::path task = Task(
      "platform: linux\nrun:\n  path: sh\n  args: [-c, 'echo about-to-fail; "
      "exit 7']\n");
  ProcessResult r = RunExecute(task);
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_NE(r.out.find("about-to-fail"), std::string::npos) << r.out;
}

TEST_F(Execute, CopiesTheOutputsOfAFailedTaskSoItsReportsComeBack) {
  fs::path task = Task(R"yaml(platform: linux
outputs:
- name: reports
run:
  path: sh
  args: [-c, 'echo "finding: strcpy" > reports/check.txt; exit 1']
)yaml");
  fs::path out = dir_ / "reports-back";
  ProcessResult r = RunExecute(task, {"-o", "reports=" + out.string()});
  EXPECT_EQ(r.exit_code, 1) << r.All();
  EXPECT_EQ(ReadFile(out / "check.txt"), "finding: strcpy\n") << r.All();
  EXPECT_NE(r.err.find("outputs were copied"), std::string::npos) << r.err;
}

TEST_F(Execute, ExitsTwoWhenTheExecutableIsMissing) {
  fs::path task = Task("platform: linux\nrun:\n  path: no-such-program-anywhere\n");
  ProcessResult r = RunExecute(task);
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.All().find("no-such-program-anywhere"), std::string::npos) << r.All();
}

TEST_F(Execute, RefusesToStartWithoutARequiredInput) {
  fs::path task =
      Task("platform: linux\ninputs:\n- name: src\n- name: deps\nrun:\n  path: /bin/true\n");
  WriteFile(dir_ / "src" / "x", "x");
  ProcessResult r = RunExecute(task, {"-i", "src=" + (dir_ / "src").string()});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("missing required inputs: deps"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("initializing"), std::string::npos) << "the task must not start";
}

TEST_F(Execute, RejectsAnInputTheTaskDoesNotDeclare) {
  fs::path task = Task("platform: linux\nrun:\n  path: /bin/true\n");
  fs::create_directories(dir_ / "x");
  ProcessResult r = RunExecute(task, {"-i", "stray=" + (dir_ / "x").string()});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("no input named `stray`"), std::string::npos) << r.err;
}

// Waits until no process's command line contains `marker`, up to `deadline`.
bool NoProcessLeft(const std::string& marker, milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (ProcessesWithMarker(marker).empty()) return true;
    std::this_thread::sleep_for(milliseconds(20));  // polling /proc, not synchronisation
  }
  return ProcessesWithMarker(marker).empty();
}

TEST_F(Execute, CtrlCAbortsWithExitThreeAndLeavesNoProcessBehind) {
  const std::string marker = "4242.4242";
  fs::path task = Task(
      "platform: linux\nrun:\n  path: sh\n  args: [-c, 'echo task-is-running; "
      "sleep " +
      marker + " & sleep " + marker + "; wait']\n");
  ChildProcess child({BatonBinary().string(), "execute", "-c", task.string(), "--data-dir",
                      (dir_ / "data").string()});
  ASSERT_TRUE(child.WaitForOutput("task-is-running", seconds(60))) << child.out() << child.err();
  ASSERT_FALSE(ProcessesWithMarker(marker).empty()) << "the task's sleeps should be running";
  child.Signal(SIGINT);
  ProcessResult r = child.Wait();
  EXPECT_EQ(r.exit_code, 3) << r.All();
  EXPECT_FALSE(r.timed_out);
  EXPECT_TRUE(NoProcessLeft(marker, seconds(10))) << "processes of the aborted task survived";
}

}  // namespace
}  // namespace baton::testing
