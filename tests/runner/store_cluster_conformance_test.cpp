// ClusterStore conformance (cluster_store.h), run against every implementation: leases held by
// one node until they expire, nodes and their heartbeats. Two stores opened on one database
// stand for two web nodes.
#include <condition_variable>
#include <mutex>

#include "baton/runner/cluster_store.h"
#include "store_conformance.h"

namespace baton::runner::conformance {
namespace {

using std::chrono::milliseconds;

class ClusterStoreConformance : public StoreConformanceTest {
 protected:
  void SetUp() override {
    StoreConformanceTest::SetUp();
    Open();
    auto other = backend_->Open(clock_, {});
    ASSERT_TRUE(other.ok()) << other.status().ToString();
    other_ = std::move(*other);
  }
  void TearDown() override {
    other_.reset();
    StoreConformanceTest::TearDown();
  }
  ClusterStore& node_a() { return dynamic_cast<ClusterStore&>(*store_); }
  ClusterStore& node_b() { return dynamic_cast<ClusterStore&>(*other_); }

  static constexpr milliseconds kTtl{10000};
  std::unique_ptr<Store> other_;
};

TEST_P(ClusterStoreConformance, ALeaseIsHeldByOneNodeUntilItExpires) {
  EXPECT_EQ(*node_a().AcquireLease("scheduler", "a", clock_.Now(), kTtl), "a");
  EXPECT_EQ(*node_b().AcquireLease("scheduler", "b", clock_.Now(), kTtl), "a");
  clock_.Advance(milliseconds(9000));
  EXPECT_EQ(*node_b().AcquireLease("scheduler", "b", clock_.Now(), kTtl), "a") << "not expired";
  EXPECT_EQ(*node_a().AcquireLease("scheduler", "a", clock_.Now(), kTtl), "a") << "renewed";
  clock_.Advance(milliseconds(9000));
  EXPECT_EQ(*node_b().AcquireLease("scheduler", "b", clock_.Now(), kTtl), "a")
      << "the renewal counts from when it was made";
  clock_.Advance(milliseconds(1001));
  EXPECT_EQ(*node_b().AcquireLease("scheduler", "b", clock_.Now(), kTtl), "b") << "expired";
  EXPECT_EQ(*node_a().AcquireLease("scheduler", "a", clock_.Now(), kTtl), "b")
      << "the old holder learns it lost the lease";
  EXPECT_EQ(*node_a().AcquireLease("other-lease", "a", clock_.Now(), kTtl), "a")
      << "leases are independent";
}

TEST_P(ClusterStoreConformance, AReleasedLeaseIsFreeAtOnceButOnlyItsHolderReleasesIt) {
  ASSERT_EQ(*node_a().AcquireLease("scheduler", "a", clock_.Now(), kTtl), "a");
  ASSERT_TRUE(node_b().ReleaseLease("scheduler", "b").ok());
  EXPECT_EQ(*node_b().AcquireLease("scheduler", "b", clock_.Now(), kTtl), "a");
  ASSERT_TRUE(node_a().ReleaseLease("scheduler", "a").ok());
  EXPECT_EQ(*node_b().AcquireLease("scheduler", "b", clock_.Now(), kTtl), "b");
  EXPECT_EQ(node_a().AcquireLease("", "a", clock_.Now(), kTtl).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(ClusterStoreConformance, NodesAreListedWhenSeenSinceAndKeepWhenTheyStarted) {
  const SystemTime t0 = clock_.Now();
  ASSERT_TRUE(node_a().HeartbeatNode({"a", "http://a:1", {}, {}}, t0).ok());
  clock_.Advance(std::chrono::seconds(10));
  ASSERT_TRUE(node_b().HeartbeatNode({"b", "http://b:1", {}, {}}, clock_.Now()).ok());
  ASSERT_TRUE(node_a().HeartbeatNode({"a", "http://a:2", {}, {}}, clock_.Now()).ok());
  auto both = node_b().ListNodes(t0);
  ASSERT_TRUE(both.ok()) << both.status().ToString();
  ASSERT_EQ(both->size(), 2u);
  EXPECT_EQ((*both)[0].name, "a");
  EXPECT_EQ((*both)[0].url, "http://a:2");
  EXPECT_EQ((*both)[0].started_at, t0);
  EXPECT_EQ((*both)[0].last_seen, clock_.Now());
  clock_.Advance(std::chrono::seconds(10));
  ASSERT_TRUE(node_b().HeartbeatNode({"b", "http://b:1", {}, {}}, clock_.Now()).ok());
  auto recent = node_a().ListNodes(clock_.Now() - std::chrono::seconds(5));
  ASSERT_EQ(recent->size(), 1u);
  EXPECT_EQ((*recent)[0].name, "b");
  ASSERT_TRUE(node_a().RemoveNode("b").ok());
  EXPECT_TRUE(node_a().ListNodes(t0)->size() == 1u);
  EXPECT_EQ(node_a().HeartbeatNode({"", "", {}, {}}, t0).code(), StatusCode::kInvalidArgument);
}

TEST_P(ClusterStoreConformance, APublishedMessageReachesThisStoresSubscriber) {
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> heard;
  ASSERT_TRUE(node_a()
                  .Subscribe([&](const std::string& payload) {
                    std::lock_guard lock(mu);
                    heard.push_back(payload);
                    cv.notify_all();
                  })
                  .ok());
  ASSERT_TRUE(node_a().Publish(R"({"kind":"paused","pipeline_id":3})").ok());
  std::unique_lock lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return !heard.empty(); }));
  EXPECT_EQ(heard[0], R"({"kind":"paused","pipeline_id":3})");
}

INSTANTIATE_TEST_SUITE_P(Store, ClusterStoreConformance,
                         ::testing::ValuesIn(StoreImplementations()), ImplementationName);

}  // namespace
}  // namespace baton::runner::conformance
