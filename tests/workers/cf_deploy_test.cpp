// Rolling deployments of the `cf` type against the Cloud Foundry stand-in: a deployment that
// fails (crash), times out or is aborted is cancelled, so the app is not wedged and the next push
// works (Cloud Controller refuses process changes while a deployment is in flight).
#include "workers/cf_test_fixture.h"

namespace baton::workers::cftest {
namespace {

class CfDeploy : public CfResource {
 protected:
  // Pushes v1 (plain), then a rolling push with `command`; returns the failed second push.
  Result<FetchedVersion> PushThenRollOut(const std::string& command, Json extra = {}) {
    auto first = Put(WriteApp("api", "v1"));
    EXPECT_TRUE(first.ok()) << first.status().ToString();
    if (first.ok()) route_ = AppUrl("api");
    Json params = WriteApp("api", "v2", command);
    params["strategy"] = "rolling";
    if (extra.is_object()) params.update(extra);
    return Put(params);
  }

  // A rolling push of a healthy v3 must now work.
  void ExpectTheNextRollingPushWorks() {
    Json params = WriteApp("api", "v3", "exec python3 app.py");
    params["strategy"] = "rolling";
    auto third = Put(params);
    ASSERT_TRUE(third.ok()) << third.status().ToString() << "\n" << sink_.text();
    EXPECT_EQ(Get(route_ + "/"), "200 v3\n");
  }

  std::string route_;
};

TEST_F(CfDeploy, ACrashedRollingDeployIsCancelledAndTheNextPushWorks) {
  auto second = PushThenRollOut("exit 1");
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("app crashed"), std::string::npos)
      << second.status().message();
  EXPECT_NE(sink_.text().find("cancelled rolling deployment"), std::string::npos) << sink_.text();
  EXPECT_EQ(Get(route_ + "/"), "200 v1\n");
  ExpectTheNextRollingPushWorks();
}

TEST_F(CfDeploy, ATimedOutRollingDeployIsCancelledAndTheNextPushWorks) {
  auto second = PushThenRollOut("sleep 60", {{"startup_timeout", 1}});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("timed out"), std::string::npos)
      << second.status().message();
  EXPECT_NE(sink_.text().find("cancelled rolling deployment"), std::string::npos) << sink_.text();
  EXPECT_EQ(Get(route_ + "/"), "200 v1\n");
  ExpectTheNextRollingPushWorks();
}

TEST_F(CfDeploy, AnAbortedRollingDeployIsCancelledAndTheNextPushWorks) {
  std::atomic<bool> cancelled{false};
  ctx_.cancelled = &cancelled;
  std::thread aborter([&] {
    // Abort once the stand-in has started the deployment's instance.
    for (int i = 0; i < 600 && FakeLog().find("sleep 60") == std::string::npos; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    cancelled = true;
  });
  auto second = PushThenRollOut("sleep 60");
  aborter.join();
  ASSERT_FALSE(second.ok());
  EXPECT_NE(second.status().message().find("cancelled"), std::string::npos)
      << second.status().message();
  EXPECT_NE(sink_.text().find("cancelled rolling deployment"), std::string::npos) << sink_.text();
  cancelled = false;
  ExpectTheNextRollingPushWorks();
}

// Drops the `cf` type's cancel requests, as a lost connection would.
class NoCancelTransport : public HttpTransport {
 public:
  explicit NoCancelTransport(std::unique_ptr<HttpTransport> inner) : inner_(std::move(inner)) {}
  Result<HttpResponse> Send(const HttpRequest& request) override {
    if (request.url.find("/actions/cancel") != std::string::npos) {
      return Unavailable("connection reset (test)");
    }
    return inner_->Send(request);
  }

 private:
  std::unique_ptr<HttpTransport> inner_;
};

TEST_F(CfDeploy, WithoutTheCancelTheStandInRefusesProcessChangesWhileADeploymentIsInFlight) {
  HttpTransportFactory inner = workers::MakeHttpTransportFactory();
  transport_ = [inner](const HttpTransportOptions& o) -> std::unique_ptr<HttpTransport> {
    return std::make_unique<NoCancelTransport>(inner(o));
  };
  auto second = PushThenRollOut("sleep 60", {{"startup_timeout", 1}});
  ASSERT_FALSE(second.ok());
  EXPECT_NE(sink_.text().find("cancel it with `cf cancel-deployment`"), std::string::npos)
      << sink_.text();
  auto third = Put(WriteApp("api", "v3", "exec python3 app.py"));
  ASSERT_FALSE(third.ok());
  EXPECT_NE(third.status().message().find(
                "cf put: apply manifest failed: CF-UnprocessableEntity: For application 'api': "
                "Cannot update this process while a deployment is in flight."),
            std::string::npos)
      << third.status().message();
}

}  // namespace
}  // namespace baton::workers::cftest
