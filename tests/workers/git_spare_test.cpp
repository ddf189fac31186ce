// The git resource's spare checkouts: a check after a get leaves a spare clone of the branch, and
// the next get of a new commit takes it and moves it there. A get through a spare leaves what a
// fresh clone and checkout of the same mirror leaves, also when the spare is stale or the branch
// was force-pushed, and two racing gets never share one.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <thread>

#include "baton/common/sha256.h"
#include "baton/workers/resource_type.h"
#include "fakes/git_fixture.h"
#include "fakes/test_env.h"
#include "resources/git_source.h"
#include "resources/git_spare.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using baton::testing::GitFixtureRepo;
using baton::testing::ReadFile;
using baton::testing::RunGit;
using baton::testing::TempDir;

// Every file and directory under `dir` with its type, permissions and bytes, and what git says
// of the checkout. Not compared: the reflogs (their entries say how the refs got there) and the
// index's bytes (stat data of the files; `git ls-files -s` stands for it).
std::map<std::string, std::string> Snapshot(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string rel = e.path().lexically_relative(dir).string();
    if (rel.rfind(".git/logs", 0) == 0 || rel == ".git/index") continue;
    const fs::file_status st = e.symlink_status();
    std::string entry = std::to_string(static_cast<int>(st.type())) + " " +
                        std::to_string(static_cast<int>(st.permissions())) + " ";
    if (fs::is_regular_file(st)) {
      std::string bytes = ReadFile(e.path());
      entry += rel.find("/objects/") == std::string::npos ? bytes : Sha256Hex(bytes);
    }
    out[rel] = entry;
  }
  out["git ls-files -s"] = RunGit(dir, "ls-files -s");
  out["git status"] = RunGit(dir, "status --porcelain --ignored");
  out["git for-each-ref"] = RunGit(dir, "for-each-ref");
  out["git objects"] = RunGit(dir, "cat-file --batch-all-objects --batch-check");
  return out;
}

ino_t Inode(const fs::path& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

class GitSpare : public ::testing::Test {
 protected:
  GitSpare() : upstream_(root_ / "upstream") { ctx_.cache_dir = (root_ / "cache").string(); }
  Json Source() const { return Json{{"uri", upstream_.path().string()}, {"branch", "main"}}; }

  fs::path Get(const std::string& sha) {
    fs::path dir = root_ / ("get-" + std::to_string(++gets_));
    fs::create_directories(dir);
    auto got = type_->Get(ctx_, Source(), Json{{"ref", sha}}, Json::object(), dir.string());
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? dir : fs::path();
  }

  void Check() {
    auto versions = type_->Check(ctx_, Source(), nullptr);
    ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  }

  // The first commit checked, got and checked again: the mirror keeps a spare for the next get.
  void GetFirstAndCheckAgain() {
    std::string first = upstream_.Commit({{"a.txt", "one"}}, "first");
    Check();
    ASSERT_FALSE(Get(first).empty());
    Check();
  }

  // The spares the worker keeps for this resource now.
  int Spares() const {
    int n = 0;
    for (const auto& e : fs::directory_iterator(ctx_.cache_dir)) {
      if (e.path().extension() != ".spares") continue;
      for (const auto& spare : fs::directory_iterator(e.path())) n += spare.is_directory();
    }
    return n;
  }

  // The resource's mirror (one remote: one mirror) and how many packs it has.
  fs::path Mirror() const {
    for (const auto& e : fs::directory_iterator(ctx_.cache_dir)) {
      if (e.path().extension() == ".git") return e.path();
    }
    return {};
  }
  int Packs() const {
    int n = 0;
    for (const auto& e : fs::directory_iterator(Mirror() / "objects" / "pack"))
      n += e.path().extension() == ".pack";
    return n;
  }

  TempDir root_;
  GitFixtureRepo upstream_;
  ResourceContext ctx_;
  std::unique_ptr<ResourceType> type_ = MakeBuiltinResourceType("git");
  int gets_ = 0;
};

TEST_F(GitSpare, AResourceThatIsOnlyCheckedKeepsNoSpare) {
  upstream_.Commit({{"a.txt", "one"}}, "first");
  Check();
  Check();
  EXPECT_EQ(Spares(), 0);
}

TEST_F(GitSpare, AGetThroughTheSpareLeavesWhatAFreshCheckoutLeaves) {
  std::string first =
      upstream_.Commit({{"a.txt", "one"}, {"dir/b.txt", "two"}, {"old/c.txt", "three"}}, "first");
  upstream_.Tag("v1");
  Check();
  ASSERT_FALSE(Get(first).empty());
  Check();  // after a get: the spare, at `first`
  ASSERT_EQ(Spares(), 1);
  upstream_.CommitRemoval("old/c.txt", "drop c");
  std::string pushed = upstream_.Commit({{"a.txt", "changed"}, {"new/d.txt", "four"}}, "second");
  fs::path through_spare = Get(pushed);  // a push's commit, not in the mirror yet
  ASSERT_FALSE(through_spare.empty());
  EXPECT_EQ(Spares(), 0) << "a spare is taken once";
  fs::path fresh = Get(pushed);  // the same commit again: a fresh clone, through the cache
  ASSERT_FALSE(fresh.empty());
  EXPECT_FALSE(fs::exists(through_spare / "old"));
  EXPECT_EQ(ReadFile(through_spare / ".git" / "ref"), pushed + "\n");
  EXPECT_EQ(Snapshot(through_spare), Snapshot(fresh));
}

TEST_F(GitSpare, AStaleSpareAfterAForcePushLeavesWhatAFreshCheckoutLeaves) {
  std::string base = upstream_.Commit({{"a.txt", "one"}}, "base");
  std::string gone =
      upstream_.Commit({{"a.txt", "two"}, {"b.txt", "x"}}, "to be force-pushed away");
  upstream_.Tag("v-gone");
  Check();
  ASSERT_FALSE(Get(gone).empty());
  Check();
  ASSERT_EQ(Spares(), 1);
  upstream_.ResetBranch("main", base);  // force push: `gone` and its tag leave
  RunGit(upstream_.path(), "tag -d v-gone");
  std::string pushed = upstream_.Commit({{"c.txt", "three"}}, "after the force push");
  fs::path through_spare = Get(pushed);
  ASSERT_FALSE(through_spare.empty());
  EXPECT_EQ(Spares(), 0);
  fs::path fresh = Get(pushed);
  ASSERT_FALSE(fresh.empty());
  EXPECT_EQ(RunGit(through_spare, "log --format=%s"), "after the force push\nbase\n");
  EXPECT_EQ(RunGit(through_spare, "ls-files"),
            RunGit(upstream_.path(), "ls-tree -r --name-only " + pushed));
  EXPECT_EQ(RunGit(through_spare, "tag"), "");
  EXPECT_EQ(Snapshot(through_spare), Snapshot(fresh));
}

TEST_F(GitSpare, WhatATaskDoesToACheckoutFromTheSpareNeverReachesTheNextGet) {
  ASSERT_NO_FATAL_FAILURE(GetFirstAndCheckAgain());
  std::string second = upstream_.Commit({{"a.txt", "two"}}, "second");
  fs::path dir = Get(second);
  ASSERT_FALSE(dir.empty());
  {
    std::ofstream(dir / "a.txt") << "written by a task";
    std::ofstream(dir / "untracked.txt") << "left by a task";
  }
  Check();  // a new spare, made afresh
  ASSERT_EQ(Spares(), 1);
  std::string third = upstream_.Commit({{"b.txt", "three"}}, "third");
  fs::path next = Get(third);
  ASSERT_FALSE(next.empty());
  EXPECT_EQ(ReadFile(next / "a.txt"), "two");
  EXPECT_FALSE(fs::exists(next / "untracked.txt"));
  EXPECT_EQ(RunGit(next, "status --porcelain --ignored"), "");
}

// A push starts its build's get and a check at once. When the check takes the mirror's lock
// first, it finds the spare the get is about to take: it makes the next one after that get.
TEST_F(GitSpare, ACheckThatRanBeforeItsPushsGetLeavesASpareForTheNextPush) {
  ASSERT_NO_FATAL_FAILURE(GetFirstAndCheckAgain());
  ASSERT_EQ(Spares(), 1);
  std::string pushed = upstream_.Commit({{"a.txt", "two"}}, "pushed");
  // The push's get, begun and waiting for the mirror's lock.
  auto push_get = std::make_unique<resources::GetInFlight>(Mirror().string());
  std::thread check([&] { Check(); });
  // The check has fetched the pushed commit (and, before the change, found the spare there).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (RunGit(Mirror(), "rev-parse refs/heads/main") != pushed + "\n" &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  fs::path dir = Get(pushed);
  EXPECT_EQ(resources::GetsInFlight(Mirror().string()), 1u);
  push_get.reset();
  check.join();
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(ReadFile(dir / "a.txt"), "two");
  EXPECT_EQ(Spares(), 1) << "the next push finds a spare";
}

// A push starts its build's get and a check at once. When the get takes the mirror's lock first,
// its fetch began after the check was asked for: the check finds the remote in the mirror as that
// fetch left it, and a check asked for after it fetches.
TEST_F(GitSpare, ACheckThatWaitedWhileItsPushsGetFetchedTakesTheMirrorAsThatFetchLeftIt) {
  ASSERT_NO_FATAL_FAILURE(GetFirstAndCheckAgain());
  auto source = resources::ParseGitSource(Source());
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  std::string pushed = upstream_.Commit({{"a.txt", "two"}}, "pushed");
  const resources::FetchClock::time_point asked = resources::FetchClock::now();
  ASSERT_FALSE(Get(pushed).empty());  // the get fetches: the mirror lacked the commit
  std::string later = upstream_.Commit({{"a.txt", "three"}}, "later");
  std::string branch;
  {
    resources::MirrorLock lock(Mirror().string());
    auto repo = resources::FetchMirrorUnlessFetchedSince(ctx_, *source, asked, &branch);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  }
  EXPECT_EQ(RunGit(Mirror(), "rev-parse refs/heads/main"), pushed + "\n");
  EXPECT_EQ(branch, "main");
  {
    resources::MirrorLock lock(Mirror().string());
    auto repo = resources::FetchMirrorUnlessFetchedSince(ctx_, *source,
                                                         resources::FetchClock::now(), &branch);
    ASSERT_TRUE(repo.ok()) << repo.status().ToString();
  }
  EXPECT_EQ(RunGit(Mirror(), "rev-parse refs/heads/main"), later + "\n");
}

// The task that follows a get starts before a check begins the next spare beside it: the wait
// for the gets in flight ends kSpareAfterLastGet after the last of them ended, not before.
TEST(GitSpareTiming, ACheckBeginsItsSpareOnlyAWhileAfterTheLastGetEnded) {
  using Clock = std::chrono::steady_clock;
  const std::string mirror = "/mirror-of-a-timing-test";
  auto get = std::make_unique<resources::GetInFlight>(mirror);
  Clock::time_point before_end;
  std::thread ender([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    before_end = Clock::now();
    get.reset();
  });
  resources::WaitForGetsInFlight(mirror);
  const Clock::time_point waited = Clock::now();
  ender.join();
  EXPECT_EQ(resources::GetsInFlight(mirror), 0u);
  EXPECT_GE(waited - before_end, resources::kSpareAfterLastGet);
  // Long after the last get: no wait at all is needed, and the call returns.
  std::this_thread::sleep_for(resources::kSpareAfterLastGet);
  resources::WaitForGetsInFlight(mirror);
}

// Each file a get replaces is a new inode, which costs on a filesystem that scans the inodes
// freed recently: the spare's config already names origin and the branch's upstream.
TEST_F(GitSpare, AGetThroughTheSpareKeepsTheSparesConfigFile) {
  ASSERT_NO_FATAL_FAILURE(GetFirstAndCheckAgain());
  ASSERT_EQ(Spares(), 1);
  fs::path spare_config;
  for (const auto& e : fs::directory_iterator(Mirror().string() + ".spares")) {
    if (e.is_directory()) spare_config = e.path() / ".git" / "config";
  }
  const std::string config = ReadFile(spare_config);
  const ino_t inode = Inode(spare_config);
  ASSERT_NE(inode, 0u);
  std::string pushed = upstream_.Commit({{"a.txt", "two"}}, "pushed");
  fs::path dir = Get(pushed);
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(Spares(), 0);
  EXPECT_EQ(Inode(dir / ".git" / "config"), inode) << "the spare's config file, not a new one";
  EXPECT_EQ(ReadFile(dir / ".git" / "config"), config);
  EXPECT_EQ(RunGit(dir, "rev-parse --abbrev-ref main@{upstream}"), "origin/main\n");
}

TEST_F(GitSpare, TwoRacingGetsOfDifferentCommitsEachGetTheirOwnCommit) {
  ASSERT_NO_FATAL_FAILURE(GetFirstAndCheckAgain());
  std::string second = upstream_.Commit({{"a.txt", "two"}}, "second");
  std::string third = upstream_.Commit({{"a.txt", "three"}}, "third");
  fs::path a = root_ / "race-a", b = root_ / "race-b";
  fs::create_directories(a);
  fs::create_directories(b);
  auto get = [&](const std::string& sha, const fs::path& dir) {
    auto got = type_->Get(ctx_, Source(), Json{{"ref", sha}}, Json::object(), dir.string());
    EXPECT_TRUE(got.ok()) << got.status().ToString();
  };
  std::thread one(get, second, a), two(get, third, b);
  one.join();
  two.join();
  EXPECT_EQ(Spares(), 0);
  EXPECT_EQ(ReadFile(a / "a.txt"), "two");
  EXPECT_EQ(RunGit(a, "rev-parse HEAD"), second + "\n");
  EXPECT_EQ(ReadFile(b / "a.txt"), "three");
  EXPECT_EQ(RunGit(b, "rev-parse HEAD"), third + "\n");
  EXPECT_EQ(RunGit(a, "status --porcelain --ignored"), "");
  EXPECT_EQ(RunGit(b, "status --porcelain --ignored"), "");
}

// Each fetch adds a pack to the mirror, and each clone or spare of it links every pack: without
// merging, a get's cost would grow with the number of pushes the resource has seen.
TEST_F(GitSpare, AMirrorFetchedAfterEveryPushKeepsFewPacksAndEveryObject) {
  std::string first = upstream_.Commit({{"a.txt", "one"}}, "first");
  std::string gone = upstream_.Commit({{"a.txt", "gone"}}, "to be force-pushed away");
  Check();
  ASSERT_FALSE(Get(gone).empty());
  upstream_.ResetBranch("main", first);
  for (int i = 0; i < 30; ++i) {
    upstream_.Commit({{"n.txt", std::to_string(i)}, {"d/" + std::to_string(i), "x"}},
                     "push " + std::to_string(i));
    Check();
  }
  EXPECT_LE(Packs(), 8) << "31 fetches, one pack each";
  std::string has = RunGit(Mirror(), "cat-file --batch-all-objects '--batch-check=%(objectname)'");
  std::istringstream wanted(RunGit(upstream_.path(), "rev-list --objects --all"));
  int objects = 0;
  for (std::string line; std::getline(wanted, line); ++objects) {
    EXPECT_NE(has.find(line.substr(0, 40)), std::string::npos) << line;
  }
  EXPECT_GT(objects, 90);
  EXPECT_NE(has.find(gone), std::string::npos) << "an object no ref reaches is kept";
  EXPECT_NO_THROW(RunGit(Mirror(), "fsck --full --no-dangling"));
  // Gets after the merges: through the spare, afresh, and of the oldest commit.
  ASSERT_EQ(Spares(), 1);
  std::string pushed = upstream_.Commit({{"a.txt", "after"}}, "after the merges");
  fs::path through_spare = Get(pushed);
  ASSERT_FALSE(through_spare.empty());
  fs::path fresh = Get(pushed);
  ASSERT_FALSE(fresh.empty());
  EXPECT_EQ(Snapshot(through_spare), Snapshot(fresh));
  EXPECT_NO_THROW(RunGit(through_spare, "fsck --full --no-dangling"));
  fs::path oldest = Get(first);
  ASSERT_FALSE(oldest.empty());
  EXPECT_EQ(ReadFile(oldest / "a.txt"), "one");
}

}  // namespace
}  // namespace baton::workers
