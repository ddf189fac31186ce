// The git resource's `get` through the per-resource bare mirror: a version already in the mirror
// is checked out without contacting the remote, the checkout is a working git repository, and
// what a task does to its copy never leaks into the next get. Prints get latencies.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "baton/workers/resource_type.h"
#include "fakes/fake_clock.h"
#include "fakes/git_fixture.h"
#include "fakes/test_env.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using baton::testing::GitFixtureRepo;
using baton::testing::ReadFile;
using baton::testing::RunGit;
using baton::testing::TempDir;

Json GitGetRef(const std::string& sha) { return Json{{"ref", sha}}; }

class GitGet : public ::testing::Test {
 protected:
  GitGet() : upstream_(root_ / "upstream") { ctx_.cache_dir = (root_ / "cache").string(); }
  Json Source() const { return Json{{"uri", upstream_.path().string()}, {"branch", "main"}}; }

  // Gets `sha` into a new directory; returns it ("" on failure, with the test failed).
  fs::path Get(const std::string& sha) {
    fs::path dir = root_ / ("get-" + std::to_string(++gets_));
    fs::create_directories(dir);
    auto got = type_->Get(ctx_, Source(), GitGetRef(sha), Json::object(), dir.string());
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    if (!got.ok()) return {};
    EXPECT_EQ(got->version, GitGetRef(sha));
    return dir;
  }

  void Check() {
    auto versions = type_->Check(ctx_, Source(), nullptr);
    ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  }

  TempDir root_;
  GitFixtureRepo upstream_;
  ResourceContext ctx_;
  std::unique_ptr<ResourceType> type_ = MakeBuiltinResourceType("git");
  int gets_ = 0;
};

TEST_F(GitGet, AVersionAlreadyInTheMirrorIsFetchedWithoutContactingTheRemote) {
  std::string sha = upstream_.Commit({{"a.txt", "one"}, {"dir/b.txt", "two"}}, "first");
  Check();
  fs::rename(upstream_.path(), root_ / "gone");  // the remote is unreachable now
  fs::path dir = Get(sha);
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(ReadFile(dir / "a.txt"), "one");
  EXPECT_EQ(ReadFile(dir / "dir" / "b.txt"), "two");
  EXPECT_EQ(ReadFile(dir / ".git" / "ref"), sha + "\n");
  fs::rename(root_ / "gone", upstream_.path());
}

TEST_F(GitGet, TheCheckoutIsAGitRepositoryOnTheBranchAtTheVersion) {
  std::string first = upstream_.Commit({{"a.txt", "one"}}, "first");
  std::string second = upstream_.Commit({{"a.txt", "two"}}, "second");
  Check();
  fs::path dir = Get(first);
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(ReadFile(dir / "a.txt"), "one");
  EXPECT_EQ(RunGit(dir, "rev-parse HEAD"), first + "\n");
  EXPECT_EQ(RunGit(dir, "rev-parse --abbrev-ref HEAD"), "main\n");
  EXPECT_EQ(RunGit(dir, "rev-parse --abbrev-ref main@{upstream}"), "origin/main\n");
  EXPECT_EQ(RunGit(dir, "status --porcelain --untracked-files=no"), "");
  EXPECT_EQ(RunGit(dir, "log --format=%s"), "first\n");
  EXPECT_EQ(RunGit(dir, "cat-file -t " + second), "commit\n") << "the whole history is there";
}

// The origin url and the branch's upstream, written under one config lock (libgit2_write.cpp).
TEST_F(GitGet, TheCheckoutsOriginIsTheResourceAndItsBranchTracksTheOriginsBranch) {
  std::string sha = upstream_.Commit({{"a.txt", "one"}}, "first");
  fs::path dir = Get(sha);
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(RunGit(dir, "remote get-url origin"), upstream_.path().string() + "\n");
  EXPECT_EQ(RunGit(dir, "config branch.main.merge"), "refs/heads/main\n");
}

// The mirror's HEAD is `master` (libgit2's default), so the clone's HEAD already is on a tracked
// `master`: the branch is moved under it, to the version rather than the branch's tip.
TEST_F(GitGet, ACheckoutOfTheBranchTheMirrorsHeadNamesIsOnItAtTheVersion) {
  upstream_.Commit({{"a.txt", "zero"}}, "zero");
  RunGit(upstream_.path(), "checkout -q -b master");
  std::string one = upstream_.Commit({{"a.txt", "one"}}, "one");
  upstream_.Commit({{"a.txt", "two"}}, "two");
  Json source = Json{{"uri", upstream_.path().string()}, {"branch", "master"}};
  ASSERT_TRUE(type_->Check(ctx_, source, nullptr).ok());
  fs::path dir = root_ / "master";
  fs::create_directories(dir);
  auto got = type_->Get(ctx_, source, GitGetRef(one), Json::object(), dir.string());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(ReadFile(dir / "a.txt"), "one");
  EXPECT_EQ(RunGit(dir, "rev-parse HEAD"), one + "\n");
  EXPECT_EQ(RunGit(dir, "rev-parse --abbrev-ref HEAD"), "master\n");
  EXPECT_EQ(RunGit(dir, "rev-parse --abbrev-ref master@{upstream}"), "origin/master\n");
  EXPECT_EQ(RunGit(dir, "status --porcelain --untracked-files=no"), "");
}

TEST_F(GitGet, ANewerVersionThanTheMirrorKnowsIsFetched) {
  upstream_.Commit({{"a.txt", "one"}}, "first");
  Check();
  std::string newer = upstream_.Commit({{"a.txt", "newer"}}, "newer");
  fs::path dir = Get(newer);
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(ReadFile(dir / "a.txt"), "newer");
}

TEST_F(GitGet, WhatATaskWritesIntoItsCheckoutDoesNotReachTheNextGet) {
  std::string sha = upstream_.Commit({{"a.txt", "pristine"}}, "first");
  Check();
  fs::path first = Get(sha);
  ASSERT_FALSE(first.empty());
  std::ofstream(first / "a.txt", std::ios::app) << " changed in place";
  std::ofstream(first / "new.txt") << "added";
  fs::path second = Get(sha);
  ASSERT_FALSE(second.empty());
  EXPECT_EQ(ReadFile(second / "a.txt"), "pristine");
  EXPECT_FALSE(fs::exists(second / "new.txt"));
  EXPECT_EQ(RunGit(second, "status --porcelain --untracked-files=no"), "");
}

// Prepared checkouts of `sha` next to the mirror (<mirror>.checkouts/<sha>...).
int PreparedCheckouts(const fs::path& cache, const std::string& sha) {
  int n = 0;
  for (const auto& e : fs::recursive_directory_iterator(cache)) {
    bool prepared = e.is_directory() && e.path().parent_path().extension() == ".checkouts";
    if (prepared && e.path().filename().string().rfind(sha, 0) == 0) ++n;
  }
  return n;
}

TEST_F(GitGet, TheFirstGetOfACommitChecksOutStraightIntoItsDirectoryAndTheSecondPreparesOne) {
  std::string sha = upstream_.Commit({{"a.txt", "one"}}, "one");
  fs::path first = Get(sha);
  EXPECT_EQ(ReadFile(first / "a.txt"), "one");
  EXPECT_EQ(PreparedCheckouts(root_ / "cache", sha), 0);
  fs::path second = Get(sha);
  EXPECT_EQ(ReadFile(second / "a.txt"), "one");
  EXPECT_EQ(PreparedCheckouts(root_ / "cache", sha), 1);
  EXPECT_EQ(RunGit(second, "rev-parse HEAD"), RunGit(first, "rev-parse HEAD"));
}

// A version named by a push before any check must be on the branch: a commit of another
// branch, or one the branch was force-pushed away from, is refused with what to do.
TEST_F(GitGet, ACommitThatIsNotOnTheTrackedBranchIsRefusedSayingSo) {
  std::string one = upstream_.Commit({{"a.txt", "one"}}, "one");
  std::string two = upstream_.Commit({{"a.txt", "two"}}, "two");
  RunGit(upstream_.path(), "checkout -q -b elsewhere");
  std::string stray = upstream_.Commit({{"a.txt", "stray"}}, "stray");
  RunGit(upstream_.path(), "checkout -q main");
  Check();  // the mirror now holds every branch's commits
  fs::path dir = root_ / "stray";
  fs::create_directories(dir);
  auto got = type_->Get(ctx_, Source(), GitGetRef(stray), Json::object(), dir.string());
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(got.status().message().find("commit " + stray + " is not on branch main"),
            std::string::npos)
      << got.status().message();
  EXPECT_NE(got.status().message().find("check the resource again"), std::string::npos);
  ASSERT_FALSE(Get(two).empty());
  upstream_.ResetBranch("main", one);  // force push: `two` leaves the branch...
  Check();                             // ...and the mirror learns it (the check after a push)
  auto gone = type_->Get(ctx_, Source(), GitGetRef(two), Json::object(), (root_ / "two").string());
  EXPECT_FALSE(gone.ok());
}

TEST_F(GitGet, PrintsTheLatencyOfAGetOfAKnownVersion) {
  std::map<std::string, std::string> files;
  for (int i = 0; i < 50; ++i) files["src/f" + std::to_string(i) + ".txt"] = std::to_string(i);
  std::string sha = upstream_.Commit(files, "fifty files");
  Check();
  std::vector<double> ms;
  for (int i = 0; i < 21; ++i) {
    auto start = std::chrono::steady_clock::now();
    ASSERT_FALSE(Get(sha).empty());
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("git get of a known version (50 files, local remote): median %.2f ms, max %.2f ms\n",
              ms[ms.size() / 2], ms.back());
}

}  // namespace
}  // namespace baton::workers
