// Instances of a `cf` push: the stand-in runs each process's `instances` (CF_INSTANCE_INDEX
// set) and restarts crashed ones; the push succeeds once each process has a running instance,
// as `cf push` does, and reports the crashed ones.
#include "workers/cf_test_fixture.h"

namespace baton::workers::cftest {
namespace {

using CfInstances = CfResource;

constexpr const char* kSecondCrashes =
    "if [ \"$CF_INSTANCE_INDEX\" = 1 ]; then echo instance-1-fails; exit 1; fi; "
    "exec python3 app.py";

TEST_F(CfInstances, ThreeInstancesWithOneCrashingStillDeploy) {
  auto pushed = Put(WriteApp("api", "three", kSecondCrashes, "  instances: 3\n"));
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
  EXPECT_NE(sink_.text().find("of 3 instance(s) of web running"), std::string::npos)
      << sink_.text();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(Get(AppUrl("api") + "/"), "200 three\n");
}

TEST_F(CfInstances, TheCrashedInstanceIsReportedAndRestarted) {
  auto pushed = Put(WriteApp("api", "three", kSecondCrashes, "  instances: 3\n"));
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  // The push may finish before the crash is seen; the stand-in restarts it meanwhile.
  bool restarted = false;
  for (int i = 0; i < 200 && !restarted; ++i) {
    std::string log = FakeLog();
    size_t first = log.find("starting instance 1 ");
    restarted = first != std::string::npos &&
                log.find("starting instance 1 ", first + 1) != std::string::npos;
    if (!restarted) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(restarted) << FakeLog();
}

TEST_F(CfInstances, EveryInstanceCrashingFailsThePushNamingThem) {
  auto pushed = Put(WriteApp("api", "x", "exit 1", "  instances: 2\n"));
  ASSERT_FALSE(pushed.ok());
  EXPECT_NE(pushed.status().message().find(
                "cf put: start failed: app crashed: every instance of web (0, 1) is CRASHED"),
            std::string::npos)
      << pushed.status().message();
}

TEST_F(CfInstances, ARollingDeployReplacesEveryInstance) {
  ASSERT_TRUE(Put(WriteApp("api", "v1", "exec python3 app.py", "  instances: 2\n")).ok());
  Json params = WriteApp("api", "v2", "exec python3 app.py", "  instances: 2\n");
  params["strategy"] = "rolling";
  auto pushed = Put(params);
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(Get(AppUrl("api") + "/"), "200 v2\n");
}

}  // namespace
}  // namespace baton::workers::cftest
