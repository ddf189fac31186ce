// End to end: git forge webhooks against a real `baton quickstart` — a signed GitHub push starts
// a build of the pushed commit, bad signatures and repeated deliveries do nothing — and the W5
// latency from a trigger (CLI or webhook) to the job's first instruction.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "baton/webapi/webhooks.h"
#include "fakes/git_fixture.h"
#include "fakes/server_process.h"

namespace baton::testing {
namespace {

using nlohmann::json;
using std::chrono::seconds;

constexpr const char* kSecret = "s3cret";

class WebhookE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.started()) << server_.log();
    repo_ = std::make_unique<GitFixtureRepo>(files_ / "repo");
    repo_->Commit({{"msg.txt", "one"}}, "one");
  }

  // Sets pipeline `p`: job `build` gets `repo` (trigger) and runs `script`.
  void SetPipeline(const std::string& script) {
    std::string yaml =
        "resources:\n- name: repo\n  type: git\n  check_every: 1h\n"
        "  webhook_token: " +
        std::string(kSecret) +
        "\n"
        "  source: {uri: " +
        repo_->path().string() +
        ", branch: main}\n"
        "jobs:\n- name: build\n  plan:\n  - get: repo\n    trigger: true\n"
        "  - task: t\n    config:\n      platform: linux\n"
        "      inputs: [{name: repo}]\n"
        "      run: {path: sh, args: [-c, '" +
        script + "']}\n";
    WriteFile(files_ / "p.yml", yaml);
    CliResult set =
        server_.Cli({"set-pipeline", "-n", "-p", "p", "-c", (files_ / "p.yml").string()});
    ASSERT_EQ(set.exit_code, 0) << set.All();
  }

  // A GitHub push of `sha` to main of the test's repo, from the conformance sample.
  std::string PushBody(const std::string& sha) {
    json body = json::parse(ReadFile(SharedDir() / "conformance/webhooks/github-push.0.json"));
    body["ref"] = "refs/heads/main";
    body["after"] = sha;
    body["head_commit"]["id"] = sha;
    body["repository"]["clone_url"] = repo_->path().string();
    return body.dump();
  }

  ApiReply Deliver(const std::string& body, const std::string& delivery,
                   const std::string& secret = kSecret) {
    return server_.Api("POST", "/api/v1/webhooks/github", body,
                       {{"X-GitHub-Event", "push"},
                        {"X-GitHub-Delivery", delivery},
                        {"X-Hub-Signature-256", "sha256=" + webapi::HmacSha256Hex(secret, body)}},
                       false);
  }

  std::string InputRef(const json& build) {
    json res = server_.Get("/api/v1/builds/" + std::to_string(build.value("id", 0)) + "/resources");
    for (const auto& in : res["inputs"]) return in["version"].value("ref", "");
    return "";
  }

  size_t VersionCount() {
    json v = server_.Get("/api/v1/teams/main/pipelines/p/resources/repo/versions?limit=1000");
    return v.is_array() ? v.size() : 0;
  }

  ServerProcess server_;
  TempDir files_;
  std::unique_ptr<GitFixtureRepo> repo_;
};

TEST_F(WebhookE2E, ASignedGitHubPushStartsABuildOfThePushedCommit) {
  SetPipeline("cat repo/msg.txt");
  ASSERT_EQ(server_.WaitForFinishedBuilds("p", "build", 1).size(), 1u) << server_.log();
  std::string sha = repo_->Commit({{"msg.txt", "two"}}, "two");
  ApiReply r = Deliver(PushBody(sha), "delivery-1");
  EXPECT_EQ(r.status, 202) << r.text;
  EXPECT_EQ(r.json["checking"], json::array({"p/repo"})) << r.text;
  ASSERT_EQ(r.json["checks"].size(), 1u) << r.text;
  json check = r.json["checks"][0];
  EXPECT_TRUE(WaitUntil(
      [&] {
        check = server_.Get(r.json["checks"][0].value("url", ""));
        return check.value("status", "") == "succeeded";
      },
      std::chrono::seconds(60)))
      << "the webhook's check can be followed to its end: " << check.dump();
  json builds = server_.WaitForFinishedBuilds("p", "build", 2);
  ASSERT_EQ(builds.size(), 2u) << server_.log();
  EXPECT_EQ(builds[0].value("status", ""), "succeeded");
  EXPECT_EQ(InputRef(builds[0]), sha);
  EXPECT_NE(server_.BuildLog(builds[0].value("id", int64_t{0})).find("two"), std::string::npos);
}

TEST_F(WebhookE2E, ABadSignatureIs401AndTriggersNothing) {
  SetPipeline("cat repo/msg.txt");
  ASSERT_EQ(server_.WaitForFinishedBuilds("p", "build", 1).size(), 1u) << server_.log();
  std::string sha = repo_->Commit({{"msg.txt", "two"}}, "two");
  std::string body = PushBody(sha);
  ApiReply bad = Deliver(body, "delivery-bad", "not-the-secret");
  EXPECT_EQ(bad.status, 401) << bad.text;
  ApiReply unsigned_push =
      server_.Api("POST", "/api/v1/webhooks/github", body,
                  {{"X-GitHub-Event", "push"}, {"X-GitHub-Delivery", "u"}}, false);
  EXPECT_EQ(unsigned_push.status, 401) << unsigned_push.text;
  // The Concourse-style per-resource URL wants the resource's token too.
  ApiReply wrong_token = server_.Api(
      "POST", "/api/v1/teams/main/pipelines/p/resources/repo/check/webhook?webhook_token=nope", "",
      {}, false);
  EXPECT_EQ(wrong_token.status, 401) << wrong_token.text;
  // Nothing was checked: the new commit is unknown and no build started. A check that runs
  // after the rejected deliveries proves it (checks run in order on the scheduler).
  EXPECT_EQ(VersionCount(), 1u);
  EXPECT_EQ(server_.JobBuilds("p", "build").size(), 1u);
  ApiReply good = server_.Api(
      "POST", "/api/v1/teams/main/pipelines/p/resources/repo/check/webhook?webhook_token=s3cret",
      "", {}, false);
  EXPECT_EQ(good.status, 201) << good.text;
  json builds = server_.WaitForFinishedBuilds("p", "build", 2);
  ASSERT_EQ(builds.size(), 2u);
  EXPECT_EQ(InputRef(builds[0]), sha);
}

TEST_F(WebhookE2E, TheSameDeliveryIdTwiceChecksOnce) {
  SetPipeline("cat repo/msg.txt");
  ASSERT_EQ(server_.WaitForFinishedBuilds("p", "build", 1).size(), 1u) << server_.log();
  std::string two = repo_->Commit({{"msg.txt", "two"}}, "two");
  std::string body = PushBody(two);
  EXPECT_EQ(Deliver(body, "same-id").status, 202);
  ASSERT_EQ(server_.WaitForFinishedBuilds("p", "build", 2).size(), 2u);
  ASSERT_EQ(VersionCount(), 2u);
  // A new commit, but the forge redelivers the old delivery: acknowledged, not checked.
  std::string three = repo_->Commit({{"msg.txt", "three"}}, "three");
  ApiReply again = Deliver(body, "same-id");
  EXPECT_EQ(again.status, 200) << again.text;
  EXPECT_EQ(again.json.value("duplicate", false), true) << again.text;
  // A fresh delivery is checked; had the repeat been checked, `three` would have built twice
  // or before it — either way there would be more than 3 builds or the versions would differ.
  EXPECT_EQ(Deliver(PushBody(three), "next-id").status, 202);
  json builds = server_.WaitForFinishedBuilds("p", "build", 3);
  ASSERT_EQ(builds.size(), 3u);
  EXPECT_EQ(InputRef(builds[0]), three);
  EXPECT_EQ(VersionCount(), 3u);
}

// Trigger to the first instruction of the job: the task prints the wall clock in ns.
int64_t FirstInstructionNs(ServerProcess& server, const json& build) {
  std::string log = server.BuildLog(build.value("id", int64_t{0}));
  size_t pos = log.find("T=");
  return pos == std::string::npos ? 0 : std::stoll(log.substr(pos + 2));
}

int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string Summary(std::vector<double> ms) {
  if (ms.empty()) return "no samples";
  std::sort(ms.begin(), ms.end());
  double median = ms[ms.size() / 2];
  double p99 = ms[std::min(ms.size() - 1, static_cast<size_t>(ms.size() * 0.99))];
  char text[128];
  std::snprintf(text, sizeof text, "median %.1f ms, p99 %.1f ms, n=%zu", median, p99, ms.size());
  return text;
}

TEST_F(WebhookE2E, MeasuresTriggerToFirstInstructionLatencyThroughTheCliAndAWebhook) {
  SetPipeline("echo T=$(date +%s%N)");
  ASSERT_EQ(server_.WaitForFinishedBuilds("p", "build", 1).size(), 1u) << server_.log();
  constexpr int kRuns = 20;
  std::vector<double> cli_ms, hook_ms;
  for (int i = 0; i < kRuns; ++i) {
    int64_t t0 = NowNs();
    CliResult trigger = server_.Cli({"trigger-job", "-j", "p/build"});
    ASSERT_EQ(trigger.exit_code, 0) << trigger.All();
    json builds = server_.WaitForFinishedBuilds("p", "build", static_cast<size_t>(i) + 2);
    ASSERT_FALSE(builds.empty());
    int64_t t1 = FirstInstructionNs(server_, builds[0]);
    ASSERT_GT(t1, 0) << server_.BuildLog(builds[0].value("id", int64_t{0}));
    cli_ms.push_back((t1 - t0) / 1e6);
  }
  for (int i = 0; i < kRuns; ++i) {
    std::string sha = repo_->Commit({{"n", std::to_string(i)}}, "commit " + std::to_string(i));
    std::string body = PushBody(sha);
    int64_t t0 = NowNs();
    ASSERT_EQ(Deliver(body, "latency-" + std::to_string(i)).status, 202);
    json builds = server_.WaitForFinishedBuilds("p", "build", static_cast<size_t>(kRuns + i) + 2);
    ASSERT_FALSE(builds.empty());
    int64_t t1 = FirstInstructionNs(server_, builds[0]);
    ASSERT_GT(t1, 0);
    hook_ms.push_back((t1 - t0) / 1e6);
  }
  std::printf(
      "W5 trigger to first instruction, CLI (`baton trigger-job`, process start included): %s\n",
      Summary(cli_ms).c_str());
  std::printf("W5 trigger to first instruction, signed GitHub webhook (check + schedule): %s\n",
              Summary(hook_ms).c_str());
}

}  // namespace
}  // namespace baton::testing
