// The git resource on any branch name, including `master`, the default branch of most existing
// repositories (and of a bare mirror libgit2 creates): check and get with `branch: master` and
// with `branch` left out (the remote's default branch), against repositories the test makes.
#include <gtest/gtest.h>

#include <filesystem>

#include "baton/workers/resource_type.h"
#include "fakes/git_fixture.h"
#include "fakes/test_env.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using baton::testing::GitDaemon;
using baton::testing::GitFixtureRepo;
using baton::testing::ReadFile;
using baton::testing::RunGit;
using baton::testing::TempDir;

Json Ref(const std::string& sha) { return Json{{"ref", sha}}; }

class GitBranch : public ::testing::Test {
 protected:
  GitBranch() { ctx_.cache_dir = (root_ / "cache").string(); }

  // Checks `source` (expecting success) and returns the versions.
  std::vector<Json> Check(const Json& source, const Json& from = nullptr) {
    auto v = type_->Check(ctx_, source, from);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : std::vector<Json>{};
  }

  // Gets `sha` of `source` into a new directory and returns it ("" on failure).
  fs::path Get(const Json& source, const std::string& sha) {
    fs::path dir = root_ / ("get-" + std::to_string(++gets_));
    fs::create_directories(dir);
    auto got = type_->Get(ctx_, source, Ref(sha), Json::object(), dir.string());
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? dir : fs::path();
  }

  TempDir root_;
  ResourceContext ctx_;
  std::unique_ptr<ResourceType> type_ = MakeBuiltinResourceType("git");
  int gets_ = 0;
};

TEST_F(GitBranch, MasterNamedExplicitlyIsCheckedAndFetchedOnItsBranch) {
  GitFixtureRepo upstream(root_ / "upstream", "master");
  upstream.Commit({{"a.txt", "one"}}, "first");
  std::string second = upstream.Commit({{"a.txt", "two"}}, "second");
  Json source = {{"uri", upstream.path().string()}, {"branch", "master"}};
  EXPECT_EQ(Check(source), std::vector<Json>{Ref(second)});
  fs::path dir = Get(source, second);
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(ReadFile(dir / "a.txt"), "two");
  EXPECT_EQ(RunGit(dir, "rev-parse --abbrev-ref HEAD"), "master\n");
  EXPECT_EQ(RunGit(dir, "rev-parse HEAD"), second + "\n");
}

TEST_F(GitBranch, TheDefaultBranchMasterIsUsedWhenBranchIsLeftOut) {
  GitFixtureRepo upstream(root_ / "upstream", "master");
  std::string first = upstream.Commit({{"a.txt", "one"}}, "first");
  Json source = {{"uri", upstream.path().string()}};
  EXPECT_EQ(Check(source), std::vector<Json>{Ref(first)});
  fs::path dir = Get(source, first);
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(ReadFile(dir / "a.txt"), "one");
  EXPECT_EQ(RunGit(dir, "rev-parse --abbrev-ref HEAD"), "master\n");
}

TEST_F(GitBranch, AnOlderVersionOfMasterIsFetchedAfterANewerOne) {
  GitFixtureRepo upstream(root_ / "upstream", "master");
  std::string first = upstream.Commit({{"a.txt", "one"}}, "first");
  std::string second = upstream.Commit({{"a.txt", "two"}}, "second");
  Json source = {{"uri", upstream.path().string()}, {"branch", "master"}};
  Check(source);
  ASSERT_FALSE(Get(source, second).empty());
  fs::path dir = Get(source, first);
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(ReadFile(dir / "a.txt"), "one");
  EXPECT_EQ(RunGit(dir, "rev-parse HEAD"), first + "\n");
  EXPECT_EQ(RunGit(dir, "rev-parse --abbrev-ref HEAD"), "master\n");
}

TEST_F(GitBranch, MasterOverGitDaemonWithAnotherBranchBesideIt) {
  GitFixtureRepo upstream(root_ / "upstream", "master");
  std::string on_master = upstream.Commit({{"a.txt", "master"}}, "on master");
  fs::create_directories(root_ / "srv");
  RunGit(root_ / "srv", "init -q --bare repo.git");
  RunGit(upstream.path(), "push -q '" + (root_ / "srv" / "repo.git").string() + "' master");
  RunGit(upstream.path(), "checkout -q -b feature");
  std::string on_feature = upstream.Commit({{"b.txt", "feature"}}, "on feature");
  RunGit(upstream.path(), "push -q '" + (root_ / "srv" / "repo.git").string() + "' feature");
  RunGit(root_ / "srv" / "repo.git", "symbolic-ref HEAD refs/heads/master");
  GitDaemon daemon(root_ / "srv");

  Json master = {{"uri", daemon.Url("repo.git")}};
  Json feature = {{"uri", daemon.Url("repo.git")}, {"branch", "feature"}};
  EXPECT_EQ(Check(master), std::vector<Json>{Ref(on_master)});
  EXPECT_EQ(Check(feature), std::vector<Json>{Ref(on_feature)});
  fs::path dir = Get(master, on_master);
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(RunGit(dir, "rev-parse --abbrev-ref HEAD"), "master\n");
  EXPECT_FALSE(fs::exists(dir / "b.txt"));
  dir = Get(feature, on_feature);
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(RunGit(dir, "rev-parse --abbrev-ref HEAD"), "feature\n");
  EXPECT_EQ(ReadFile(dir / "b.txt"), "feature");
}

}  // namespace
}  // namespace baton::workers
