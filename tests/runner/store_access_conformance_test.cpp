// AccessStore conformance, run against every implementation: webhook deliveries, API tokens,
// workers and their heartbeats.
#include <openssl/sha.h>

#include "baton/common/strings.h"
#include "store_conformance.h"

namespace baton::runner::conformance {
namespace {

std::string OpenSslSha256Hex(const std::string& text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return HexEncode(std::string(reinterpret_cast<char*>(digest), sizeof digest));
}

class AccessStoreConformance : public StoreConformanceTest {
 protected:
  void SetUp() override {
    StoreConformanceTest::SetUp();
    StoreTestOptions options;
    options.worker_stall_after = std::chrono::seconds(30);
    Open(options);
  }
};

TEST_P(AccessStoreConformance, AWebhookDeliveryIsRecordedOnlyOnce) {
  WebhookDelivery d{0, "github", "abc-123", clock_.Now(), "accepted", "ff00"};
  EXPECT_TRUE(*access().RecordWebhookDelivery(d));
  EXPECT_FALSE(*access().RecordWebhookDelivery(d));
  d.provider = "gitlab";
  EXPECT_TRUE(*access().RecordWebhookDelivery(d));
  ASSERT_TRUE(access().SetWebhookDeliveryStatus("github", "abc-123", "rejected").ok());
  auto list = access().ListWebhookDeliveries(10);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].status, "rejected");
  EXPECT_EQ((*list)[0].provider, "gitlab");
  EXPECT_EQ(access().SetWebhookDeliveryStatus("github", "nope", "x").code(), StatusCode::kNotFound);
}

TEST_P(AccessStoreConformance, TokensAreStoredOnlyAsTheirSha256) {
  const std::string plain = "s3cret-token-0123456789";
  auto token = access().CreateApiToken("main", "ci", plain, std::nullopt);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(token->token_sha256, OpenSslSha256Hex(plain));
  store_.reset();
  auto bytes = backend_->StoredBytes();
  ASSERT_TRUE(bytes.ok()) << bytes.status().ToString();
  EXPECT_NE(bytes->find(OpenSslSha256Hex(plain)), std::string::npos) << "the dump shows tokens";
  EXPECT_EQ(bytes->find(plain), std::string::npos);
  Open();
  auto auth = access().AuthenticateApiToken(plain, clock_.Now());
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  EXPECT_EQ(auth->team, "main");
  EXPECT_TRUE(access().ListApiTokens("main")->front().last_used_at.has_value());
  EXPECT_EQ(access().AuthenticateApiToken("wrong-token-0123456789", clock_.Now()).status().code(),
            StatusCode::kPermissionDenied);
  ASSERT_TRUE(access().RevokeApiToken(auth->id).ok());
  EXPECT_EQ(access().AuthenticateApiToken(plain, clock_.Now()).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(access().RevokeApiToken(auth->id).code(), StatusCode::kNotFound);
}

TEST_P(AccessStoreConformance, HashingMatchesOpenSslForEveryPaddingLength) {
  for (size_t n = 16; n < 200; n += 7) {
    std::string plain(n, 'a' + static_cast<char>(n % 26));
    auto token = access().CreateApiToken("main", "t" + std::to_string(n), plain, std::nullopt);
    ASSERT_TRUE(token.ok());
    EXPECT_EQ(token->token_sha256, OpenSslSha256Hex(plain)) << n;
  }
}

TEST_P(AccessStoreConformance, AnExpiredTokenIsRefusedAndShortTokensAreRejected) {
  const std::string plain = "expiring-token-0123456789";
  ASSERT_TRUE(
      access().CreateApiToken("main", "t", plain, clock_.Now() + std::chrono::hours(1)).ok());
  EXPECT_TRUE(access().AuthenticateApiToken(plain, clock_.Now()).ok());
  EXPECT_EQ(
      access().AuthenticateApiToken(plain, clock_.Now() + std::chrono::hours(2)).status().code(),
      StatusCode::kPermissionDenied);
  EXPECT_EQ(access().CreateApiToken("main", "t", "short", std::nullopt).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(access()
                .CreateApiToken("ghosts", "t", "ghost-token-0123456789", std::nullopt)
                .status()
                .code(),
            StatusCode::kNotFound);
}

TEST_P(AccessStoreConformance, WorkersAreSavedReplacedAndDeleted) {
  WorkerRecord w{"local", "linux", {"fast"}, 4, "running", clock_.Now(), Json{{"v", 1}}};
  ASSERT_TRUE(access().SaveWorker(w).ok());
  w.state = "landing";
  ASSERT_TRUE(access().SaveWorker(w).ok());
  auto workers = access().ListWorkers();
  ASSERT_EQ(workers->size(), 1u);
  EXPECT_EQ((*workers)[0].state, "landing");
  EXPECT_EQ((*workers)[0].tags, std::vector<std::string>{"fast"});
  EXPECT_EQ((*workers)[0].capacity, 4);
  ASSERT_TRUE(access().DeleteWorker("local").ok());
  EXPECT_EQ(access().DeleteWorker("local").code(), StatusCode::kNotFound);
}

TEST_P(AccessStoreConformance, ARunningWorkerWithoutARecentHeartbeatIsListedAsStalled) {
  WorkerRecord w;
  w.name = "local";
  w.platform = "linux";
  w.state = "running";
  w.last_heartbeat = clock_.Now();
  w.info = {{"version", "1.0"}, {"active_tasks", 2}};
  ASSERT_TRUE(access().SaveWorker(w).ok());
  clock_.Advance(std::chrono::seconds(29));
  auto workers = access().ListWorkers();
  ASSERT_TRUE(workers.ok());
  ASSERT_EQ(workers->size(), 1u);
  EXPECT_EQ((*workers)[0].state, "running");
  EXPECT_EQ((*workers)[0].info.value("active_tasks", 0), 2);
  clock_.Advance(std::chrono::seconds(2));
  EXPECT_EQ(access().ListWorkers()->front().state, "stalled");
  w.last_heartbeat = clock_.Now();  // it beats again
  ASSERT_TRUE(access().SaveWorker(w).ok());
  EXPECT_EQ(access().ListWorkers()->front().state, "running");
}

INSTANTIATE_TEST_SUITE_P(Store, AccessStoreConformance, ::testing::ValuesIn(StoreImplementations()),
                         ImplementationName);

}  // namespace
}  // namespace baton::runner::conformance
