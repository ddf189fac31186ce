// `baton run` begins before its worker's sandbox probe has answered (docs/benchmarks.md, fifteenth
// stop). Run inside a user namespace of its own that maps only root (`unshare -r`), the worker
// starts, but its tasks' user namespace cannot be mapped: the probe refuses them after the check
// and the first build began. The run must end with the worker's reason and exit 2, and no task
// runs.
#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;

TEST(RunRefusal, AProbeRefusingAfterTheRunBeganEndsItWithTheWorkersReasonAndRunsNoTask) {
  if (::geteuid() != 0) GTEST_SKIP() << "the namespace sandbox needs root";
  if (::access("/usr/bin/unshare", X_OK) != 0) GTEST_SKIP() << "util-linux's unshare is missing";
  TempDir dir;
  const fs::path marker = dir / "ran";
  WriteFile(dir / "p.yml", R"(resources:
- name: r
  type: mock
  source: {initial_version: v1}
jobs:
- name: first
  plan:
  - get: r
    trigger: true
  - task: t
    config:
      platform: linux
      run: {path: sh, args: [-c, 'echo ran > )" +
                               marker.string() + R"(']}
- name: second
  plan:
  - get: r
    trigger: true
  - task: t
    config:
      platform: linux
      run: {path: sh, args: [-c, 'echo ran > )" +
                               marker.string() + R"(']}
)");
  ProcessResult r = RunProcess({"/usr/bin/unshare", "-r", "-m", BatonBinary().string(), "run", "-c",
                                (dir / "p.yml").string(), "--data-dir", (dir / "data").string()});
  EXPECT_EQ(r.exit_code, 2) << r.All();
  EXPECT_NE(r.err.find("error: worker local cannot sandbox tasks: "), std::string::npos) << r.All();
  EXPECT_NE(r.err.find("--unsafe-no-sandbox"), std::string::npos) << r.All();
  EXPECT_FALSE(fs::exists(marker)) << "a task ran although the sandbox was refused: " << r.All();
  auto summary = ParseRunSummary(r.out);
  EXPECT_NE(summary["first"], "succeeded") << r.All();
  EXPECT_NE(summary["second"], "succeeded") << r.All();
}

}  // namespace
}  // namespace baton::testing
