// The files a get of the built-in `git` type leaves in the checkout's .git, named and written as
// concourse/git-resource does, compared with what git itself prints for the same commit of a
// real repository made by the test (`git log --format`, `git describe`).
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "baton/common/json.h"
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

class GitRefFiles : public ::testing::Test {
 protected:
  GitRefFiles() : upstream_(root_ / "upstream") {
    ctx_.cache_dir = (root_ / "cache").string();
    ctx_.clock = &clock_;
  }

  // v1.0 (annotated) on a first commit, then a second commit tagged `latest` (lightweight);
  // returns the second's sha.
  std::string MakeHistory() {
    upstream_.Commit({{"a.txt", "1"}}, "first", "Grace Hopper");
    RunGit(upstream_.path(),
           "-c user.name=Rel -c user.email=rel@example.com tag -a v1.0 -m release");
    std::string second = upstream_.Commit({{"a.txt", "2"}}, "second\n\nbody\n", "Alan Turing");
    upstream_.Tag("latest");
    return second;
  }

  Json Source() const { return {{"uri", upstream_.path().string()}, {"branch", "main"}}; }

  // Gets `sha` into root_/<name>; returns the path of its .git.
  fs::path Get(const std::string& sha, const std::string& name,
               const Json& params = Json::object()) {
    auto got = type_->Get(ctx_, Source(), Json{{"ref", sha}}, params, (root_ / name).string());
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return root_ / name / ".git";
  }

  // `git <args> <sha>` in the upstream repository.
  std::string Git(const std::string& args, const std::string& sha) {
    return RunGit(upstream_.path(), args + " " + sha);
  }

  TempDir root_;
  GitFixtureRepo upstream_;
  baton::testing::FakeClock clock_;
  ResourceContext ctx_;
  std::unique_ptr<ResourceType> type_ = MakeBuiltinResourceType("git");
  int gets_ = 0;
};

TEST_F(GitRefFiles, AGetLeavesTheFilesGitResourceDoesWithWhatGitPrints) {
  std::string sha = MakeHistory();
  fs::path git = Get(sha, "repo");
  EXPECT_EQ(ReadFile(git / "ref"), sha + "\n");
  EXPECT_EQ(ReadFile(git / "commit"), sha + "\n");
  EXPECT_EQ(ReadFile(git / "short_ref"), sha.substr(0, 7));  // awk's printf: no newline
  EXPECT_EQ(ReadFile(git / "branch"), "main\n");
  EXPECT_EQ(ReadFile(git / "tags"), "latest\n");
  EXPECT_EQ(ReadFile(git / "author"), "Alan Turing\n");
  EXPECT_EQ(ReadFile(git / "author_date"), Git("log -1 --format=%ai", sha));
  // git-resource's `committer` and `committer_name` are the author's (%ae, %an), no newline.
  EXPECT_EQ(ReadFile(git / "committer"), Git("log -1 --format=format:%ae", sha));
  EXPECT_EQ(ReadFile(git / "committer_name"), "Alan Turing");
  EXPECT_EQ(ReadFile(git / "committer_date"), Git("log -1 --format=%ci", sha));
  EXPECT_EQ(ReadFile(git / "commit_timestamp"), Git("log -1 --format=%cd --date=iso8601", sha));
  EXPECT_EQ(ReadFile(git / "describe_ref"), Git("describe --always", sha));
  EXPECT_EQ(ReadFile(git / "describe_ref"), "v1.0-1-g" + sha.substr(0, 7) + "\n");
  EXPECT_EQ(ReadFile(git / "url"), "\n");  // a local repository has no web page
  EXPECT_NE(ReadFile(git / "commit_message").find("second\n\nbody"), std::string::npos);

  Json metadata = Json::parse(ReadFile(git / "metadata.json"));
  std::map<std::string, std::string> fields;
  for (const auto& m : metadata) fields[m["name"]] = m["value"];
  EXPECT_EQ(fields["commit"], sha);
  EXPECT_EQ(fields["author"], "Alan Turing");
  EXPECT_EQ(fields["branch"], "main");
  EXPECT_EQ(fields["tags"], "latest");
  EXPECT_EQ(fields.count("url"), 0u);
}

TEST_F(GitRefFiles, ParamsShapeShortRefTimestampAndDescribeForThatGetOnly) {
  std::string sha = MakeHistory();
  fs::path shaped = Get(sha, "shaped",
                        {{"short_ref_format", "build-%s"},
                         {"timestamp_format", "unix"},
                         {"describe_ref_options", "--tags --long --abbrev=10"}});
  EXPECT_EQ(ReadFile(shaped / "short_ref"), "build-" + sha.substr(0, 7));
  EXPECT_EQ(ReadFile(shaped / "commit_timestamp"), Git("log -1 --format=%cd --date=unix", sha));
  EXPECT_EQ(ReadFile(shaped / "describe_ref"), Git("describe --tags --long --abbrev=10", sha));
  EXPECT_EQ(ReadFile(shaped / "describe_ref"), "latest-0-g" + sha.substr(0, 10) + "\n");

  // The same commit again with the defaults (served from the checkout cache): the defaults.
  fs::path plain = Get(sha, "plain");
  EXPECT_EQ(ReadFile(plain / "short_ref"), sha.substr(0, 7));
  EXPECT_EQ(ReadFile(plain / "describe_ref"), "v1.0-1-g" + sha.substr(0, 7) + "\n");
  for (const char* format : {"iso8601-strict", "rfc2822", "short", "raw", "default"}) {
    fs::path dated = Get(sha, std::string("dated-") + format, {{"timestamp_format", format}});
    EXPECT_EQ(ReadFile(dated / "commit_timestamp"),
              Git(std::string("log -1 --format=%cd --date=") + format, sha))
        << format;
  }
}

TEST_F(GitRefFiles, UnsupportedParamsAndANeverTaggedRepositoryWithoutAlwaysSayWhatToDo) {
  std::string sha = upstream_.Commit({{"a.txt", "1"}}, "untagged");
  auto get = [&](const Json& params) {
    return type_->Get(ctx_, Source(), Json{{"ref", sha}}, params,
                      (root_ / ("x" + std::to_string(++gets_))).string());
  };
  auto relative = get({{"timestamp_format", "relative"}});
  ASSERT_FALSE(relative.ok());
  EXPECT_NE(relative.status().message().find("params.timestamp_format `relative`"),
            std::string::npos)
      << relative.status().message();
  auto match = get({{"describe_ref_options", "--always --match v*"}});
  ASSERT_FALSE(match.ok());
  EXPECT_NE(match.status().message().find("`--match` is not supported"), std::string::npos)
      << match.status().message();
  auto untagged = get({{"describe_ref_options", "--tags"}});
  ASSERT_FALSE(untagged.ok());
  EXPECT_NE(untagged.status().message().find("add --always"), std::string::npos)
      << untagged.status().message();
  EXPECT_EQ(ReadFile(Get(sha, "always") / "describe_ref"), sha.substr(0, 7) + "\n");
}

}  // namespace
}  // namespace baton::workers
