// The routes the web UI needs, open to every client (docs/api.md): browser sessions with an
// HttpOnly cookie and CSRF-checked writes, anonymous reads of public pipelines, whole-page
// reads (dashboard, overview), validate-without-saving, the schema, version usage, pin comments.
#include <gtest/gtest.h>

#include "baton/net/http_client.h"
#include "fakes/server_process.h"

namespace baton::testing {
namespace {

using nlohmann::json;

std::string ShellJob(const std::string& name) {
  return "- name: " + name +
         "\n  plan:\n  - task: t\n    config: {platform: linux, run: {path: 'true'}}\n";
}

// An exchange whose response headers matter (Set-Cookie).
struct Exchange {
  int status = 0;
  json body;
  std::string set_cookie;
};

Exchange Send(const std::string& method, const std::string& url, const std::string& body) {
  net::HttpClient client{net::ClientOptions{}};
  net::Headers h;
  h.Set("Content-Type", "application/json");
  auto r = client.Send(method, url, body, h);
  if (!r.ok()) return {};
  return {r->status, json::parse(r->body, nullptr, false),
          r->headers.Get("Set-Cookie").value_or("")};
}

class WebUiRoutes : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(server_.started()) << server_.log(); }
  void Set(const std::string& name, const std::string& yaml) {
    ApiReply r = server_.Api("PUT", "/api/v1/teams/main/pipelines/" + name + "/config",
                             json{{"config", yaml}, {"paused", false}}.dump());
    ASSERT_EQ(r.status, 200) << r.text;
  }
  // Logs in with the admin token; returns {cookie "baton_session=...", csrf token}.
  std::pair<std::string, std::string> Login() {
    Exchange r =
        Send("POST", server_.url() + "/api/v1/session", json{{"token", server_.token()}}.dump());
    EXPECT_EQ(r.status, 200) << r.body.dump();
    std::string cookie = r.set_cookie.substr(0, r.set_cookie.find(';'));
    return {cookie, r.body.is_object() ? r.body.value("csrf_token", "") : ""};
  }
  ApiReply AsBrowser(const std::string& method, const std::string& path, const std::string& cookie,
                     const std::string& csrf = "") {
    std::map<std::string, std::string> h = {{"Cookie", cookie}};
    if (!csrf.empty()) h["X-CSRF-Token"] = csrf;
    return server_.Api(method, path, "", h, false);
  }
  ServerProcess server_;
};

TEST_F(WebUiRoutes, ALoginSetsAnHttpOnlyStrictCookieThatAuthenticatesReads) {
  ApiReply bad = server_.Api("POST", "/api/v1/session", R"({"token":"nope"})", {}, false);
  EXPECT_EQ(bad.status, 401);
  Exchange good =
      Send("POST", server_.url() + "/api/v1/session", json{{"token", server_.token()}}.dump());
  ASSERT_EQ(good.status, 200) << good.body.dump();
  std::string set_cookie = good.set_cookie;
  EXPECT_NE(set_cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(set_cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_EQ(set_cookie.find(server_.token()), std::string::npos) << "a session of its own";
  auto [cookie, csrf] = Login();
  EXPECT_EQ(AsBrowser("GET", "/api/v1/teams/main/pipelines", cookie).status, 200);
  json who = AsBrowser("GET", "/api/v1/session", cookie).json;
  EXPECT_EQ(who["authenticated"], true);
  EXPECT_EQ(who["csrf_token"], csrf);
  EXPECT_EQ(server_.Api("GET", "/api/v1/session", "", {}, false).json["authenticated"], false);
}

TEST_F(WebUiRoutes, CookieWritesNeedTheCsrfTokenAndLogoutEndsTheSession) {
  Set("p", "jobs:\n" + ShellJob("a"));
  auto [cookie, csrf] = Login();
  EXPECT_EQ(AsBrowser("PUT", "/api/v1/teams/main/pipelines/p/pause", cookie).status, 403);
  EXPECT_EQ(AsBrowser("PUT", "/api/v1/teams/main/pipelines/p/pause", cookie, "wrong").status, 403);
  EXPECT_EQ(AsBrowser("PUT", "/api/v1/teams/main/pipelines/p/pause", cookie, csrf).status, 200);
  EXPECT_EQ(AsBrowser("DELETE", "/api/v1/session", cookie).status, 403) << "logout is a write";
  net::HttpClient client{net::ClientOptions{}};
  net::Headers h;
  h.Set("Cookie", cookie);
  h.Set("X-CSRF-Token", csrf);
  auto out = client.Send("DELETE", server_.url() + "/api/v1/session", "", h);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->status, 200);
  EXPECT_NE(out->headers.Get("Set-Cookie").value_or("").find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(AsBrowser("GET", "/api/v1/teams/main/pipelines", cookie).status, 401);
}

TEST_F(WebUiRoutes, AnonymousVisitorsReadPublicPipelinesButNotTheirConfig) {
  Set("open", "jobs:\n" + ShellJob("a"));
  Set("closed", "jobs:\n" + ShellJob("a"));
  ASSERT_EQ(server_.Api("PUT", "/api/v1/teams/main/pipelines/open/expose").status, 200);
  auto anon = [&](const std::string& path) { return server_.Api("GET", path, "", {}, false); };
  EXPECT_EQ(anon("/api/v1/teams/main/pipelines/open").status, 200);
  EXPECT_EQ(anon("/api/v1/teams/main/pipelines/open/jobs").status, 200);
  EXPECT_EQ(anon("/api/v1/teams/main/pipelines/open/overview").status, 200);
  EXPECT_EQ(anon("/api/v1/teams/main/pipelines/open/config").status, 401);
  EXPECT_EQ(anon("/api/v1/teams/main/pipelines/closed").status, 401);
  EXPECT_EQ(anon("/api/v1/teams/main/pipelines").status, 401);
  EXPECT_EQ(server_.Api("PUT", "/api/v1/teams/main/pipelines/open/pause", "", {}, false).status,
            401);
  json cards = anon("/api/v1/teams/main/dashboard").json;
  ASSERT_EQ(cards.size(), 1u);
  EXPECT_EQ(cards[0]["name"], "open");
  EXPECT_EQ(server_.Get("/api/v1/teams/main/dashboard").size(), 2u);
  ApiReply build = server_.Api("POST", "/api/v1/teams/main/pipelines/open/jobs/a/builds");
  ASSERT_EQ(build.status, 201);
  EXPECT_EQ(anon("/api/v1/builds/" + build.json["id"].dump()).status, 200);
}

TEST_F(WebUiRoutes, ValidateAnswersTheSaveDiagnosticsAndSavesNothing) {
  const std::string typo = "jobs:\n- name: a\n  plan:\n  - get: nowhere\n";
  ApiReply r = server_.Api("POST", "/api/v1/teams/main/pipelines/draft/config/validate",
                           json{{"config", typo}}.dump());
  ASSERT_EQ(r.status, 200) << r.text;
  EXPECT_EQ(r.json["valid"], false);
  ASSERT_FALSE(r.json["errors"].empty());
  EXPECT_EQ(r.json["errors"][0]["line"], 4);
  EXPECT_NE(r.json["errors"][0]["message"].get<std::string>().find("nowhere"), std::string::npos);
  EXPECT_EQ(server_.Api("GET", "/api/v1/teams/main/pipelines/draft").status, 404);
  ApiReply ok = server_.Api("POST", "/api/v1/teams/main/pipelines/draft/config/validate",
                            json{{"config", "jobs:\n" + ShellJob("a")}}.dump());
  EXPECT_EQ(ok.json["valid"], true) << ok.text;
  EXPECT_EQ(server_.Api("GET", "/api/v1/schema/pipeline", "", {}, false).json["type"], "object");
}

TEST_F(WebUiRoutes, OverviewGivesEachJobsInputsOutputsAndTheGroups) {
  Set("g",
      "resources:\n- name: r\n  type: time\n  source: {interval: 24h}\n"
      "jobs:\n- name: a\n  plan:\n  - get: r\n    trigger: false\n  - put: r\n"
      "- name: b\n  plan:\n  - in_parallel:\n    - get: r\n      passed: [a]\n      trigger: true\n"
      "groups:\n- name: all\n  jobs: [a, b]\n");
  json o = server_.Get("/api/v1/teams/main/pipelines/g/overview");
  ASSERT_EQ(o["jobs"].size(), 2u) << o.dump();
  EXPECT_EQ(o["jobs"][0]["outputs"][0]["resource"], "r");
  EXPECT_EQ(o["jobs"][1]["inputs"][0]["passed"], json::array({"a"}));
  EXPECT_EQ(o["jobs"][1]["inputs"][0]["trigger"], true);
  EXPECT_TRUE(o["jobs"][1].contains("next_build"));
  EXPECT_EQ(o["groups"][0]["name"], "all");
  EXPECT_EQ(o["resources"][0]["name"], "r");
}

TEST_F(WebUiRoutes, APinKeepsItsCommentAndVersionsSayWhichBuildsUsedThem) {
  Set("v",
      "resources:\n- name: r\n  type: time\n  source: {interval: 24h}\n"
      "jobs:\n- name: a\n  plan:\n  - get: r\n");
  ASSERT_EQ(server_.CheckResource("v", "r").value("status", ""), "succeeded");
  json versions = server_.Get("/api/v1/teams/main/pipelines/v/resources/r/versions");
  ASSERT_FALSE(versions.empty());
  const std::string id = versions[0]["id"].dump();
  ApiReply build = server_.Api("POST", "/api/v1/teams/main/pipelines/v/jobs/a/builds");
  ASSERT_EQ(build.status, 201);
  server_.WaitForFinishedBuilds("v", "a", 1);
  json used =
      server_.Get("/api/v1/teams/main/pipelines/v/resources/r/versions/" + id + "/input_to");
  ASSERT_EQ(used.size(), 1u) << used.dump();
  EXPECT_EQ(used[0]["id"], build.json["id"]);
  ASSERT_EQ(server_
                .Api("PUT", "/api/v1/teams/main/pipelines/v/resources/r/versions/" + id + "/pin",
                     R"({"comment": "hold for the release"})")
                .status,
            200);
  json r = server_.Get("/api/v1/teams/main/pipelines/v/resources")[0];
  EXPECT_EQ(r["pin_comment"], "hold for the release");
}

}  // namespace
}  // namespace baton::testing
