// The git resource's options, with git-resource's semantics, each against repositories the test
// makes: tag_regex, [ci skip] / [skip ci] and disable_ci_skip, git_config (incl. insteadOf), and
// the get params depth, fetch_tags and submodules.
#include <gtest/gtest.h>

#include <filesystem>

#include "baton/workers/resource_type.h"
#include "fakes/git_fixture.h"
#include "fakes/test_env.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using baton::testing::GitFixtureRepo;
using baton::testing::ReadFile;
using baton::testing::RunGit;
using baton::testing::TempDir;

Json GitOptionsRef(const std::string& sha) { return Json{{"ref", sha}}; }

class GitOptions : public ::testing::Test {
 protected:
  GitOptions() : upstream_(root_ / "upstream", "main") {
    ctx_.cache_dir = (root_ / "cache").string();
  }
  Json Source(Json extra = Json::object()) const {
    Json s = {{"uri", upstream_.path().string()}, {"branch", "main"}};
    s.update(extra);
    return s;
  }
  std::vector<Json> Check(const Json& source, const Json& from = nullptr) {
    auto v = type_->Check(ctx_, source, from);
    EXPECT_TRUE(v.ok()) << v.status().ToString();
    return v.ok() ? *v : std::vector<Json>{};
  }
  // Gets `version` with `params` into a new directory; "" on failure (the test fails).
  fs::path Get(const Json& source, const Json& version, const Json& params = Json::object()) {
    fs::path dir = root_ / ("get-" + std::to_string(++gets_));
    fs::create_directories(dir);
    auto got = type_->Get(ctx_, source, version, params, dir.string());
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? dir : fs::path();
  }
  Status GetError(const Json& source, const Json& version, const Json& params) {
    fs::path dir = root_ / ("get-" + std::to_string(++gets_));
    fs::create_directories(dir);
    auto got = type_->Get(ctx_, source, version, params, dir.string());
    return got.status();
  }

  TempDir root_;
  GitFixtureRepo upstream_;
  ResourceContext ctx_;
  std::unique_ptr<ResourceType> type_ = MakeBuiltinResourceType("git");
  int gets_ = 0;
};

TEST_F(GitOptions, TagRegexMakesTagsMatchingTheWholeExpressionTheVersions) {
  upstream_.Commit({{"a", "1"}}, "one");
  upstream_.Tag("v1.0.0");
  upstream_.Commit({{"a", "2"}}, "two");
  upstream_.Tag("v1.1.0-rc1");
  std::string third = upstream_.Commit({{"a", "3"}}, "three");
  upstream_.Tag("v1.1.0");
  upstream_.Tag("nightly-v1.1.0");  // matches only if the regex may match part of a name
  auto versions = Check(Source({{"tag_regex", "v[0-9]+\\.[0-9]+\\.[0-9]+"}}));
  ASSERT_EQ(versions.size(), 1u);
  EXPECT_EQ(versions[0], (Json{{"ref", "v1.1.0"}, {"commit", third}}));
  versions = Check(Source({{"tag_regex", "v[0-9]+\\.[0-9]+\\.[0-9]+"}}), Json{{"ref", "v1.0.0"}});
  ASSERT_EQ(versions.size(), 2u);
  EXPECT_EQ(versions[0]["ref"], "v1.0.0");
  EXPECT_EQ(versions[1]["ref"], "v1.1.0");
}

TEST_F(GitOptions, AnInvalidTagRegexIsAnErrorNamingTheField) {
  upstream_.Commit({{"a", "1"}}, "one");
  auto v = type_->Check(ctx_, Source({{"tag_regex", "v[0-9"}}), nullptr);
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("source.tag_regex"), std::string::npos)
      << v.status().message();
}

TEST_F(GitOptions, BothCiSkipSpellingsAreSkippedUnlessDisableCiSkip) {
  std::string first = upstream_.Commit({{"a", "1"}}, "one");
  std::string skipped = upstream_.Commit({{"a", "2"}}, "docs [ci skip]");
  std::string also_skipped = upstream_.Commit({{"a", "3"}}, "typo\n\n[skip ci]");
  EXPECT_EQ(Check(Source(), GitOptionsRef(first)), std::vector<Json>{GitOptionsRef(first)});
  EXPECT_EQ(Check(Source({{"disable_ci_skip", true}}), GitOptionsRef(first)),
            (std::vector<Json>{GitOptionsRef(first), GitOptionsRef(skipped),
                               GitOptionsRef(also_skipped)}));
}

TEST_F(GitOptions, GitConfigIsAppliedIncludingInsteadOfRewrites) {
  std::string head = upstream_.Commit({{"a", "1"}}, "one");
  Json source = {
      {"uri", "corp:upstream"},
      {"branch", "main"},
      {"git_config",
       Json::array({{{"name", "url." + root_.path().string() + "/.insteadOf"}, {"value", "corp:"}},
                    {{"name", "core.bigFileThreshold"}, {"value", "10m"}}})}};
  EXPECT_EQ(Check(source), std::vector<Json>{GitOptionsRef(head)});
  fs::path dir = Get(source, GitOptionsRef(head));
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(ReadFile(dir / "a"), "1");
}

TEST_F(GitOptions, DepthCutsTheCheckoutsHistory) {
  for (int i = 1; i <= 5; ++i)
    upstream_.Commit({{"a", std::to_string(i)}}, "c" + std::to_string(i));
  std::string head = upstream_.Head();
  Check(Source());
  fs::path shallow = Get(Source(), GitOptionsRef(head), Json{{"depth", 2}});
  ASSERT_FALSE(shallow.empty());
  EXPECT_EQ(RunGit(shallow, "rev-list --count HEAD"), "2\n");
  EXPECT_EQ(RunGit(shallow, "rev-parse --is-shallow-repository"), "true\n");
  EXPECT_EQ(ReadFile(shallow / "a"), "5");
  fs::path full = Get(Source(), GitOptionsRef(head));
  ASSERT_FALSE(full.empty());
  EXPECT_EQ(RunGit(full, "rev-list --count HEAD"), "5\n")
      << "a depth must not leak into later gets";
  EXPECT_FALSE(GetError(Source(), GitOptionsRef(head), Json{{"depth", "two"}}).ok());
}

TEST_F(GitOptions, FetchTagsTrueBringsEveryTagFalseNone) {
  upstream_.Commit({{"a", "1"}}, "one");
  upstream_.Tag("v1");
  // A tag on a commit the checked-out branch does not contain.
  RunGit(upstream_.path(),
         "-c user.name=T -c user.email=t@example.com commit -q --allow-empty -m side");
  RunGit(upstream_.path(), "tag side-tag");
  RunGit(upstream_.path(), "reset -q --hard HEAD~1");
  std::string head = upstream_.Commit({{"a", "2"}}, "two");
  Check(Source());
  fs::path all = Get(Source(), GitOptionsRef(head), Json{{"fetch_tags", true}});
  fs::path none = Get(Source(), GitOptionsRef(head), Json{{"fetch_tags", false}});
  fs::path from_source = Get(Source({{"fetch_tags", true}}), GitOptionsRef(head));
  ASSERT_FALSE(all.empty() || none.empty() || from_source.empty());
  EXPECT_EQ(RunGit(all, "tag --list"), "side-tag\nv1\n");
  EXPECT_EQ(RunGit(none, "tag --list"), "");
  EXPECT_EQ(RunGit(from_source, "tag --list"), "side-tag\nv1\n");
}

TEST_F(GitOptions, UsernameAndPasswordAuthenticateOverHttp) {
  std::string head = upstream_.Commit({{"a", "1"}}, "one");
  fs::create_directories(root_ / "srv");
  RunGit(root_ / "srv", "init -q --bare repo.git");
  RunGit(upstream_.path(), "push -q '" + (root_ / "srv" / "repo.git").string() + "' main");
  RunGit(root_ / "srv" / "repo.git", "symbolic-ref HEAD refs/heads/main");
  baton::testing::GitHttpServer server(root_ / "srv", "ci:s3cret-pass");
  Json source = {{"uri", server.Url("repo.git")},
                 {"branch", "main"},
                 {"username", "ci"},
                 {"password", "s3cret-pass"}};
  EXPECT_EQ(Check(source), std::vector<Json>{GitOptionsRef(head)});
  fs::path dir = Get(source, GitOptionsRef(head));
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(ReadFile(dir / "a"), "1");
  EXPECT_EQ(RunGit(dir, "remote get-url origin"), server.Url("repo.git") + "\n");

  ctx_.cache_dir = (root_ / "other-cache").string();  // a fresh mirror: the fetch must happen
  Json wrong = source;
  wrong["password"] = "not-the-pass";
  auto refused = type_->Check(ctx_, wrong, nullptr);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("authentication"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(refused.status().message().find("not-the-pass"), std::string::npos);
  Json anonymous = {{"uri", server.Url("repo.git")}, {"branch", "main"}};
  auto no_credentials = type_->Check(ctx_, anonymous, nullptr);
  ASSERT_FALSE(no_credentials.ok());
  EXPECT_NE(no_credentials.status().message().find("source.username"), std::string::npos)
      << no_credentials.status().message();
}

class GitSubmodules : public GitOptions {
 protected:
  GitSubmodules() : sub_(root_ / "sub", "main") {
    sub_.Commit({{"lib.txt", "from the submodule"}}, "sub one");
    upstream_.Commit({{"a", "1"}}, "one");
    RunGit(upstream_.path(), "-c protocol.file.allow=always submodule -q add '" +
                                 sub_.path().string() + "' vendor/sub");
    RunGit(upstream_.path(),
           "-c user.name=T -c user.email=t@example.com commit -q -m 'add the submodule'");
    head_ = upstream_.Head();
    Check(Source());
  }
  GitFixtureRepo sub_;
  std::string head_;
};

TEST_F(GitSubmodules, AreCheckedOutByDefaultAtTheRecordedCommit) {
  fs::path dir = Get(Source(), GitOptionsRef(head_));
  ASSERT_FALSE(dir.empty());
  EXPECT_EQ(ReadFile(dir / "vendor/sub/lib.txt"), "from the submodule");
  EXPECT_EQ(RunGit(dir / "vendor/sub", "rev-parse HEAD"), sub_.Head() + "\n");
}

TEST_F(GitSubmodules, NoneLeavesThemOutAndAListTakesOnlyThosePaths) {
  fs::path none = Get(Source(), GitOptionsRef(head_), Json{{"submodules", "none"}});
  ASSERT_FALSE(none.empty());
  EXPECT_FALSE(fs::exists(none / "vendor/sub/lib.txt"));
  fs::path listed =
      Get(Source(), GitOptionsRef(head_), Json{{"submodules", Json::array({"vendor/sub"})}});
  ASSERT_FALSE(listed.empty());
  EXPECT_EQ(ReadFile(listed / "vendor/sub/lib.txt"), "from the submodule");
  fs::path other =
      Get(Source(), GitOptionsRef(head_), Json{{"submodules", Json::array({"elsewhere"})}});
  ASSERT_FALSE(other.empty());
  EXPECT_FALSE(fs::exists(other / "vendor/sub/lib.txt"));
}

}  // namespace
}  // namespace baton::workers
