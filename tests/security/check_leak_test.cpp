// Memory stays flat across git checks: every check opens the resource's mirror and fetches, and
// nothing of it may stay behind (a libgit2 anonymous remote per fetch cost ~95 KB a check, so a
// server checking every minute grew by hundreds of MB a day). Reads RSS from /proc/self/statm.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "baton/workers/resource_type.h"
#include "fakes/git_fixture.h"
#include "fakes/test_env.h"

namespace baton::workers {
namespace {

using baton::testing::GitFixtureRepo;
using baton::testing::TempDir;

// Resident set size of this process in bytes.
int64_t ResidentBytes() {
  std::ifstream statm("/proc/self/statm");
  int64_t pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * ::sysconf(_SC_PAGESIZE);
}

TEST(CheckLeak, TwoThousandGitChecksLeaveResidentMemoryFlat) {
  BATON_SKIP_IF_SANITIZED("ASan's quarantine holds freed memory, so RSS grows by design");
  TempDir root;
  GitFixtureRepo upstream(root / "upstream", "main");
  upstream.Commit({{"a.txt", "one"}}, "first");
  ResourceContext ctx;
  ctx.cache_dir = (root / "cache").string();
  std::unique_ptr<ResourceType> git = MakeBuiltinResourceType("git");
  Json source = {{"uri", "file://" + upstream.path().string()}, {"branch", "main"}};
  Json from = nullptr;
  auto check = [&](int times) {
    for (int i = 0; i < times; ++i) {
      auto versions = git->Check(ctx, source, from);
      ASSERT_TRUE(versions.ok()) << versions.status().ToString();
      ASSERT_FALSE(versions->empty());
      from = versions->back();
    }
  };
  check(100);  // warm: libgit2's caches, the allocator's arenas
  const int64_t after_100 = ResidentBytes();
  check(1900);
  const int64_t after_2000 = ResidentBytes();
  const double growth_mb = (after_2000 - after_100) / (1024.0 * 1024.0);
  std::printf("RSS after 100 checks %.1f MB, after 2,000 %.1f MB (growth %.2f MB)\n",
              after_100 / (1024.0 * 1024.0), after_2000 / (1024.0 * 1024.0), growth_mb);
  EXPECT_LT(growth_mb, 4.0) << "git checks leak memory";
}

}  // namespace
}  // namespace baton::workers
