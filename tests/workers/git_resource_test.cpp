// The built-in `git` resource type against real repositories made by the test, over a local path,
// git:// (a real `git daemon`) and smart HTTP (`git http-backend`).
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <thread>

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
using baton::testing::WriteFile;

Json GitResourceRef(const std::string& sha) { return Json{{"ref", sha}}; }

class GitResource : public ::testing::Test {
 protected:
  GitResource() : upstream_(root_ / "upstream") {
    ctx_.cache_dir = (root_ / "cache").string();
    ctx_.clock = &clock_;
  }
  Json Source(Json extra = Json::object()) {
    Json s = {{"uri", upstream_.path().string()}, {"branch", "main"}};
    s.update(extra);
    return s;
  }
  std::vector<Json> Check(const Json& source, const Json& from) {
    auto v = type_->Check(ctx_, source, from);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : std::vector<Json>{};
  }
  // A bare copy of upstream under srv/ (for daemon and push tests); returns its path.
  fs::path PublishBare(const std::string& name) {
    fs::path bare = root_ / "srv" / name;
    fs::create_directories(bare.parent_path());
    RunGit(root_ / "srv", "init -q --bare " + name);
    RunGit(upstream_.path(), "push -q '" + bare.string() + "' main");
    RunGit(bare, "symbolic-ref HEAD refs/heads/main");
    return bare;
  }

  TempDir root_;
  GitFixtureRepo upstream_;
  baton::testing::FakeClock clock_;
  ResourceContext ctx_;
  std::unique_ptr<ResourceType> type_ = MakeBuiltinResourceType("git");
};

TEST_F(GitResource, FirstCheckReturnsOnlyTheLatestCommit) {
  upstream_.Commit({{"a.txt", "1"}}, "first");
  std::string second = upstream_.Commit({{"a.txt", "2"}}, "second");
  EXPECT_EQ(Check(Source(), nullptr), std::vector<Json>{GitResourceRef(second)});
}

TEST_F(GitResource, CheckFromAVersionReturnsItAndEveryNewerCommitOldestFirst) {
  std::string base = upstream_.Commit({{"a.txt", "0"}}, "base");
  ASSERT_EQ(Check(Source(), nullptr).size(), 1u);  // mirror created
  std::vector<Json> expected = {GitResourceRef(base)};
  for (int i = 1; i <= 5; ++i) {
    expected.push_back(
        GitResourceRef(upstream_.Commit({{"a.txt", std::to_string(i)}}, "c" + std::to_string(i))));
  }
  auto start = std::chrono::steady_clock::now();
  auto versions = Check(Source(), GitResourceRef(base));
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(versions, expected);
  std::printf("check after 5 new commits (local path): %.2f ms\n",
              std::chrono::duration<double, std::milli>(elapsed).count());
}

TEST_F(GitResource, UsesTheRemoteDefaultBranchWhenNoneIsConfigured) {
  std::string head = upstream_.Commit({{"a.txt", "1"}}, "first");
  EXPECT_EQ(Check({{"uri", upstream_.path().string()}}, nullptr),
            std::vector<Json>{GitResourceRef(head)});
}

TEST_F(GitResource, PathsAndIgnorePathsSelectWhichCommitsAreVersions) {
  std::string base = upstream_.Commit({{"src/main.cc", "1"}, {"docs/x.md", "1"}}, "base");
  std::string code = upstream_.Commit({{"src/main.cc", "2"}}, "code");
  upstream_.Commit({{"docs/x.md", "2"}}, "docs");
  std::string both = upstream_.Commit({{"src/util.cc", "1"}, {"docs/x.md", "3"}}, "both");
  upstream_.Commit({{"src/README.md", "1"}}, "readme in src");
  Json source = Source({{"paths", {"src"}}, {"ignore_paths", {"*.md"}}});
  EXPECT_EQ(Check(source, GitResourceRef(base)),
            (std::vector<Json>{GitResourceRef(base), GitResourceRef(code), GitResourceRef(both)}));
  EXPECT_EQ(Check(source, nullptr), std::vector<Json>{GitResourceRef(both)});
  EXPECT_EQ(Check(Source({{"paths", {"docs/*.md"}}}), nullptr).at(0), GitResourceRef(both));
}

TEST_F(GitResource, CommitsMarkedCiSkipAreNotVersions) {
  std::string base = upstream_.Commit({{"a", "1"}}, "base");
  upstream_.Commit({{"a", "2"}}, "bump version [ci skip]");
  EXPECT_EQ(Check(Source(), GitResourceRef(base)), std::vector<Json>{GitResourceRef(base)});
  EXPECT_EQ(Check(Source(), nullptr), std::vector<Json>{GitResourceRef(base)});
  EXPECT_EQ(Check(Source({{"disable_ci_skip", true}}), GitResourceRef(base)).size(), 2u);
}

TEST_F(GitResource, AfterAForcePushCheckReturnsOnlyTheLatest) {
  std::string base = upstream_.Commit({{"a", "1"}}, "base");
  std::string doomed = upstream_.Commit({{"a", "2"}}, "doomed");
  ASSERT_EQ(Check(Source(), GitResourceRef(base)).size(), 2u);
  upstream_.ResetBranch("main", base);
  std::string rewritten = upstream_.Commit({{"a", "3"}}, "rewritten");
  EXPECT_EQ(Check(Source(), GitResourceRef(doomed)), std::vector<Json>{GitResourceRef(rewritten)});
}

TEST_F(GitResource, TagFilterMakesMatchingTagsTheVersions) {
  upstream_.Commit({{"a", "1"}}, "one");
  upstream_.Tag("v1.0.0");
  upstream_.Commit({{"a", "2"}}, "two");
  upstream_.Tag("nightly");
  std::string three = upstream_.Commit({{"a", "3"}}, "three");
  upstream_.Tag("v1.1.0");
  auto versions = Check(Source({{"tag_filter", "v*"}}), Json{{"ref", "v1.0.0"}});
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0]["ref"], "v1.0.0");
  EXPECT_EQ(versions[1], Json({{"ref", "v1.1.0"}, {"commit", three}}));
}

TEST_F(GitResource, CheckOfAMissingBranchSaysWhichSourceFieldToFix) {
  upstream_.Commit({{"a", "1"}}, "one");
  auto v = type_->Check(ctx_, Source({{"branch", "nope"}}), nullptr);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("branch nope does not exist"), std::string::npos);
  EXPECT_NE(v.status().message().find("source.branch"), std::string::npos);
}

TEST_F(GitResource, ErrorsNeverShowThePassword) {
  int port = baton::testing::FreeLocalPort();  // nothing listens there
  Json source = {{"uri", "http://ada:s3cr3t-pw@127.0.0.1:" + std::to_string(port) + "/repo.git"},
                 {"password", "s3cr3t-pw"},
                 {"username", "ada"},
                 {"branch", "main"}};
  auto v = type_->Check(ctx_, source, nullptr);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().ToString().find("s3cr3t-pw"), std::string::npos) << v.status().ToString();
  EXPECT_NE(v.status().message().find("git fetch of http://ada@127.0.0.1"), std::string::npos)
      << v.status().message();
}

TEST_F(GitResource, GetChecksOutExactlyTheVersionAsARealRepository) {
  std::string first = upstream_.Commit({{"a.txt", "old"}}, "first\n\nbody", "Grace Hopper");
  upstream_.Tag("v1");
  upstream_.Commit({{"a.txt", "new"}}, "second");
  TempDir dest;
  auto got =
      type_->Get(ctx_, Source(), GitResourceRef(first), Json::object(), (dest / "repo").string());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(ReadFile(dest / "repo/a.txt"), "old");
  EXPECT_EQ(ReadFile(dest / "repo/.git/ref"), first + "\n");
  EXPECT_EQ(ReadFile(dest / "repo/.git/short_ref"), first.substr(0, 7));
  EXPECT_EQ(ReadFile(dest / "repo/.git/commit_message"), "first\n\nbody");
  EXPECT_EQ(ReadFile(dest / "repo/.git/committer"), "dev@example.com");  // as git-resource
  EXPECT_EQ(RunGit(dest / "repo", "rev-parse HEAD"), first + "\n");
  EXPECT_EQ(RunGit(dest / "repo", "status --porcelain"), "");
  std::map<std::string, std::string> meta;
  for (const auto& m : got->metadata) meta[m.name] = m.value;
  EXPECT_EQ(meta["commit"], first);
  EXPECT_EQ(meta["author"], "Grace Hopper");
  EXPECT_EQ(meta["branch"], "main");
  EXPECT_EQ(meta["tags"], "v1");
  EXPECT_EQ(meta["message"], "first\n\nbody");
  EXPECT_NE(meta["author_date"].find("2023-11-"), std::string::npos) << meta["author_date"];
}

TEST_F(GitResource, ConcurrentChecksOfOneResourceAgree) {
  std::string base = upstream_.Commit({{"a", "0"}}, "base");
  for (int i = 0; i < 3; ++i) upstream_.Commit({{"a", std::to_string(i + 1)}}, "c");
  std::vector<std::thread> threads;
  std::vector<size_t> sizes(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto v = type_->Check(ctx_, Source(), GitResourceRef(base));
      sizes[t] = v.ok() ? v->size() : 0;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(sizes, std::vector<size_t>(4, 4u));
}

class GitDaemonResource : public GitResource {
 protected:
  void SetUp() override {
    upstream_.Commit({{"a.txt", "1\n"}, {"b.txt", "b\n"}}, "first");
    PublishBare("repo.git");
    daemon_ = std::make_unique<baton::testing::GitDaemon>(root_ / "srv");
    source_ = {{"uri", daemon_->Url("repo.git")}, {"branch", "main"}};
  }
  // Gets the latest version into <artifacts>/repo and commits `file`=`content` there.
  fs::path CloneAndCommit(const TempDir& artifacts, const std::string& file,
                          const std::string& content) {
    auto versions = type_->Check(ctx_, source_, nullptr);
    EXPECT_TRUE(versions.ok()) << versions.status().ToString();
    fs::path repo = artifacts / "repo";
    auto got = type_->Get(ctx_, source_, versions->at(0), Json::object(), repo.string());
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    WriteFile(repo / file, content);
    RunGit(repo, "add -A");
    RunGit(repo,
           "-c user.name=Baton -c user.email=ci@example.com commit -qm 'change " + file + "'");
    return repo;
  }
  std::string RemoteHead() { return Trim(RunGit(root_ / "srv/repo.git", "rev-parse main")); }
  static std::string Trim(std::string s) {
    while (!s.empty() && s.back() == '\n') s.pop_back();
    return s;
  }

  std::unique_ptr<baton::testing::GitDaemon> daemon_;
  Json source_;
};

TEST_F(GitDaemonResource, ChecksAndGetsOverGitProtocol) {
  auto versions = type_->Check(ctx_, source_, nullptr);
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  EXPECT_EQ(versions->at(0), GitResourceRef(RemoteHead()));
  TempDir dest;
  auto got = type_->Get(ctx_, source_, versions->at(0), Json::object(), (dest / "r").string());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(ReadFile(dest / "r/b.txt"), "b\n");
  EXPECT_EQ(Trim(RunGit(dest / "r", "remote get-url origin")), daemon_->Url("repo.git"));
}

TEST_F(GitDaemonResource, PutPushesTheCheckoutAndReturnsItsRef) {
  TempDir artifacts;
  fs::path repo = CloneAndCommit(artifacts, "c.txt", "new file\n");
  auto put = type_->Put(ctx_, source_, {{"repository", "repo"}}, artifacts.path().string());
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->version, GitResourceRef(RemoteHead()));
  EXPECT_EQ(put->version["ref"], Trim(RunGit(repo, "rev-parse HEAD")));
}

TEST_F(GitDaemonResource, PutWhenBehindIsRejectedUnlessRebaseIsSet) {
  TempDir artifacts;
  CloneAndCommit(artifacts, "mine.txt", "mine\n");
  std::string theirs = upstream_.Commit({{"theirs.txt", "theirs\n"}}, "theirs");
  RunGit(upstream_.path(), "push -q '" + (root_ / "srv/repo.git").string() + "' main");
  auto rejected = type_->Put(ctx_, source_, {{"repository", "repo"}}, artifacts.path().string());
  ASSERT_FALSE(rejected.ok());
  EXPECT_NE(rejected.status().message().find("params.rebase"), std::string::npos)
      << rejected.status().message();
  auto put = type_->Put(ctx_, source_, {{"repository", "repo"}, {"rebase", true}},
                        artifacts.path().string());
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->version, GitResourceRef(RemoteHead()));
  EXPECT_EQ(Trim(RunGit(root_ / "srv/repo.git", "rev-parse main~1")), theirs);
  EXPECT_EQ(Trim(RunGit(root_ / "srv/repo.git", "show main:mine.txt")), "mine");
}

TEST_F(GitDaemonResource, RebaseConflictIsAnErrorNamingTheFile) {
  TempDir artifacts;
  CloneAndCommit(artifacts, "a.txt", "mine\n");
  upstream_.Commit({{"a.txt", "theirs\n"}}, "theirs");
  RunGit(upstream_.path(), "push -q '" + (root_ / "srv/repo.git").string() + "' main");
  auto put = type_->Put(ctx_, source_, {{"repository", "repo"}, {"rebase", true}},
                        artifacts.path().string());
  ASSERT_FALSE(put.ok());
  EXPECT_NE(put.status().message().find("conflicts in a.txt"), std::string::npos)
      << put.status().message();
}

TEST_F(GitDaemonResource, PutWithATagFilePushesAnAnnotatedTag) {
  TempDir artifacts;
  CloneAndCommit(artifacts, "c.txt", "x\n");
  WriteFile(artifacts / "version/number", "1.2.3\n");
  WriteFile(artifacts / "version/notes", "Release 1.2.3");
  auto put = type_->Put(ctx_, source_,
                        {{"repository", "repo"},
                         {"tag", "version/number"},
                         {"tag_prefix", "v"},
                         {"annotate", "version/notes"}},
                        artifacts.path().string());
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  fs::path bare = root_ / "srv/repo.git";
  EXPECT_EQ(Trim(RunGit(bare, "rev-parse v1.2.3^{commit}")), put->version["ref"]);
  EXPECT_EQ(Trim(RunGit(bare, "cat-file -t v1.2.3")), "tag");
}

TEST_F(GitResource, ChecksOverSmartHttp) {
  std::string head = upstream_.Commit({{"a", "1"}}, "first");
  PublishBare("repo.git");
  baton::testing::GitHttpServer http(root_ / "srv");
  auto versions = type_->Check(ctx_, {{"uri", http.Url("repo.git")}, {"branch", "main"}}, nullptr);
  ASSERT_TRUE(versions.ok()) << versions.status().ToString();
  EXPECT_EQ(*versions, std::vector<Json>{GitResourceRef(head)});
}

}  // namespace
}  // namespace baton::workers
