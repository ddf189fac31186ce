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
  // Two jobs that do not wait for each other: the refusal ends the run, not only the first.
  auto job = [&](const std::string& name) {
    return "- name: " + name +
           "\n  plan:\n  - get: r\n    trigger: true\n  - task: t\n    config:\n"
           "      platform: linux\n      run: {path: sh, args: [-c, 'echo ran > " +
           marker.string() + "']}\n";
  };
  WriteFile(dir / "p.yml",
            "resources:\n- name: r\n  type: mock\n  source: {initial_version: v1}\n"
            "jobs:\n" +
                job("first") + job("second"));
  // The probe answers within a millisecond of the run's start, before it (then nothing runs and
  // no summary is printed) or after it: tried until a run began first, each try held to the same.
  bool began = false;
  for (int attempt = 0; attempt < 20 && !began; ++attempt) {
    fs::remove_all(dir / "data");
    ProcessResult r =
        RunProcess({"/usr/bin/unshare", "-r", "-m", BatonBinary().string(), "run", "-c",
                    (dir / "p.yml").string(), "--data-dir", (dir / "data").string()});
    EXPECT_EQ(r.exit_code, 2) << r.All();
    EXPECT_NE(r.err.find("error: worker local cannot sandbox tasks: "), std::string::npos)
        << r.All();
    EXPECT_NE(r.err.find("--unsafe-no-sandbox"), std::string::npos) << r.All();
    EXPECT_FALSE(fs::exists(marker)) << "a task ran although the sandbox was refused: " << r.All();
    auto summary = ParseRunSummary(r.out);
    if (summary.empty()) continue;  // refused before the run began
    began = true;
    EXPECT_EQ(summary.size(), 2u) << r.All();
    for (const auto& [job, status] : summary) {
      EXPECT_TRUE(status == "errored" || status == "aborted") << job << ": " << r.All();
    }
  }
  EXPECT_TRUE(began) << "no run began before the probe refused it in 20 tries";
}

}  // namespace
}  // namespace baton::testing
