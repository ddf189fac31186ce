#include <gtest/gtest.h>

#include <filesystem>

#include "fakes/e2e_util.h"
#include "fakes/test_env.h"

namespace baton::testing {
namespace {

// A data dir outside /tmp (like the default ~/.local/share/baton) must work, and tasks must
// not see it: it holds every build's history, artifacts and caches.
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
  std::filesystem::remove_all(data);
}

// A data dir `baton run` makes is private to its owner: it holds the history and artifacts.
// (The store used to make it first, with the default mode, before the worker could.)
TEST(DataDir, ADataDirThatBatonRunMakesIsPrivate) {
  TempDir dir;
  WriteFile(dir / "p.yml", R"(
jobs:
- name: hello
  plan:
  - task: say
    config:
      platform: linux
      run: {path: /bin/true}
)");
  const std::filesystem::path data = dir / "new" / "data";
  auto result = RunBaton({"run", "-c", (dir / "p.yml").string(), "--data-dir", data.string()});
  ASSERT_EQ(result.exit_code, 0) << result.out << result.err;
  EXPECT_EQ(std::filesystem::status(data).permissions(), std::filesystem::perms::owner_all);
  EXPECT_TRUE(std::filesystem::exists(data / "baton.db"));
}

}  // namespace
}  // namespace baton::testing
