// SqliteStore: artifacts index, workers, webhook deliveries, API tokens.
#include <gtest/gtest.h>
#include <openssl/sha.h>

#include "baton/common/strings.h"
#include "baton/runner/sqlite_store.h"
#include "fakes/fake_clock.h"
#include "fakes/test_env.h"

namespace baton::runner {
namespace {

using testing::FakeClock;
using testing::TempDir;

std::string OpenSslSha256Hex(const std::string& text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  return HexEncode(std::string(reinterpret_cast<char*>(digest), sizeof digest));
}

class StoreAdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::Open(db_, clock_);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }
  TempDir dir_;
  std::filesystem::path db_ = dir_ / "baton.db";
  FakeClock clock_;
  std::unique_ptr<SqliteStore> store_;
};

TEST_F(StoreAdminTest, AWebhookDeliveryIsRecordedOnlyOnce) {
  WebhookDelivery d{0, "github", "abc-123", clock_.Now(), "accepted", "ff00"};
  EXPECT_TRUE(*store_->RecordWebhookDelivery(d));
  EXPECT_FALSE(*store_->RecordWebhookDelivery(d));
  d.provider = "gitlab";
  EXPECT_TRUE(*store_->RecordWebhookDelivery(d));
  ASSERT_TRUE(store_->SetWebhookDeliveryStatus("github", "abc-123", "rejected").ok());
  auto list = store_->ListWebhookDeliveries(10);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[1].status, "rejected");
  EXPECT_EQ(store_->SetWebhookDeliveryStatus("github", "nope", "x").code(), StatusCode::kNotFound);
}

TEST_F(StoreAdminTest, TokensAreStoredOnlyAsTheirSha256) {
  const std::string plain = "s3cret-token-0123456789";
  auto token = store_->CreateApiToken("main", "ci", plain, std::nullopt);
  ASSERT_TRUE(token.ok()) << token.status().ToString();
  EXPECT_EQ(token->token_sha256, OpenSslSha256Hex(plain));
  store_.reset();
  std::string bytes = testing::ReadFile(db_);
  EXPECT_EQ(bytes.find(plain), std::string::npos);
  store_ = SqliteStore::Open(db_, clock_).value();
  auto auth = store_->AuthenticateApiToken(plain, clock_.Now());
  ASSERT_TRUE(auth.ok()) << auth.status().ToString();
  EXPECT_EQ(auth->team, "main");
  EXPECT_TRUE(store_->ListApiTokens("main")->front().last_used_at.has_value());
  EXPECT_EQ(store_->AuthenticateApiToken("wrong-token-0123456789", clock_.Now()).status().code(),
            StatusCode::kPermissionDenied);
  ASSERT_TRUE(store_->RevokeApiToken(auth->id).ok());
  EXPECT_EQ(store_->AuthenticateApiToken(plain, clock_.Now()).status().code(),
            StatusCode::kPermissionDenied);
}

TEST_F(StoreAdminTest, HashingMatchesOpenSslForEveryPaddingLength) {
  for (size_t n = 16; n < 200; n += 7) {
    std::string plain(n, 'a' + static_cast<char>(n % 26));
    auto token = store_->CreateApiToken("main", "t" + std::to_string(n), plain, std::nullopt);
    ASSERT_TRUE(token.ok());
    EXPECT_EQ(token->token_sha256, OpenSslSha256Hex(plain)) << n;
  }
}

TEST_F(StoreAdminTest, AnExpiredTokenIsRefusedAndShortTokensAreRejected) {
  const std::string plain = "expiring-token-0123456789";
  ASSERT_TRUE(
      store_->CreateApiToken("main", "t", plain, clock_.Now() + std::chrono::hours(1)).ok());
  EXPECT_TRUE(store_->AuthenticateApiToken(plain, clock_.Now()).ok());
  EXPECT_EQ(
      store_->AuthenticateApiToken(plain, clock_.Now() + std::chrono::hours(2)).status().code(),
      StatusCode::kPermissionDenied);
  EXPECT_EQ(store_->CreateApiToken("main", "t", "short", std::nullopt).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(StoreAdminTest, WorkersAreSavedReplacedAndDeleted) {
  WorkerRecord w{"local", "linux", {"fast"}, 4, "running", clock_.Now(), Json{{"v", 1}}};
  ASSERT_TRUE(store_->SaveWorker(w).ok());
  w.state = "landing";
  ASSERT_TRUE(store_->SaveWorker(w).ok());
  auto workers = store_->ListWorkers();
  ASSERT_EQ(workers->size(), 1u);
  EXPECT_EQ((*workers)[0].state, "landing");
  EXPECT_EQ((*workers)[0].tags, std::vector<std::string>{"fast"});
  ASSERT_TRUE(store_->DeleteWorker("local").ok());
  EXPECT_EQ(store_->DeleteWorker("local").code(), StatusCode::kNotFound);
}

TEST_F(StoreAdminTest, ArtifactsAreIndexedPerBuild) {
  auto build = store_->CreateOneOffBuild("main", 0, {});
  ASSERT_TRUE(store_->RecordArtifact(build->id, "bin", "sha256:01", 42).ok());
  EXPECT_EQ(store_->RecordArtifact(build->id, "bin", "sha256:02", 1).status().code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(store_->RecordArtifact(9999, "x", "sha256:03", 1).status().code(),
            StatusCode::kNotFound);
  auto list = store_->ListArtifacts(build->id);
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].size, 42);
  EXPECT_TRUE(*store_->IsDigestReferenced("sha256:01"));
  EXPECT_FALSE(*store_->IsDigestReferenced("sha256:03"));
}

}  // namespace
}  // namespace baton::runner
