// Resource caches end to end: `baton run` with the real sandbox. A version fetched once is not
// fetched again (Concourse's testflight caching_test.go: "does not fetch if there is nothing
// new"), and a task that changes a cached fetch changes its own copy only.
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// `baton run` of dir/p.yml with its data in dir/data (unsandboxed when not root).
std::vector<std::string> RunArgs(const TempDir& dir) {
  std::vector<std::string> run = {BatonBinary().string(),   "run",        "-c",
                                  (dir / "p.yml").string(), "--data-dir", (dir / "data").string()};
  if (::geteuid() != 0) run.push_back("--unsafe-no-sandbox");
  return run;
}

TEST(RunResourceCaches, AVersionFetchedOnceIsNotFetchedAgainInLaterJobsOrRuns) {
  TempDir dir;
  WriteFile(dir / "p.yml", R"(resources:
- name: app
  type: mock
  source: {initial_version: v1, create_files: {"app.txt": "from v1"}}
jobs:
- name: build
  plan:
  - get: app
    trigger: true
- name: test
  plan:
  - get: app
    trigger: true
    passed: [build]
  - task: show
    config:
      platform: linux
      inputs: [{name: app}]
      run: {path: cat, args: [app/app.txt]}
)");
  const std::vector<std::string> run = RunArgs(dir);
  ProcessResult first = RunProcess(run);
  ASSERT_EQ(first.exit_code, 0) << first.All();
  EXPECT_EQ(Count(first.out, "fetching version: v1"), 1u) << first.out;
  EXPECT_NE(first.out.find("build #1/app | fetching version: v1"), std::string::npos) << first.out;
  EXPECT_NE(first.out.find("test #1/app | get app {\"version\":\"v1\"}"), std::string::npos)
      << first.out;
  EXPECT_NE(first.out.find("test #1/show | from v1"), std::string::npos) << first.out;

  // A run on the same data dir: the jobs run again (a local run triggers them), nothing is fetched.
  ProcessResult second = RunProcess(run);
  ASSERT_EQ(second.exit_code, 0) << second.All();
  EXPECT_EQ(Count(second.out, "fetching version"), 0u) << second.out;
  EXPECT_NE(second.out.find("| from v1"), std::string::npos) << second.out;
}

TEST(RunResourceCaches, ATaskThatChangesACachedFetchChangesOnlyItsOwnCopy) {
  TempDir dir;
  WriteFile(dir / "p.yml", R"(resources:
- name: app
  type: mock
  source: {initial_version: v1, create_files: {"app.txt": "pristine"}}
jobs:
- name: spoil
  plan:
  - get: app
    trigger: true
  - task: spoil
    config:
      platform: linux
      inputs: [{name: app}]
      run: {path: sh, args: [-c, 'echo spoiled > app/app.txt && touch app/extra && cat app/app.txt']}
- name: check
  plan:
  - get: app
    trigger: true
    passed: [spoil]
  - task: check
    config:
      platform: linux
      inputs: [{name: app}]
      run: {path: sh, args: [-c, 'cat app/app.txt; ls app']}
)");
  const std::vector<std::string> run = RunArgs(dir);
  ProcessResult r = RunProcess(run);
  ASSERT_EQ(r.exit_code, 0) << r.All();
  EXPECT_NE(r.out.find("spoil #1/spoil | spoiled"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("check #1/check | pristine"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("check #1/check | extra"), std::string::npos) << r.out;
  EXPECT_EQ(Count(r.out, "fetching version: v1"), 1u) << r.out;
}

}  // namespace
}  // namespace baton::testing
