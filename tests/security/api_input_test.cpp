// Issue 9, strict input: each malformed request the issue lists gets a 4xx naming the field
// and what it must be, from the real server; none gets a 500 or is silently reinterpreted.
#include <gtest/gtest.h>

#include <string>

#include "baton/webapi/router.h"
#include "baton/webapi/webhooks.h"
#include "fakes/server_process.h"

namespace baton::testing {
namespace {

using nlohmann::json;

constexpr const char* kSecret = "hook-s3cret";
const std::string kBase = "/api/v1/teams/main/pipelines";

const std::string kPipeline = R"(resources:
- name: repo
  type: git
  check_every: 24h
  webhook_token: hook-s3cret
  source: {uri: "https://git.example.invalid/team/app.git", branch: main}
jobs:
- name: build
  plan:
  - get: repo
)";

class ApiInput : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.started()) << server_.log(); }

  ApiReply SetConfig(const std::string& name, const json& body,
                     const std::map<std::string, std::string>& headers = {}) {
    return server_.Api("PUT", kBase + "/" + name + "/config", body.dump(), headers);
  }

  void ExpectBadRequest(const ApiReply& r, const std::vector<std::string>& needles) {
    EXPECT_EQ(r.status, 400) << r.text;
    EXPECT_TRUE(r.json.is_object()) << "not JSON: " << r.text;
    for (const auto& needle : needles) {
      EXPECT_NE(r.text.find(needle), std::string::npos) << "no \"" << needle << "\" in " << r.text;
    }
  }

  ApiReply GitHubPush(const std::string& body, bool signed_) {
    std::map<std::string, std::string> headers{{"X-GitHub-Event", "push"},
                                               {"X-GitHub-Delivery", "d-" + std::to_string(++n_)}};
    if (signed_) headers["X-Hub-Signature-256"] = "sha256=" + webapi::HmacSha256Hex(kSecret, body);
    return server_.Api("POST", "/api/v1/webhooks/github", body, headers, false);
  }

  ServerProcess server_;
  int n_ = 0;
};

TEST_F(ApiInput, ANonBooleanPausedIs400NamingTheField) {
  ExpectBadRequest(SetConfig("app", {{"config", kPipeline}, {"paused", "no"}}),
                   {"`paused`", "boolean", "string"});
  EXPECT_EQ(server_.Api("GET", kBase + "/app").status, 404);  // nothing was set
}

TEST_F(ApiInput, ANonNumericConfigVersionHeaderIs400NamingTheHeader) {
  ExpectBadRequest(
      SetConfig("app", {{"config", kPipeline}}, {{"X-Concourse-Config-Version", "abc"}}),
      {"X-Concourse-Config-Version", "whole number", "abc"});
  ExpectBadRequest(
      SetConfig("app", {{"config", kPipeline}}, {{"X-Concourse-Config-Version", "1x"}}),
      {"X-Concourse-Config-Version"});
}

TEST_F(ApiInput, AWronglyTypedBodyFieldIs400NamingTheFieldAndType) {
  ExpectBadRequest(SetConfig("app", {{"config", 42}}), {"`config`", "a string", "a number"});
  ExpectBadRequest(SetConfig("app", {{"config", kPipeline}, {"vars", "x=1"}}),
                   {"`vars`", "an object"});
  ExpectBadRequest(SetConfig("app", {{"config", kPipeline}, {"expected_version", "3"}}),
                   {"`expected_version`", "whole number"});
  ExpectBadRequest(server_.Api("PUT", kBase + "/app/config", "{not json"), {"not valid JSON"});
}

TEST_F(ApiInput, AForgePayloadWithAWrongTypeIsRefusedUnsignedAnd400WhenSigned) {
  ASSERT_EQ(SetConfig("app", {{"config", kPipeline}}).status, 200);
  json body = {
      {"ref", "refs/heads/main"},
      {"after", "0123456789012345678901234567890123456789"},
      {"deleted", "yes"},  // a boolean in GitHub's payloads
      {"repository",
       {{"full_name", "team/app"}, {"clone_url", "https://git.example.invalid/team/app.git"}}}};
  ApiReply unsigned_ = GitHubPush(body.dump(), false);
  EXPECT_EQ(unsigned_.status, 401) << unsigned_.text;  // refused before the payload is read
  ApiReply signed_ = GitHubPush(body.dump(), true);
  ExpectBadRequest(signed_, {"`deleted`", "boolean"});
  body["deleted"] = false;
  body["repository"] = "team/app";  // an object in GitHub's payloads
  ExpectBadRequest(GitHubPush(body.dump(), true), {"`repository`", "an object"});
}

TEST_F(ApiInput, ANonNumericLimitIs400InsteadOfOne) {
  ExpectBadRequest(server_.Api("GET", "/api/v1/builds?limit=abc"),
                   {"query parameter `limit`", "abc"});
  ExpectBadRequest(server_.Api("GET", "/api/v1/builds?since=-1"), {"`since`"});
  ASSERT_EQ(SetConfig("app", {{"config", kPipeline}}).status, 200);
  ExpectBadRequest(server_.Api("GET", kBase + "/app/resources/repo/versions?limit=1e3"),
                   {"`limit`"});
  ExpectBadRequest(server_.Api("GET", kBase + "/app/jobs/build/builds?until=7abc"), {"`until`"});
  EXPECT_EQ(server_.Api("GET", "/api/v1/builds?limit=5000").status, 200);  // capped, not refused
}

TEST_F(ApiInput, PinningVersionAbcIs400InsteadOfUnpinning) {
  ASSERT_EQ(SetConfig("app", {{"config", kPipeline}}).status, 200);
  ExpectBadRequest(server_.Api("PUT", kBase + "/app/resources/repo/versions/abc/pin"),
                   {"path parameter `version`", "abc"});
  ExpectBadRequest(server_.Api("PUT", kBase + "/app/resources/repo/versions/0/pin"), {"`version`"});
  ExpectBadRequest(server_.Api("GET", kBase + "/app/resources/repo/versions/x/input_to"),
                   {"`version`"});
  ExpectBadRequest(
      server_.Api("PUT", kBase + "/app/resources/repo/versions/1/pin", R"({"comment": 5})"),
      {"`comment`", "a string"});
}

TEST_F(ApiInput, PipelineNamesWithDotDotNulOrEscapesAreRefused) {
  for (const std::string name : {"%2E%2E", "a%00b", "%1B%5B31mred", "Upper", "9lives", "a%2Fb"}) {
    ApiReply r = SetConfig(name, {{"config", kPipeline}});
    ExpectBadRequest(r, {"pipeline name", "not a valid name"});
    EXPECT_EQ(r.text.find('\x1b'), std::string::npos) << "raw escape echoed: " << name;
  }
  ExpectBadRequest(server_.Api("PUT", "/api/v1/teams/Bad%07Team/pipelines/app/config",
                               json{{"config", kPipeline}}.dump()),
                   {"team name"});
  EXPECT_EQ(SetConfig("app.v2_x-1", {{"config", kPipeline}}).status, 200);
}

TEST_F(ApiInput, AJobNameWithAnEscapeSequenceIsAnInvalidConfig) {
  std::string yaml = "jobs:\n- name: \"build\\e[2J\"\n  plan: []\n";
  ApiReply r = SetConfig("app", {{"config", yaml}});
  ExpectBadRequest(r, {"invalid pipeline config", "control characters"});
  EXPECT_EQ(r.text.find('\x1b'), std::string::npos);
}

// The router's catch-all: a handler that reads client JSON without checking it first answers
// 400 (the request was at fault), any other exception 500; both JSON, neither with a stack.
TEST(ApiInputRouter, AnUncheckedJsonReadIs400AndAServerFaultIs500BothJson) {
  webapi::Router router;
  router.Add("PUT", "/reads", [](webapi::Request& req) {
    bool paused = json::parse(req.body).value("paused", true);  // throws on "no"
    return webapi::Response::Json(200, json{{"paused", paused}});
  });
  router.Add("GET", "/fails", [](webapi::Request&) -> webapi::Response {
    throw std::runtime_error("disk on fire");
  });
  webapi::Request bad;
  bad.method = "PUT";
  bad.target = bad.path = "/reads";
  bad.body = R"({"paused": "no"})";
  webapi::Response r = router.Dispatch(bad);
  EXPECT_EQ(r.status, 400) << r.body;
  json body = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_NE(body.value("detail", "").find("type must be boolean"), std::string::npos) << r.body;

  webapi::Request fails;
  fails.method = "GET";
  fails.target = fails.path = "/fails";
  r = router.Dispatch(fails);
  EXPECT_EQ(r.status, 500) << r.body;
  body = json::parse(r.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << r.body;
  EXPECT_NE(body.value("detail", "").find("disk on fire"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace baton::testing
