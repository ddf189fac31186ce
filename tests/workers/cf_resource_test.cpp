// The built-in `cf` resource type against the Cloud Foundry stand-in (tests/fakes/cf-api), in
// process, over real loopback HTTP, with real app processes (python3 http.server apps).
#include "workers/cf_test_fixture.h"

namespace baton::workers::cftest {
namespace {

TEST_F(CfResource, PushStagesStartsAndTheRouteAnswersWithTheInterpolatedManifest) {
  auto pushed = Put(WriteApp("api", "hello from api"));
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
  EXPECT_FALSE(pushed->version.value("guid", "").empty());
  EXPECT_FALSE(pushed->version.value("timestamp", "").empty());
  EXPECT_EQ(Metadata(*pushed, "app_name"), "api");
  EXPECT_EQ(Metadata(*pushed, "state"), "STARTED");
  // No routes in the manifest: the default route, as the cf CLI asks for.
  EXPECT_EQ(Metadata(*pushed, "route"), "api.apps.baton.local");
  auto apps = cf_->Apps();
  ASSERT_EQ(apps.size(), 1u);
  EXPECT_EQ(apps[0].state, "STARTED");
  EXPECT_EQ(apps[0].routes, std::vector<std::string>{"api.apps.baton.local"});
  EXPECT_EQ(Get(apps[0].url + "/"), "200 hello from api\n");
  EXPECT_NE(FakeLog().find("(stand-in)"), std::string::npos);
}

TEST_F(CfResource, CallsFollowTheV3PushOrder) {
  ASSERT_TRUE(Put(WriteApp("api", "x")).ok()) << sink_.text();
  std::vector<std::string> wanted = {"GET /",
                                     "POST /login/oauth/token",
                                     "GET /v3/organizations",
                                     "GET /v3/spaces",
                                     "POST /v3/spaces/",
                                     "GET /v3/jobs/",
                                     "GET /v3/apps",
                                     "POST /v3/packages",
                                     "/upload",
                                     "POST /v3/builds",
                                     "PATCH /v3/apps/",
                                     "/actions/start",
                                     "/stats",
                                     "/routes"};
  size_t next = 0;
  for (const auto& request : cf_->Requests()) {
    if (next < wanted.size() && request.find(wanted[next]) != std::string::npos) ++next;
  }
  EXPECT_EQ(next, wanted.size()) << "missing or out of order: "
                                 << wanted[std::min(next, wanted.size() - 1)];
}

TEST_F(CfResource, CheckReturnsTheLastPushAndGetRecordsItsMetadata) {
  auto none = type_->Check(ctx_, Source(), nullptr);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  auto pushed = Put(WriteApp("api", "x"));
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  auto checked = type_->Check(ctx_, Source(), nullptr);
  ASSERT_TRUE(checked.ok());
  ASSERT_EQ(checked->size(), 1u);
  EXPECT_EQ((*checked)[0], pushed->version);
  fs::path get_dir = dir_ / "get";
  fs::create_directories(get_dir);
  auto got = type_->Get(ctx_, Source(), pushed->version, Json::object(), get_dir.string());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(Metadata(*got, "app_guid"), Metadata(*pushed, "app_guid"));
  EXPECT_NE(testing::ReadFile(get_dir / "metadata.json").find("app_guid"), std::string::npos);
}

struct FailureCase {
  FailAt stage;
  std::string message;
};

TEST_F(CfResource, EachFailureModeGivesAnErrorNamingItsStage) {
  std::vector<FailureCase> cases = {
      {FailAt::kAuth, "cf put: login failed: UAA refused the credentials"},
      {FailAt::kOrg, "cf put: organization failed: organization 'baton-org' not found"},
      {FailAt::kSpace, "cf put: space failed: space 'demo' not found"},
      {FailAt::kManifest, "cf put: apply manifest failed: CF-UnprocessableEntity"},
      {FailAt::kUpload, "cf put: upload failed:"},
      {FailAt::kStaging, "cf put: staging failed: StagingError"},
      {FailAt::kCrash, "cf put: start failed: app crashed"},
      {FailAt::kQuota, "cf put: start failed: quota exceeded"},
  };
  for (const auto& c : cases) {
    cf_->SetFailAt(c.stage);
    auto pushed = Put(WriteApp("app-" + std::string(ToString(c.stage)), "x"));
    ASSERT_FALSE(pushed.ok()) << ToString(c.stage);
    EXPECT_NE(pushed.status().message().find(c.message), std::string::npos)
        << ToString(c.stage) << ": " << pushed.status().message();
  }
}

TEST_F(CfResource, QuotaErrorCarriesCloudControllersErrorTitle) {
  cf_->SetFailAt(FailAt::kQuota);
  auto pushed = Put(WriteApp("api", "x"));
  ASSERT_FALSE(pushed.ok());
  EXPECT_NE(pushed.status().message().find("CF-AppMemoryQuotaExceeded (100005)"), std::string::npos)
      << pushed.status().message();
}

TEST_F(CfResource, ShowAppLogShowsTheNewestLinesOfThisPushNotTheOldest) {
  ASSERT_TRUE(Put(WriteApp("api", "v1", "echo first-push-line; exec python3 app.py")).ok());
  Json params = WriteApp(
      "api", "v2", "for i in $(seq 300); do echo filler-$i; done; echo the-crash-line; exit 1");
  params["show_app_log"] = true;
  auto pushed = Put(params);
  ASSERT_FALSE(pushed.ok());
  EXPECT_NE(sink_.text().find("the-crash-line"), std::string::npos) << sink_.text();
  EXPECT_EQ(sink_.text().find("first-push-line"), std::string::npos) << sink_.text();
}

TEST_F(CfResource, AnAppThatExitsAtOnceIsReportedAsCrashedWithItsLog) {
  Json params = WriteApp("api", "x", "echo boom-on-start; exit 3");
  params["show_app_log"] = true;
  auto pushed = Put(params);
  ASSERT_FALSE(pushed.ok());
  EXPECT_NE(pushed.status().message().find("app crashed"), std::string::npos)
      << pushed.status().message();
  EXPECT_NE(sink_.text().find("boom-on-start"), std::string::npos) << sink_.text();
}

TEST_F(CfResource, AZipWithATopFolderIsRefusedByTheStandIn) {
  Json params = WriteApp("api", "x");
  testing::WriteFile(dir_ / "build" / "nested" / "api" / "app.py", kAppScript);
  params["path"] = "nested";
  auto pushed = Put(params);
  ASSERT_FALSE(pushed.ok());
  EXPECT_NE(pushed.status().message().find("cf put: upload failed"), std::string::npos);
  EXPECT_NE(pushed.status().message().find("top folder 'api/'"), std::string::npos)
      << pushed.status().message();
}

TEST_F(CfResource, AnExpiredTokenIsRefreshedAndThePushGoesOn) {
  FakeCloudFoundry* cf = cf_.get();
  HttpTransportFactory inner = workers::MakeHttpTransportFactory();
  transport_ = [inner, cf](const HttpTransportOptions& o) -> std::unique_ptr<HttpTransport> {
    return std::make_unique<HookedTransport>(inner(o), 6, [cf] { cf->ExpireTokens(); });
  };
  auto pushed = Put(WriteApp("api", "after refresh"));
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  EXPECT_EQ(cf_->TokenGrants("password"), 1);
  EXPECT_EQ(cf_->TokenGrants("refresh_token"), 1);
  EXPECT_EQ(Get(AppUrl("api") + "/"), "200 after refresh\n");
}

TEST_F(CfResource, ClientCredentialsAreAccepted) {
  Json source = Source();
  source.erase("username");
  source.erase("password");
  source["client_id"] = "admin";
  source["client_secret"] = kPassword;
  auto pushed = type_->Put(ctx_, source, WriteApp("api", "x"), (dir_ / "build").string());
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  EXPECT_EQ(cf_->TokenGrants("client_credentials"), 1);
}

TEST_F(CfResource, CredentialsNeverAppearInOutputOrErrors) {
  std::string everything;
  for (FailAt stage : {FailAt::kNone, FailAt::kAuth, FailAt::kStaging, FailAt::kCrash}) {
    cf_->SetFailAt(stage);
    Json params = WriteApp("app-" + std::string(ToString(stage)), "x");
    params["show_app_log"] = true;
    auto pushed = Put(params);
    everything += pushed.status().ToString() + "\n";
  }
  everything += sink_.text() + FakeLog();
  EXPECT_EQ(everything.find(kPassword), std::string::npos) << everything;
  EXPECT_EQ(everything.find("bearer "), std::string::npos);
  EXPECT_EQ(everything.find("access_token"), std::string::npos);
}

TEST_F(CfResource, RollingDeployKeepsTheOldAppAnsweringUntilTheNewOneRuns) {
  auto first = Put(WriteApp("api", "v1"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  std::string url = AppUrl("api") + "/";
  ASSERT_EQ(Get(url), "200 v1\n");

  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::vector<std::string> seen;
  std::thread poller([&] {
    for (;;) {
      std::string answer = Get(url);
      std::lock_guard<std::mutex> lock(mu);
      if (stop) return;
      seen.push_back(answer);
      cv.notify_all();
    }
  });
  Json params = WriteApp("api", "v2", "sleep 1; exec python3 app.py");
  params["strategy"] = "rolling";
  auto second = Put(params);
  {
    // The put returns once the new instance runs; watch a few more answers after that.
    std::unique_lock<std::mutex> lock(mu);
    size_t target = seen.size() + 3;
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return seen.size() >= target; });
    stop = true;
  }
  poller.join();
  ASSERT_TRUE(second.ok()) << second.status().ToString() << "\n" << sink_.text();
  EXPECT_FALSE(Metadata(*second, "deployment_guid").empty());
  size_t v1 = 0, v2 = 0;
  bool switched = false;
  for (const auto& answer : seen) {
    ASSERT_TRUE(answer == "200 v1\n" || answer == "200 v2\n") << "the route answered: " << answer;
    if (answer == "200 v2\n") switched = true, ++v2;
    if (answer == "200 v1\n") {
      EXPECT_FALSE(switched) << "v1 answered after v2 did";
      ++v1;
    }
  }
  EXPECT_GT(v1, 5u) << "the old app should answer while the new one starts (1 s)";
  EXPECT_EQ(Get(url), "200 v2\n");
}

TEST_F(CfResource, RollingDeployOfACrashingAppLeavesTheOldOneServing) {
  auto first = Put(WriteApp("api", "v1"));
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  Json params = WriteApp("api", "v2", "exit 1");
  params["strategy"] = "rolling";
  auto second = Put(params);
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("cf put: start failed: app crashed"), std::string::npos)
      << second.status().message();
  EXPECT_EQ(Get(AppUrl("api") + "/"), "200 v1\n");
}

TEST_F(CfResource, WithoutAnHttpTransportPutSaysSo) {
  ctx_.http_transport = nullptr;
  auto pushed = Put(WriteApp("api", "x"));
  ASSERT_FALSE(pushed.ok());
  EXPECT_NE(pushed.status().message().find("no HTTP transport"), std::string::npos);
}

TEST_F(CfResource, AMissingManifestVarIsNamed) {
  Json params = WriteApp("api", "x");
  params.erase("vars");
  auto pushed = Put(params);
  ASSERT_FALSE(pushed.ok());
  EXPECT_NE(pushed.status().message().find("((message))"), std::string::npos)
      << pushed.status().message();
}

TEST_F(CfResource, NoStartUploadsTheBitsButNeitherStagesNorStarts) {
  // As `cf push --no-start` in CLI v8: no build, no droplet, the app left STOPPED.
  Json params = WriteApp("api", "x");
  params["no_start"] = true;
  auto pushed = Put(params);
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  EXPECT_EQ(Metadata(*pushed, "state"), "STOPPED");
  EXPECT_EQ(Metadata(*pushed, "droplet_guid"), "");
  EXPECT_EQ(pushed->version.value("guid", ""), Metadata(*pushed, "package_guid"));
  ASSERT_EQ(cf_->Apps().size(), 1u);
  EXPECT_EQ(cf_->Apps()[0].state, "STOPPED");
  for (const auto& request : cf_->Requests()) {
    EXPECT_EQ(request.find("POST /v3/builds"), std::string::npos);
    EXPECT_EQ(request.find("/actions/start"), std::string::npos);
  }
}

TEST_F(CfResource, NoStartStopsARunningApp) {
  ASSERT_TRUE(Put(WriteApp("api", "v1")).ok());
  Json params = WriteApp("api", "v2");
  params["no_start"] = true;
  auto pushed = Put(params);
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  EXPECT_EQ(cf_->Apps()[0].state, "STOPPED");
}

TEST_F(CfResource, ManifestValuesAreKeptAsWritten) {
  fs::path app = dir_ / "build" / "api";
  testing::WriteFile(app / "app.py", kAppScript);
  testing::WriteFile(app / "manifest.yml",
                     "applications:\n- name: api\n  command: python3 app.py\n  instances: 1\n"
                     "  env:\n    MESSAGE: 0123\n");
  auto pushed = Put({{"manifest", "api/manifest.yml"}});
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  EXPECT_EQ(Get(AppUrl("api") + "/"), "200 0123\n");
}

}  // namespace
}  // namespace baton::workers::cftest
