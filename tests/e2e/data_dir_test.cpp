#include <gtest/gtest.h>

#include <filesystem>

#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

// A data dir outside /tmp (like the default ~/.local/share/baton) must work, and tasks must
// not see it: it holds every build's history, artifacts and caches. One `baton run` makes is
// private to its owner (the store used to make it first, with the default mode).
TEST(DataDir, ADataDirOutsideTmpWorksAndIsHiddenFromTasks) {
  std::filesystem::path data = "/var/tmp/baton-e2e-" + std::to_string(::getpid());
  std::filesystem::remove_all(data);
  TempDir dir;
  WriteFile(dir / "p.yml", R"(
jobs:
- name: peek
  plan:
  - task: look
    config:
      platform: linux
      run: {path: sh, args: [-c, 'test ! -e )" +
                               data.string() + R"(/baton.db']}
)");
  auto result = RunBaton({"run", "-c", (dir / "p.yml").string(), "--data-dir", data.string()});
  EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_TRUE(std::filesystem::exists(data / "baton.db"));
  EXPECT_EQ(std::filesystem::status(data).permissions(), std::filesystem::perms::owner_all);
  std::filesystem::remove_all(data);
}

// A data dir `baton web` makes is private too, from before its store writes there, even when it
// then stops on a bad flag (the admin token lives there).
TEST(DataDir, ADataDirThatBatonWebMakesIsPrivate) {
  TempDir dir;
  const std::filesystem::path data = dir / "new" / "data";
  auto result = RunBaton(
      {"web", "--data-dir", data.string(), "--bind", "127.0.0.1:0", "--worker-heartbeat", "1ms"});
  EXPECT_NE(result.exit_code, 0) << "--worker-heartbeat 1ms is refused";
  EXPECT_NE(result.err.find("--worker-heartbeat"), std::string::npos) << result.err;
  ASSERT_TRUE(std::filesystem::exists(data)) << result.err;
  EXPECT_EQ(std::filesystem::status(data).permissions(), std::filesystem::perms::owner_all);
}

}  // namespace
}  // namespace baton::testing
