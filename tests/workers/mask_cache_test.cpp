// Issue 16: the masks worked out once per worker and checked per task (workers/src/sandbox/
// mask_cache.h) must answer as working them out for each task does, also after the host changed.
// Most tests read the resolution's start from a clock an hour ahead, so that no directory is too
// recent to keep and only the check per call can see a change.
#include "sandbox/mask_cache.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/fake_clock.h"
#include "fakes/test_env.h"
#include "sandbox/child_plan.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using workers::SandboxOptions;
using workers::sandbox::MaskCache;
using workers::sandbox::MaskedPaths;

bool Has(const MaskCache::Masks& masks, const fs::path& path) {
  return std::find(masks->begin(), masks->end(), path.string()) != masks->end();
}

SystemTime MtimeOf(const fs::path& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return SystemTime(std::chrono::duration_cast<SystemTime::duration>(
      std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)));
}

class MaskCacheTest : public ::testing::Test {
 protected:
  // Not under /tmp: a path every sandbox replaces (/tmp, /proc, /dev) is never masked.
  void SetUp() override {
    static int counter = 0;
    root_ =
        "/var/tmp/baton-mask-cache-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
    fs::create_directories(root_ / "ssh");
    root_ = fs::canonical(root_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  // `hidden` under the test's directory.
  SandboxOptions Hiding(const std::vector<std::string>& hidden) const {
    SandboxOptions options;
    for (const auto& rel : hidden) options.hidden_paths.push_back((root_ / rel).string());
    return options;
  }
  std::string SshDir() const { return (root_ / "ssh").string(); }

  fs::path root_;
  FakeClock later_{std::chrono::system_clock::now() + std::chrono::hours(1)};
};

TEST_F(MaskCacheTest, AnswersAsWorkingTheMasksOutForEachTaskDoes) {
  fs::create_directories(root_ / "data");
  SandboxOptions options = Hiding({"data", "missing", "data/file/under-a-file"});
  WriteFile(root_ / "data/file", "f");
  MaskCache cache(options);  // the real clock and /etc/ssh
  EXPECT_EQ(*cache.Get(), MaskedPaths(options));
  EXPECT_EQ(*cache.Get(), MaskedPaths(options));
  EXPECT_TRUE(Has(cache.Get(), root_ / "data"));
  EXPECT_FALSE(Has(cache.Get(), root_ / "missing"));
}

// The times of every directory on the way to the paths to mask (what the cache looks at) but
// those under `own`, to tell a change by another process (tests run side by side in /var/tmp)
// from a needless one.
std::string WayStamp(const SandboxOptions& options, const std::string& ssh_dir,
                     const fs::path& own) {
  std::string stamp;
  std::vector<std::string> candidates = workers::sandbox::MaskCandidates(options, ssh_dir.c_str());
  candidates.push_back(ssh_dir + "/x");
  for (const auto& candidate : candidates) {
    for (fs::path dir = fs::path(candidate).parent_path();; dir = dir.parent_path()) {
      struct stat st {};
      const bool mine = dir.string().rfind(own.string(), 0) == 0;  // the test's own changes
      if (!mine && ::stat(dir.c_str(), &st) == 0) {
        stamp += dir.string() + std::to_string(st.st_mtim.tv_sec) + "." +
                 std::to_string(st.st_mtim.tv_nsec) + "/" + std::to_string(st.st_ctim.tv_nsec) +
                 "\n";
      }
      if (dir == dir.parent_path()) break;
    }
  }
  return stamp;
}

TEST_F(MaskCacheTest, WorksTheMasksOutOnceWhileNothingChanges) {
  fs::create_directories(root_ / "data");
  SandboxOptions options = Hiding({"data", "missing/deeper"});
  MaskCache cache(options, later_, SshDir());
  EXPECT_TRUE(Has(cache.Get(), root_ / "data"));
  // Another process may change a directory on the way meanwhile (this suite's other tests make
  // and remove theirs beside root_): then the cache rightly works it out again, and the round is
  // tried again. A round in which nothing on the way changed must work nothing out.
  bool quiet_round = false;
  for (int round = 0; round < 20 && !quiet_round; ++round) {
    std::string before = WayStamp(options, SshDir(), root_);
    EXPECT_TRUE(Has(cache.Get(), root_ / "data"));  // what changed before the stamp, seen here
    uint64_t once = cache.resolutions();
    for (int i = 0; i < 5; ++i) EXPECT_TRUE(Has(cache.Get(), root_ / "data"));
    if (WayStamp(options, SshDir(), root_) != before) continue;
    EXPECT_EQ(cache.resolutions(), once);
    quiet_round = true;
  }
  EXPECT_TRUE(quiet_round) << "directories on the way changed in every round";
}

// A directory that changes often on one path's way (a data dir's parent) costs only that path.
TEST_F(MaskCacheTest, AChangeOnOnePathsWayWorksOnlyThatPathOutAgain) {
  fs::create_directories(root_ / "busy/data");
  fs::create_directories(root_ / "quiet/data");
  SandboxOptions options = Hiding({"busy/data", "quiet/data"});
  bool quiet_round = false;  // see WorksTheMasksOutOnceWhileNothingChanges
  for (int round = 0; round < 20 && !quiet_round; ++round) {
    std::string before = WayStamp(options, SshDir(), root_);
    MaskCache cache(options, later_, SshDir());
    EXPECT_TRUE(Has(cache.Get(), root_ / "busy/data"));
    uint64_t once = cache.resolutions();
    WriteFile(root_ / "busy" / ("log" + std::to_string(round)), "x");
    EXPECT_TRUE(Has(cache.Get(), root_ / "busy/data"));
    EXPECT_TRUE(Has(cache.Get(), root_ / "quiet/data"));
    if (WayStamp(options, SshDir(), root_) != before) continue;
    EXPECT_EQ(cache.resolutions(), once + 1);
    quiet_round = true;
  }
  EXPECT_TRUE(quiet_round) << "directories on the way changed in every round";
}

TEST_F(MaskCacheTest, APathToMaskMadeAfterAnAnswerIsInTheNext) {
  MaskCache cache(Hiding({"later/secrets"}), later_, SshDir());
  EXPECT_FALSE(Has(cache.Get(), root_ / "later/secrets"));
  fs::create_directories(root_ / "later");
  EXPECT_FALSE(Has(cache.Get(), root_ / "later/secrets"));
  fs::create_directories(root_ / "later/secrets");
  EXPECT_TRUE(Has(cache.Get(), root_ / "later/secrets"));
}

TEST_F(MaskCacheTest, ADirectoryOnTheWayReplacedByALinkIsFollowedInTheNextAnswer) {
  fs::create_directories(root_ / "a/secret");
  fs::create_directories(root_ / "b/secret");
  MaskCache cache(Hiding({"a/secret"}), later_, SshDir());
  EXPECT_TRUE(Has(cache.Get(), root_ / "a/secret"));
  fs::rename(root_ / "a", root_ / "old-a");
  fs::create_directory_symlink(root_ / "b", root_ / "a");
  MaskCache::Masks masks = cache.Get();
  EXPECT_TRUE(Has(masks, root_ / "b/secret")) << "where it really is now";
  EXPECT_FALSE(Has(masks, root_ / "a/secret"));
}

TEST_F(MaskCacheTest, ANewHostKeyIsMaskedInTheNextAnswer) {
  WriteFile(root_ / "ssh/ssh_host_rsa_key", "rsa");
  MaskCache cache(SandboxOptions{}, later_, SshDir());
  EXPECT_TRUE(Has(cache.Get(), root_ / "ssh/ssh_host_rsa_key"));
  EXPECT_FALSE(Has(cache.Get(), root_ / "ssh/ssh_host_ed25519_key"));
  WriteFile(root_ / "ssh/ssh_host_ed25519_key", "ed25519");
  MaskCache::Masks masks = cache.Get();
  EXPECT_TRUE(Has(masks, root_ / "ssh/ssh_host_ed25519_key"));
  EXPECT_TRUE(Has(masks, root_ / "ssh/ssh_host_rsa_key"));
}

TEST_F(MaskCacheTest, AFileThatGoesIsNoLongerMasked) {
  WriteFile(root_ / "token", "t");
  MaskCache cache(Hiding({"token"}), later_, SshDir());
  EXPECT_TRUE(Has(cache.Get(), root_ / "token"));
  fs::remove(root_ / "token");
  EXPECT_FALSE(Has(cache.Get(), root_ / "token"));
}

// A link leads through directories not recorded: nothing would tell the cache of this.
TEST_F(MaskCacheTest, APathThroughALinkIsWorkedOutAtEveryCall) {
  fs::create_directories(root_ / "elsewhere");
  fs::create_directory_symlink(root_ / "elsewhere", root_ / "link");
  MaskCache cache(Hiding({"link/secret"}), later_, SshDir());
  EXPECT_FALSE(Has(cache.Get(), root_ / "elsewhere/secret"));
  fs::create_directories(root_ / "elsewhere/secret");
  EXPECT_TRUE(Has(cache.Get(), root_ / "elsewhere/secret"));
}

// Racy git's case: a directory changed in the granule of the resolution's start may change again
// with the very same times (the kernel's file times come from a clock that moves a tick at a
// time), so an answer read from it is not kept: the next call works the masks out again.
TEST_F(MaskCacheTest, ADirectoryChangedInTheGranuleOfTheResolutionIsNotTrusted) {
  fs::create_directories(root_ / "data");
  FakeClock at_the_change(MtimeOf(root_));
  MaskCache racy(Hiding({"data/secret"}), at_the_change, SshDir());
  EXPECT_FALSE(Has(racy.Get(), root_ / "data/secret"));
  uint64_t once = racy.resolutions();
  EXPECT_FALSE(Has(racy.Get(), root_ / "data/secret"));
  EXPECT_GT(racy.resolutions(), once) << "not kept while the directory's times are this recent";

  at_the_change.Advance(std::chrono::seconds(3));  // older than any granule: kept
  SandboxOptions options = Hiding({"data/secret"});
  bool quiet_round = false;  // see WorksTheMasksOutOnceWhileNothingChanges
  for (int round = 0; round < 20 && !quiet_round; ++round) {
    std::string before = WayStamp(options, SshDir(), root_);
    EXPECT_FALSE(Has(racy.Get(), root_ / "data/secret"));
    uint64_t settled = racy.resolutions();
    EXPECT_FALSE(Has(racy.Get(), root_ / "data/secret"));
    if (WayStamp(options, SshDir(), root_) != before) continue;
    EXPECT_EQ(racy.resolutions(), settled);
    quiet_round = true;
  }
  EXPECT_TRUE(quiet_round) << "directories on the way changed in every round";
}

// A tmpfs mounted over a directory on the way (in a mount namespace of this test's own).
TEST_F(MaskCacheTest, AMountOnTheWayIsSeenInTheNextAnswer) {
  fs::create_directories(root_ / "mnt/secret");
  ScopedFd host_ns(::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
  ASSERT_EQ(::unshare(CLONE_NEWNS), 0) << "needs root";
  ASSERT_EQ(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
  {
    MaskCache cache(Hiding({"mnt/secret"}), later_, SshDir());
    EXPECT_TRUE(Has(cache.Get(), root_ / "mnt/secret"));
    ASSERT_EQ(::mount("tmpfs", (root_ / "mnt").c_str(), "tmpfs", 0, nullptr), 0);
    EXPECT_FALSE(Has(cache.Get(), root_ / "mnt/secret"));
    ASSERT_EQ(::umount((root_ / "mnt").c_str()), 0);
    EXPECT_TRUE(Has(cache.Get(), root_ / "mnt/secret"));
  }
  ASSERT_EQ(::setns(host_ns.get(), CLONE_NEWNS), 0);
}

}  // namespace
}  // namespace baton::testing
