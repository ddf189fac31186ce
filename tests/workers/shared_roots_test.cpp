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

}  // namespace
}  // namespace baton::testing
