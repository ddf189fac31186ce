// Retries of the `cf` type, as the cf CLI does them: requests other than POST are retried on
// 500/502/503/504 with a backoff; every request answered 429 is retried after its Retry-After.
#include "workers/cf_test_fixture.h"

namespace baton::workers::cftest {
namespace {

using testing::fakecf::Fault;
using CfRetries = CfResource;

TEST_F(CfRetries, A502WhilePollingStagingIsSurvived) {
  cf_->AddFault({502, "GET", "/v3/builds/", 1, 0});
  auto pushed = Put(WriteApp("api", "after a 502"));
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
  EXPECT_NE(sink_.text().find("answered 502; retrying in"), std::string::npos) << sink_.text();
  EXPECT_NE(FakeLog().find("answering 502 to GET /v3/builds/"), std::string::npos);
  EXPECT_EQ(Get(AppUrl("api") + "/"), "200 after a 502\n");
}

TEST_F(CfRetries, A503AndA504AreRetriedToo) {
  cf_->AddFault({503, "GET", "/v3/jobs/", 1, 0});
  cf_->AddFault({504, "GET", "/stats", 1, 0});
  auto pushed = Put(WriteApp("api", "x"));
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
  EXPECT_NE(sink_.text().find("answered 503; retrying"), std::string::npos) << sink_.text();
  EXPECT_NE(sink_.text().find("answered 504; retrying"), std::string::npos) << sink_.text();
}

TEST_F(CfRetries, A429IsRetriedAfterItsRetryAfterEvenForAPost) {
  cf_->AddFault({429, "POST", "/v3/packages", 1, 1});
  auto start = std::chrono::steady_clock::now();
  auto pushed = Put(WriteApp("api", "x"));
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
  EXPECT_NE(sink_.text().find("POST /v3/packages answered 429 (rate limited); retrying in 1000 ms"),
            std::string::npos)
      << sink_.text();
  // A lower bound only: it waited at least the second Retry-After asked for.
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
}

TEST_F(CfRetries, APostAnswered502IsNotRetried) {
  // CC may have created the build before the router gave up: a second POST would stage twice.
  cf_->AddFault({502, "POST", "/v3/builds", 1, 0});
  auto pushed = Put(WriteApp("api", "x"));
  ASSERT_FALSE(pushed.ok());
  EXPECT_NE(pushed.status().message().find("cf put: staging failed: POST /v3/builds answered 502"),
            std::string::npos)
      << pushed.status().message();
}

TEST_F(CfRetries, RetriesEndAndTheErrorSaysHowManyAttemptsWereMade) {
  cf_->AddFault({503, "GET", "/v3/organizations", 100, 0});
  auto pushed = Put(WriteApp("api", "x"));
  ASSERT_FALSE(pushed.ok());
  EXPECT_NE(pushed.status().message().find("answered 503 CF-ServiceUnavailable (10015)"),
            std::string::npos)
      << pushed.status().message();
  EXPECT_NE(pushed.status().message().find("(after 5 attempts)"), std::string::npos)
      << pushed.status().message();
}

}  // namespace
}  // namespace baton::workers::cftest
