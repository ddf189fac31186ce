// `baton run` killed mid-way (kill -9) leaves its build `started`; the next `baton run` on the
// data dir errors it, unless another process still has the database open (a run still going).
#include <gtest/gtest.h>

#include <csignal>

#include "baton/common/clock.h"
#include "baton/runner/sqlite_store.h"
#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;

std::string OneJob(const std::string& job, const std::string& script) {
  return "jobs:\n- name: " + job +
         "\n  plan:\n  - task: t\n    config:\n      platform: linux\n"
         "      run: {path: sh, args: [-c, '" +
         script + "']}\n";
}

class RunOrphansTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_ / "slow.yml", OneJob("wait", "echo waiting-now; sleep 60"));
    WriteFile(dir_ / "quick.yml", OneJob("hello", "echo hi"));
  }

  std::vector<std::string> Run(const std::string& file) const {
    return {BatonBinary().string(), "run",        "-c",
            (dir_ / file).string(), "--data-dir", data().string()};
  }
  fs::path data() const { return dir_ / "data"; }

  std::vector<runner::Build> SlowBuilds() const {
    auto store = runner::SqliteStore::OpenDataDir(data(), RealClock());
    EXPECT_TRUE(store.ok()) << store.status().ToString();
    if (!store.ok()) return {};
    runner::BuildQuery query;
    query.limit = 10;
    auto builds = (*store)->ListBuilds(query);
    EXPECT_TRUE(builds.ok()) << builds.status().ToString();
    std::vector<runner::Build> slow;
    for (const auto& b : *builds) {
      if (b.pipeline == "slow") slow.push_back(b);
    }
    return slow;
  }

  TempDir dir_;
};

TEST_F(RunOrphansTest, TheNextRunErrorsTheBuildOfARunKilledMidway) {
  {
    ChildProcess slow(Run("slow.yml"));
    ASSERT_TRUE(slow.WaitForOutput("waiting-now", std::chrono::seconds(60)))
        << slow.out() << slow.err();
    slow.SignalGroup(SIGKILL);
    slow.Wait();
  }
  auto quick = RunProcess(Run("quick.yml"));
  EXPECT_EQ(quick.exit_code, 0) << quick.All();
  EXPECT_NE(quick.err.find("note: slow/wait #1 was left unfinished by a `baton run` that stopped"),
            std::string::npos)
      << quick.err;
  auto slow = SlowBuilds();
  ASSERT_EQ(slow.size(), 1u);
  EXPECT_EQ(slow[0].status, runner::BuildStatus::kErrored);
  EXPECT_NE(slow[0].error.find("stopped before it finished"), std::string::npos) << slow[0].error;
}

TEST_F(RunOrphansTest, ARunStillGoingKeepsItsBuildWhileAnotherRunStartsAndEnds) {
  ChildProcess slow(Run("slow.yml"));
  ASSERT_TRUE(slow.WaitForOutput("waiting-now", std::chrono::seconds(60)))
      << slow.out() << slow.err();
  auto quick = RunProcess(Run("quick.yml"));
  EXPECT_EQ(quick.exit_code, 0) << quick.All();
  EXPECT_EQ(quick.err.find("left unfinished"), std::string::npos) << quick.err;
  ASSERT_FALSE(slow.HasExited()) << slow.out() << slow.err();
  auto builds = SlowBuilds();
  ASSERT_EQ(builds.size(), 1u);
  EXPECT_EQ(builds[0].status, runner::BuildStatus::kStarted);
  slow.SignalGroup(SIGKILL);
}

}  // namespace
}  // namespace baton::testing
