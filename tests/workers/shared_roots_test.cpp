// SharedRoots (workers/src/sandbox/shared_root.h): a root that cannot be made because a masked
// path went away after the masks were read is not the end of shared roots; other failures are,
// once they happen twice in a row.
#include "sandbox/shared_root.h"

#include <unistd.h>

#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "fakes/test_env.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;

TEST(SharedRoots, AMaskedPathGoneAsTheRootIsMadeFailsThatRootOnly) {
  if (::geteuid() != 0) GTEST_SKIP() << "shared roots are made as root";
  TempDir dir;
  fs::create_directories(dir / "build");
  workers::sandbox::SharedRoots roots((dir / "build").string());
  // The masks as a worker read them, then the path removed before the root was made.
  const std::string gone = (dir / "removed-since").string();
  auto failed = roots.Get({gone}, "");
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.status().message().find(gone), std::string::npos) << failed.status().ToString();
  EXPECT_EQ(roots.why_not(), "");
  // The masks read again: the root is made, twice over without counting the first failure.
  for (int i = 0; i < 2; ++i) {
    auto made = roots.Get({}, "");
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    EXPECT_NE(*made, nullptr);
    auto again = roots.Get({gone}, "");
    EXPECT_FALSE(again.ok());
  }
  EXPECT_EQ(roots.why_not(), "");
}

// A root whose mask the host detached (the masked file replaced by a rename over it), asked for
// again while the path is missing: that build fails, and the detached root must not be handed out
// once the path is back (the failed call took the kernel's mark of the change on its mountinfo).
TEST(SharedRoots, ARootWhoseMaskWentIsNotHandedOutAfterAFailedRebuild) {
  if (::geteuid() != 0) GTEST_SKIP() << "shared roots are made as root";
  TempDir dir;
  fs::create_directories(dir / "build");
  const std::string masked = (dir / "secret").string();
  WriteFile(masked, "old");
  workers::sandbox::SharedRoots roots((dir / "build").string());
  auto first = roots.Get({masked}, "");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  WriteFile(masked + ".new", "new");
  fs::rename(masked + ".new", masked);  // replaces what the mask covers: the kernel detaches it
  fs::remove(masked);
  auto failed = roots.Get({masked}, "");
  ASSERT_FALSE(failed.ok());
  WriteFile(masked, "new");
  auto again = roots.Get({masked}, "");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_NE(*again, *first) << "the root whose mask went was handed out again";
}

// A masked directory renamed away on the host takes its mask with it (nothing marks the root's
// mounts), and the one made again in its place is another inode: the root is made again.
TEST(SharedRoots, AMaskedPathRenamedAwayAndMadeAgainGetsANewRoot) {
  if (::geteuid() != 0) GTEST_SKIP() << "shared roots are made as root";
  TempDir dir;
  fs::create_directories(dir / "build");
  const std::string masked = (dir / "secrets").string();
  fs::create_directories(masked);
  workers::sandbox::SharedRoots roots((dir / "build").string());
  auto first = roots.Get({masked}, "");
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto same = roots.Get({masked}, "");
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_EQ(*same, *first) << "nothing changed: the root is kept";
  fs::rename(masked, masked + ".old");
  fs::create_directories(masked);
  WriteFile(masked + "/key", "new");
  auto again = roots.Get({masked}, "");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_NE(*again, *first) << "the root that no longer masks the path was handed out again";
}

}  // namespace
}  // namespace baton::testing
