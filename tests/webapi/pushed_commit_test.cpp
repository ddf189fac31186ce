// PushedCommit: when a push alone says what a git resource's check would record as newest.
#include <gtest/gtest.h>

#include "baton/common/json.h"
#include "baton/webapi/webhooks.h"
#include "fakes/test_env.h"

namespace baton::webapi {
namespace {

const std::string kSha = "6113728f27ae82c7b1a177c8d03f9e96e0adf246";

// A one-branch push of kSha to main, as ParseEvent makes it.
ForgeEvent PushToMain(std::optional<std::string> message = "fix the build") {
  ForgeEvent e;
  e.kind = ForgeEvent::Kind::kPush;
  e.default_branch = "main";
  RefChange c;
  c.ref = "refs/heads/main";
  c.branch = "main";
  c.after = kSha;
  c.after_message = std::move(message);
  e.changes.push_back(c);
  return e;
}

Json Source(Json extra = Json::object()) {
  Json s = {{"uri", "https://example.com/org/app.git"}, {"branch", "main"}};
  s.update(extra);
  return s;
}

Result<ForgeEvent> Parse(Forge forge, const char* event, const std::string& file) {
  std::string body = testing::ReadFile(testing::SharedDir() / "conformance/webhooks" / file);
  std::string header = forge == Forge::kGitLab  ? "x-gitlab-event"
                       : forge == Forge::kGitea ? "x-gitea-event"
                                                : "x-github-event";
  HeaderLookup headers = [&](std::string_view name) {
    std::string lower(name);
    for (auto& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return lower == header ? std::string(event) : std::string();
  };
  return ParseEvent(forge, headers, body);
}

TEST(PushedCommit, APushToTheTrackedBranchNamesItsCommit) {
  EXPECT_EQ(PushedCommit(PushToMain(), Source()), kSha);
  // No branch in the source: the repository's default branch.
  Json no_branch = {{"uri", "https://example.com/org/app.git"}};
  EXPECT_EQ(PushedCommit(PushToMain(), no_branch), kSha);
  // Options that do not choose commits keep it exact; null options count as absent.
  EXPECT_EQ(PushedCommit(PushToMain(), Source({{"username", "u"}, {"paths", nullptr}})), kSha);
}

TEST(PushedCommit, SourcesThatFilterCommitsAreCheckedFirst) {
  for (const char* option : {"paths", "ignore_paths", "tag_filter", "tag_regex", "commit_filter",
                             "version_depth", "some_future_option", "https_tunnel"}) {
    EXPECT_EQ(PushedCommit(PushToMain(), Source({{option, "x"}})), std::nullopt) << option;
  }
}

TEST(PushedCommit, OtherBranchesDeletionsSeveralRefsAndShortShasAreCheckedFirst) {
  EXPECT_EQ(PushedCommit(PushToMain(), Source({{"branch", "dev"}})), std::nullopt);
  ForgeEvent deleted = PushToMain();
  deleted.changes[0].deleted = true;
  EXPECT_EQ(PushedCommit(deleted, Source()), std::nullopt);
  ForgeEvent two = PushToMain();
  two.changes.push_back(two.changes[0]);
  EXPECT_EQ(PushedCommit(two, Source()), std::nullopt);
  ForgeEvent short_sha = PushToMain();
  short_sha.changes[0].after = "6113728";
  EXPECT_EQ(PushedCommit(short_sha, Source()), std::nullopt);
  ForgeEvent unknown_default = PushToMain();
  unknown_default.default_branch.clear();
  EXPECT_EQ(PushedCommit(unknown_default, Json{{"uri", "x"}}), std::nullopt);
}

TEST(PushedCommit, ACommitThatSkipsCiOrWhoseMessageIsUnknownIsCheckedFirst) {
  EXPECT_EQ(PushedCommit(PushToMain("docs [ci skip]"), Source()), std::nullopt);
  EXPECT_EQ(PushedCommit(PushToMain("docs [skip ci]"), Source()), std::nullopt);
  EXPECT_EQ(PushedCommit(PushToMain(std::nullopt), Source()), std::nullopt);
  // Unless the source builds skipped commits too.
  Json builds_all = Source({{"disable_ci_skip", true}});
  EXPECT_EQ(PushedCommit(PushToMain("docs [ci skip]"), builds_all), kSha);
  EXPECT_EQ(PushedCommit(PushToMain(std::nullopt), builds_all), kSha);
}

TEST(ParseEvent, ReadsThePushedCommitsMessageWhereTheForgeSendsIt) {
  auto gitlab = Parse(Forge::kGitLab, "Push Hook", "gitlab-push.json");
  ASSERT_TRUE(gitlab.ok()) << gitlab.status().ToString();
  EXPECT_EQ(gitlab->changes[0].after_message, "fixed readme");
  auto gitea = Parse(Forge::kGitea, "push", "gitea-push.json");
  ASSERT_TRUE(gitea.ok()) << gitea.status().ToString();
  EXPECT_EQ(gitea->changes[0].after_message, "example\n");
  // The sample pushes a tag whose head_commit is the pushed commit.
  auto github = Parse(Forge::kGitHub, "push", "github-push.0.json");
  ASSERT_TRUE(github.ok()) << github.status().ToString();
  EXPECT_EQ(github->changes[0].after_message, "Adding a .gitignore file");
  auto gitlab_master = PushedCommit(*gitlab, Json{{"uri", "x"}, {"branch", "master"}});
  EXPECT_EQ(gitlab_master, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
}

}  // namespace
}  // namespace baton::webapi
