#include "baton/webapi/webhooks.h"
#include "baton/common/json.h"

#include <gtest/gtest.h>

#include <map>

#include "fakes/test_env.h"

namespace baton::webapi {
namespace {

std::string Payload(const std::string& name) {
  return testing::ReadFile(testing::SharedDir() / "conformance/webhooks" / name);
}

// Headers with case-insensitive lookup, as an HTTP server hands them over.
class Headers {
 public:
  Headers(std::initializer_list<std::pair<const std::string, std::string>> init) {
    for (const auto& [k, v] : init) Set(k, v);
  }
  void Set(const std::string& k, const std::string& v) { map_[Lower(k)] = v; }
  HeaderLookup Lookup() const {
    return [this](std::string_view name) {
      auto it = map_.find(Lower(std::string(name)));
      return it == map_.end() ? std::string() : it->second;
    };
  }

 private:
  static std::string Lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  }
  std::map<std::string, std::string> map_;
};

TEST(HmacSha256Hex, MatchesGitHubsDocumentedTestVector) {
  EXPECT_EQ(HmacSha256Hex("It's a Secret to Everybody", "Hello, World!"),
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17");
}

TEST(VerifySignature, AcceptsAGitHubDeliverySignedWithTheResourceToken) {
  std::string body = Payload("github-push.0.json");
  Headers h{{"x-hub-signature-256", "sha256=" + HmacSha256Hex("s3cret", body)}};
  EXPECT_TRUE(VerifySignature(Forge::kGitHub, h.Lookup(), body, "s3cret").ok());
}

TEST(VerifySignature, RejectsATamperedBodyAWrongSecretAndAMissingHeader) {
  std::string body = Payload("github-push.0.json");
  Headers h{{"X-Hub-Signature-256", "sha256=" + HmacSha256Hex("s3cret", body)}};
  auto tampered = VerifySignature(Forge::kGitHub, h.Lookup(), body + " ", "s3cret");
  EXPECT_EQ(tampered.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(tampered.message().find("signature mismatch"), std::string::npos);
  EXPECT_FALSE(VerifySignature(Forge::kGitHub, h.Lookup(), body, "other").ok());
  auto missing = VerifySignature(Forge::kGitHub, Headers{}.Lookup(), body, "s3cret");
  EXPECT_NE(missing.message().find("missing X-Hub-Signature-256"), std::string::npos);
  Headers unprefixed{{"X-Hub-Signature-256", HmacSha256Hex("s3cret", body)}};
  EXPECT_FALSE(VerifySignature(Forge::kGitHub, unprefixed.Lookup(), body, "s3cret").ok());
}

TEST(VerifySignature, NeverVerifiesAgainstAnEmptyToken) {
  std::string body = "{}";
  Headers h{{"X-Hub-Signature-256", "sha256=" + HmacSha256Hex("", body)}};
  EXPECT_FALSE(VerifySignature(Forge::kGitHub, h.Lookup(), body, "").ok());
}

TEST(VerifySignature, ChecksGiteaGitLabAndBitbucketHeaders) {
  std::string body = Payload("gitea-push.json");
  Headers gitea{{"X-Gitea-Signature", HmacSha256Hex("tok", body)}};
  EXPECT_TRUE(VerifySignature(Forge::kGitea, gitea.Lookup(), body, "tok").ok());
  Headers forgejo{{"X-Forgejo-Signature", HmacSha256Hex("tok", body)}};
  EXPECT_TRUE(VerifySignature(Forge::kGitea, forgejo.Lookup(), body, "tok").ok());
  EXPECT_FALSE(VerifySignature(Forge::kGitea, gitea.Lookup(), body, "nope").ok());

  Headers gitlab{{"X-Gitlab-Token", "tok"}};
  EXPECT_TRUE(VerifySignature(Forge::kGitLab, gitlab.Lookup(), body, "tok").ok());
  EXPECT_FALSE(VerifySignature(Forge::kGitLab, gitlab.Lookup(), body, "tok2").ok());

  std::string bb = Payload("bitbucket-cloud-repo-push.json");
  Headers bitbucket{{"X-Hub-Signature", "sha256=" + HmacSha256Hex("tok", bb)}};
  EXPECT_TRUE(VerifySignature(Forge::kBitbucket, bitbucket.Lookup(), bb, "tok").ok());
}

TEST(ParseEvent, ReadsAGitHubTagPush) {
  Headers h{{"X-GitHub-Event", "push"}, {"X-GitHub-Delivery", "d-1"}};
  auto e = ParseEvent(Forge::kGitHub, h.Lookup(), Payload("github-push.0.json"));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->kind, ForgeEvent::Kind::kPush);
  EXPECT_EQ(e->delivery_id, "d-1");
  EXPECT_EQ(e->repository, "Codertocat/Hello-World");
  ASSERT_EQ(e->changes.size(), 1u);
  EXPECT_EQ(e->changes[0].tag, "simple-tag");
  EXPECT_EQ(e->changes[0].after, "6113728f27ae82c7b1a177c8d03f9e96e0adf246");
  EXPECT_FALSE(e->changes[0].deleted);
}

TEST(ParseEvent, MarksADeletedRefAsDeleted) {
  Headers h{{"X-GitHub-Event", "push"}};
  auto e = ParseEvent(Forge::kGitHub, h.Lookup(), Payload("github-push.1.json"));
  ASSERT_TRUE(e.ok());
  ASSERT_EQ(e->changes.size(), 1u);
  EXPECT_TRUE(e->changes[0].deleted);
  EXPECT_EQ(e->changes[0].after, "");
}

TEST(ParseEvent, RecognisesPingsAndOtherEvents) {
  Headers ping{{"X-GitHub-Event", "ping"}};
  auto p = ParseEvent(Forge::kGitHub, ping.Lookup(), Payload("github-ping.0.json"));
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->kind, ForgeEvent::Kind::kPing);
  Headers pr{{"X-GitHub-Event", "pull_request"}};
  auto o = ParseEvent(Forge::kGitHub, pr.Lookup(), Payload("github-pull_request.opened.0.json"));
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->kind, ForgeEvent::Kind::kOther);
}

TEST(ParseEvent, ReadsGitLabGiteaAndBitbucketPushes) {
  Headers gl{{"X-Gitlab-Event", "Push Hook"}};
  auto gitlab = ParseEvent(Forge::kGitLab, gl.Lookup(), Payload("gitlab-push.json"));
  ASSERT_TRUE(gitlab.ok());
  EXPECT_EQ(gitlab->changes.at(0).branch, "master");
  EXPECT_EQ(gitlab->changes.at(0).after, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");

  Headers gt{{"X-Gitea-Event", "push"}};
  auto gitea = ParseEvent(Forge::kGitea, gt.Lookup(), Payload("gitea-push.json"));
  ASSERT_TRUE(gitea.ok());
  EXPECT_EQ(gitea->changes.at(0).after, "67b56589a45103f891bdee7c0546e5d40bc02001");

  Headers bc{{"X-Event-Key", "repo:push"}};
  auto cloud =
      ParseEvent(Forge::kBitbucket, bc.Lookup(), Payload("bitbucket-cloud-repo-push.json"));
  ASSERT_TRUE(cloud.ok());
  EXPECT_EQ(cloud->changes.at(0).branch, "name-of-branch");
  EXPECT_EQ(cloud->changes.at(0).after, "709d658dc5b6d6afcd46049c2f332ee3f515a67d");

  Headers bs{{"X-Event-Key", "repo:refs_changed"}};
  auto server = ParseEvent(Forge::kBitbucket, bs.Lookup(),
                           Payload("bitbucket-server-repo-refs-changed.json"));
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(server->changes.at(0).branch, "feature/wip");
  EXPECT_TRUE(server->changes.at(0).deleted);
}

TEST(ParseEvent, RejectsAMissingEventHeaderAndANonJsonBody) {
  auto no_header = ParseEvent(Forge::kGitHub, Headers{}.Lookup(), "{}");
  EXPECT_EQ(no_header.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(no_header.status().message().find("X-GitHub-Event"), std::string::npos);
  Headers h{{"X-GitHub-Event", "push"}};
  EXPECT_FALSE(ParseEvent(Forge::kGitHub, h.Lookup(), "payload=%7B%7D").ok());
  EXPECT_FALSE(ParseEvent(Forge::kGitHub, h.Lookup(), "[1,2]").ok());
}

TEST(NormalizeRepoUrl, MakesTheHttpsSshAndGitFormsOfOneRepositoryEqual) {
  const std::string want = "github.com/Codertocat/Hello-World";
  EXPECT_EQ(NormalizeRepoUrl("https://github.com/Codertocat/Hello-World.git"), want);
  EXPECT_EQ(NormalizeRepoUrl("https://user:pw@GitHub.com/Codertocat/Hello-World/"), want);
  EXPECT_EQ(NormalizeRepoUrl("git@github.com:Codertocat/Hello-World.git"), want);
  EXPECT_EQ(NormalizeRepoUrl("ssh://git@github.com:22/Codertocat/Hello-World"), want);
  EXPECT_EQ(NormalizeRepoUrl("git://github.com/Codertocat/Hello-World.git"), want);
  EXPECT_NE(NormalizeRepoUrl("https://github.com/Codertocat/Other"), want);
  EXPECT_EQ(NormalizeRepoUrl("/srv/git/app.git"), "/srv/git/app");
}

TEST(EventMatchesGitSource, MatchesUriAndBranchAcrossUrlForms) {
  Headers h{{"X-Gitlab-Event", "Push Hook"}};
  auto e = ParseEvent(Forge::kGitLab, h.Lookup(), Payload("gitlab-push.json"));
  ASSERT_TRUE(e.ok());
  EXPECT_TRUE(EventMatchesGitSource(
      *e, Json{{"uri", "git@example.com:mike/diaspora.git"}, {"branch", "master"}}));
  EXPECT_TRUE(EventMatchesGitSource(*e, Json{{"uri", "https://example.com/mike/diaspora"}}));
  EXPECT_FALSE(EventMatchesGitSource(
      *e, Json{{"uri", "https://example.com/mike/diaspora"}, {"branch", "develop"}}));
  EXPECT_FALSE(EventMatchesGitSource(*e, Json{{"uri", "https://example.com/mike/other"}}));
  EXPECT_FALSE(EventMatchesGitSource(*e, Json{{"branch", "master"}}));
}

TEST(EventMatchesGitSource, TagPushesMatchOnlyTagFilterResources) {
  Headers h{{"X-GitHub-Event", "push"}};
  auto e = ParseEvent(Forge::kGitHub, h.Lookup(), Payload("github-push.0.json"));
  ASSERT_TRUE(e.ok());
  Json uri = "git@github.com:Codertocat/Hello-World.git";
  EXPECT_TRUE(EventMatchesGitSource(*e, Json{{"uri", uri}, {"tag_filter", "simple-*"}}));
  EXPECT_FALSE(EventMatchesGitSource(*e, Json{{"uri", uri}, {"tag_filter", "v*"}}));
  EXPECT_FALSE(EventMatchesGitSource(*e, Json{{"uri", uri}, {"branch", "master"}}));
}

TEST(EventMatchesGitSource, ADeletedBranchTriggersNoCheck) {
  Headers h{{"X-Event-Key", "repo:refs_changed"}};
  auto e =
      ParseEvent(Forge::kBitbucket, h.Lookup(), Payload("bitbucket-server-repo-refs-changed.json"));
  ASSERT_TRUE(e.ok());
  EXPECT_FALSE(EventMatchesGitSource(
      *e, Json{{"uri", "https://server.bitbucket.local/scm/~gopher/webhook-test.git"},
               {"branch", "feature/wip"}}));
}

}  // namespace
}  // namespace baton::webapi
