// `baton run` makes the first task network (a namespace and its slirp4netns) while it starts only
// when a task may need one: not for a pipeline whose tasks are all hermetic, still for one with a
// task that is not. A slirp4netns first on PATH records each start, then runs the real one.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;

std::string RealSlirp4netns() {
  for (const char* dir : {"/usr/bin", "/usr/local/bin", "/bin", "/usr/sbin"}) {
    fs::path exe = fs::path(dir) / "slirp4netns";
    if (::access(exe.c_str(), X_OK) == 0) return exe.string();
  }
  return "";
}

class RunNetworks : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "the namespace sandbox needs root";
    real_ = RealSlirp4netns();
    if (real_.empty()) GTEST_SKIP() << "slirp4netns is not installed";
    fs::create_directories(dir_ / "bin");
    WriteFile(dir_ / "bin" / "slirp4netns", "#!/bin/sh\necho started >> '" +
                                                (dir_ / "stacks").string() + "'\nexec '" + real_ +
                                                "' \"$@\"\n");
    fs::permissions(dir_ / "bin" / "slirp4netns", fs::perms::owner_all);
  }

  // Runs `pipeline` and returns how many stacks it started.
  int StacksOfRun(const std::string& pipeline) {
    WriteFile(dir_ / "p.yml", pipeline);
    const char* path = std::getenv("PATH");
    ProcessOptions options;
    options.extra_env = {"PATH=" + (dir_ / "bin").string() + ":" + (path ? path : "/usr/bin:/bin")};
    ProcessResult r = RunBaton(
        {"run", "-c", (dir_ / "p.yml").string(), "--data-dir", (dir_ / "data").string()}, options);
    EXPECT_EQ(r.exit_code, 0) << r.All();
    EXPECT_NE(r.out.find("hi"), std::string::npos) << r.All();
    std::error_code ec;
    if (!fs::exists(dir_ / "stacks", ec)) return 0;
    std::istringstream lines(ReadFile(dir_ / "stacks"));
    int n = 0;
    for (std::string line; std::getline(lines, line);) n += line == "started";
    return n;
  }

  TempDir dir_;
  std::string real_;
};

TEST_F(RunNetworks, APipelineOfHermeticTasksStartsNoNetworkStack) {
  // Hermetic in the task's config, and by the step over a config that is not.
  EXPECT_EQ(StacksOfRun(R"(
jobs:
- name: a
  plan:
  - task: t
    config:
      platform: linux
      hermetic: true
      run: {path: echo, args: [hi]}
- name: b
  plan:
  - task: t
    hermetic: true
    config:
      platform: linux
      run: {path: echo, args: [hi]}
)"),
            0);
}

TEST_F(RunNetworks, ATaskWithANetworkStillGetsItsStack) {
  EXPECT_EQ(StacksOfRun(R"(
jobs:
- name: a
  plan:
  - task: t
    hermetic: true
    config:
      platform: linux
      run: {path: echo, args: [hi]}
- name: b
  plan:
  - task: t
    config:
      platform: linux
      run: {path: sh, args: [-c, 'echo hi; cat /etc/resolv.conf | grep -q 10.0.2.3']}
)"),
            1);
}

}  // namespace
}  // namespace baton::testing
