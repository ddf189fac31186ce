// End to end: a signed push that names exactly a git resource's next version schedules that
// commit before any check (the check follows and finds what the push left out); the get refuses
// a pushed commit that is not on the branch; sources the push cannot speak for are checked
// first, as before. Real `baton quickstart`, real git repository.
#include <gtest/gtest.h>

#include <chrono>

#include "baton/webapi/webhooks.h"
#include "fakes/git_fixture.h"
#include "fakes/server_process.h"

namespace baton::testing {
namespace {

using nlohmann::json;

constexpr const char* kPushSecret = "s3cret";

class WebhookPushE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.started()) << server_.log();
    repo_ = std::make_unique<GitFixtureRepo>(files_ / "repo");
    first_ = repo_->Commit({{"msg.txt", "one"}}, "one");
  }

  // Pipeline `p`: job `build` gets `repo` (trigger; source: uri, branch main and `extra`) and
  // prints the file the commit wrote.
  void SetPipeline(const std::string& extra = "") {
    std::string yaml = "resources:\n- name: repo\n  type: git\n  check_every: 1h\n" +
                       std::string("  webhook_token: ") + kPushSecret +
                       "\n  source: {uri: " + repo_->path().string() + ", branch: main" + extra +
                       "}\n"
                       "jobs:\n- name: build\n  plan:\n  - get: repo\n    trigger: true\n"
                       "  - task: t\n    config:\n      platform: linux\n"
                       "      inputs: [{name: repo}]\n"
                       "      run: {path: sh, args: [-c, 'cat repo/msg.txt']}\n";
    WriteFile(files_ / "p.yml", yaml);
    CliResult set =
        server_.Cli({"set-pipeline", "-n", "-p", "p", "-c", (files_ / "p.yml").string()});
    ASSERT_EQ(set.exit_code, 0) << set.All();
    ASSERT_EQ(server_.WaitForFinishedBuilds("p", "build", 1).size(), 1u) << server_.log();
  }

  // A signed GitHub push of `sha` to main (the conformance sample's head_commit message).
  ApiReply Push(const std::string& sha, const std::string& delivery) {
    json body = json::parse(ReadFile(SharedDir() / "conformance/webhooks/github-push.0.json"));
    body["ref"] = "refs/heads/main";
    body["after"] = sha;
    body["head_commit"]["id"] = sha;
    body["repository"]["clone_url"] = repo_->path().string();
    std::string text = body.dump();
    return server_.Api(
        "POST", "/api/v1/webhooks/github", text,
        {{"X-GitHub-Event", "push"},
         {"X-GitHub-Delivery", delivery},
         {"X-Hub-Signature-256", "sha256=" + webapi::HmacSha256Hex(kPushSecret, text)}},
        false);
  }

  // Waits for the delivery's check to end; its status.
  std::string CheckEnds(const ApiReply& reply) {
    if (!reply.json.contains("checks") || reply.json["checks"].empty()) return "no check";
    std::string url = reply.json["checks"][0].value("url", "");
    std::string status;
    WaitUntil(
        [&] {
          status = server_.Get(url).value("status", "");
          return status == "succeeded" || status == "errored";
        },
        std::chrono::seconds(60));
    return status;
  }

  std::string InputRef(const json& build) {
    json res = server_.Get("/api/v1/builds/" + std::to_string(build.value("id", 0)) + "/resources");
    for (const auto& in : res["inputs"]) return in["version"].value("ref", "");
    return "";
  }

  // The resource's versions' refs, newest first.
  std::vector<std::string> Versions() {
    json v = server_.Get("/api/v1/teams/main/pipelines/p/resources/repo/versions?limit=1000");
    std::vector<std::string> refs;
    for (const auto& e : v) refs.push_back(e["version"].value("ref", ""));
    return refs;
  }

  ServerProcess server_;
  TempDir files_;
  std::unique_ptr<GitFixtureRepo> repo_;
  std::string first_;
};

// The branch has moved on to `three` by the time the delivery for `two` arrives: a check would
// build only `three`; the push's own commit builds first, then the check finds `three`.
TEST_F(WebhookPushE2E, ASignedPushBuildsThePushedCommitBeforeAnyCheck) {
  SetPipeline();
  std::string two = repo_->Commit({{"msg.txt", "two"}}, "two");
  std::string three = repo_->Commit({{"msg.txt", "three"}}, "three");
  ApiReply r = Push(two, "d-1");
  ASSERT_EQ(r.status, 202) << r.text;
  EXPECT_EQ(r.json["pushed"], json::array({"p/repo"})) << r.text;
  json builds = server_.WaitForFinishedBuilds("p", "build", 3);
  ASSERT_EQ(builds.size(), 3u) << server_.log();
  EXPECT_EQ(InputRef(builds[1]), two) << "the pushed commit is built, from the push alone";
  EXPECT_EQ(builds[1].value("status", ""), "succeeded");
  EXPECT_EQ(InputRef(builds[0]), three) << "the check that follows finds the newer commit";
  EXPECT_EQ(Versions(), (std::vector<std::string>{three, two, first_}));
}

// The delivery names the branch's head; the commit before it was pushed without a delivery.
// The check after the push finds that commit too, and the pushed one stays the newest: one
// build, of the pushed commit, and no build of the older one.
TEST_F(WebhookPushE2E, TheCheckAfterAPushFindsTheCommitsBeforeItAndBuildsNothingTwice) {
  SetPipeline();
  std::string two = repo_->Commit({{"msg.txt", "two"}}, "two");
  std::string three = repo_->Commit({{"msg.txt", "three"}}, "three");
  ApiReply r = Push(three, "d-1");
  ASSERT_EQ(r.status, 202) << r.text;
  EXPECT_EQ(CheckEnds(r), "succeeded");
  // The same commit again in a new delivery (a forge retry with a new id): nothing new.
  ApiReply again = Push(three, "d-2");
  EXPECT_EQ(CheckEnds(again), "succeeded");
  json builds = server_.WaitForFinishedBuilds("p", "build", 2);
  ASSERT_EQ(builds.size(), 2u) << server_.log();
  EXPECT_EQ(InputRef(builds[0]), three);
  EXPECT_EQ(Versions(), (std::vector<std::string>{three, two, first_}));
  // No third build starts: the older commit `two` is not the newest.
  EXPECT_FALSE(WaitUntil([&] { return server_.JobBuilds("p", "build").size() > 2; },
                         std::chrono::milliseconds(500)));
}

TEST_F(WebhookPushE2E, APushedCommitThatIsNotOnTheBranchFailsTheGetSayingSo) {
  SetPipeline();
  RunGit(repo_->path(), "checkout -q -b elsewhere");
  std::string stray = repo_->Commit({{"msg.txt", "stray"}}, "stray");
  RunGit(repo_->path(), "checkout -q main");
  ApiReply r = Push(stray, "d-1");
  ASSERT_EQ(r.status, 202) << r.text;
  json builds = server_.WaitForFinishedBuilds("p", "build", 2);
  ASSERT_EQ(builds.size(), 2u) << server_.log();
  EXPECT_NE(builds[0].value("status", ""), "succeeded");
  std::string log = server_.BuildLog(builds[0].value("id", int64_t{0}));
  EXPECT_NE(log.find("commit " + stray + " is not on branch main"), std::string::npos) << log;
  EXPECT_NE(log.find("check the resource again"), std::string::npos) << log;
  EXPECT_EQ(log.find("stray\n"), std::string::npos) << "the task never ran: " << log;
}

// paths: only commits touching msg.txt are versions; the push cannot tell, so the check runs
// first and the commit that touches another file starts nothing.
TEST_F(WebhookPushE2E, ASourceWithPathsIsCheckedBeforeAnythingIsScheduled) {
  SetPipeline(", paths: [msg.txt]");
  std::string other = repo_->Commit({{"other.txt", "x"}}, "other");
  ApiReply r = Push(other, "d-1");
  ASSERT_EQ(r.status, 202) << r.text;
  EXPECT_EQ(r.json["pushed"], json::array()) << r.text;
  EXPECT_EQ(CheckEnds(r), "succeeded");
  EXPECT_EQ(Versions(), (std::vector<std::string>{first_}));
  EXPECT_EQ(server_.JobBuilds("p", "build").size(), 1u);
}

}  // namespace
}  // namespace baton::testing
