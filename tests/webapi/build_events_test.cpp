// Live build events over /api/v1/builds/:id/events against a real SqliteStore: the store
// announces appended events, so a follower gets them at once (no polling tick, no wait for the
// event writer's commit), bursts larger than the live tail arrive complete, and resuming with
// Last-Event-ID has no gaps.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "baton/common/clock.h"
#include "baton/net/http_client.h"
#include "baton/runner/scheduler.h"
#include "baton/runner/sqlite_store.h"
#include "baton/webapi/api.h"
#include "baton/webapi/http_server.h"
#include "fakes/scripted_worker.h"
#include "fakes/test_env.h"

namespace baton::webapi {
namespace {
using net::ClientOptions;
using net::HttpClient;
using net::SseEvent;

using runner::BuildEvent;
using Steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr const char* kToken = "0123456789abcdef0123456789abcdef";

// What one follower received: seqs in arrival order, with the arrival time of each.
class Follower {
 public:
  Follower(const std::string& url, std::string last_event_id = "", int64_t stop_after = 0)
      : thread_([this, url, last_event_id, stop_after] { Run(url, last_event_id, stop_after); }) {}
  ~Follower() { thread_.join(); }

  // Waits until seq `seq` arrived; its arrival time, or nullopt at the deadline.
  std::optional<Steady::time_point> WaitFor(int64_t seq,
                                            milliseconds deadline = milliseconds(10000)) {
    std::unique_lock lock(mutex_);
    bool got = cv_.wait_for(lock, deadline, [&] { return arrived_.count(seq) > 0; });
    if (!got) return std::nullopt;
    return arrived_[seq];
  }
  // Waits until the stream has ended; false at the deadline.
  bool WaitForEnd(milliseconds deadline) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, deadline, [&] { return ended_; });
  }
  std::vector<int64_t> seqs() {
    std::lock_guard lock(mutex_);
    return seqs_;
  }
  Status status() {
    std::lock_guard lock(mutex_);
    return status_;
  }

 private:
  void Run(const std::string& url, const std::string& last_event_id, int64_t stop_after) {
    HttpClient client(ClientOptions{});
    Headers headers;
    headers.Set("Authorization", std::string("Bearer ") + kToken);
    if (!last_event_id.empty()) headers.Set("Last-Event-ID", last_event_id);
    Status s = client.StreamEvents(url, headers, [&](const SseEvent& e) {
      int64_t seq = std::stoll(e.id);
      std::lock_guard lock(mutex_);
      seqs_.push_back(seq);
      arrived_[seq] = Steady::now();
      cv_.notify_all();
      return stop_after == 0 || seq < stop_after;
    });
    std::lock_guard lock(mutex_);
    status_ = s;
    ended_ = true;
    cv_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<int64_t> seqs_;                      // GUARDED_BY(mutex_)
  std::map<int64_t, Steady::time_point> arrived_;  // GUARDED_BY(mutex_)
  bool ended_ = false;                             // GUARDED_BY(mutex_)
  Status status_;                                  // GUARDED_BY(mutex_)
  std::thread thread_;
};

class BuildEventsApi : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = runner::SqliteStore::Open(dir_ / "baton.db", RealClock());
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    ASSERT_TRUE(store_->CreateApiToken("main", "test", kToken, std::nullopt).ok());
    runner::SchedulerOptions options;
    options.data_dir = (dir_ / "data").string();
    options.periodic_checks = false;
    scheduler_ = std::make_unique<runner::Scheduler>(
        io_, runner::SchedulerStores{*store_, *store_, *store_}, worker_, options);
    server_ =
        std::make_unique<HttpServer>(MakeApiRouter(io_, *store_, *scheduler_, {}), ServerOptions{});
    ASSERT_TRUE(server_->Start().ok());
    auto build = store_->CreateOneOffBuild("main", 0, Json::object());
    ASSERT_TRUE(build.ok());
    build_id_ = build->id;
    ASSERT_TRUE(store_->StartBuild(build_id_).ok());
  }

  void TearDown() override {
    if (server_) server_->Stop();
  }

  std::string EventsUrl() const {
    return server_->base_url() + "/api/v1/builds/" + std::to_string(build_id_) + "/events";
  }

  // Appends `count` log lines as one call, as the build recorder does; returns the last seq.
  int64_t AppendLines(int count, const std::string& text = "a line of output") {
    std::vector<BuildEvent> events;
    for (int i = 0; i < count; ++i) events.push_back({0, {}, "s1", "log", "stdout", text});
    auto range = store_->AppendEvents(build_id_, std::move(events));
    EXPECT_TRUE(range.ok());
    return range.ok() ? range->last : 0;
  }

  testing::TempDir dir_;
  boost::asio::io_context io_;
  testing::ScriptedWorker worker_;
  std::unique_ptr<runner::SqliteStore> store_;
  std::unique_ptr<runner::Scheduler> scheduler_;
  std::unique_ptr<HttpServer> server_;
  runner::Id build_id_ = 0;
};

TEST_F(BuildEventsApi, AnAppendedEventReachesAFollowerInFarLessThanAPollingTick) {
  Follower follower(EventsUrl());
  ASSERT_TRUE(follower.WaitFor(AppendLines(1)));  // the stream is live
  std::vector<double> latencies_ms;
  for (int i = 0; i < 30; ++i) {
    Steady::time_point sent = Steady::now();
    int64_t seq = AppendLines(1);
    auto arrived = follower.WaitFor(seq);
    ASSERT_TRUE(arrived) << "event " << seq << " never arrived";
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(*arrived - sent).count());
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  double median = latencies_ms[latencies_ms.size() / 2];
  std::printf("append -> follower: median %.2f ms, max %.2f ms\n", median, latencies_ms.back());
  // Polling would cost the 25 ms tick plus the event writer's ~50 ms commit interval.
  EXPECT_LT(median, 5.0);

  Steady::time_point finish = Steady::now();
  ASSERT_TRUE(store_->FinishBuild(build_id_, runner::BuildStatus::kSucceeded).ok());
  ASSERT_TRUE(follower.WaitForEnd(milliseconds(5000)));
  double end_ms = std::chrono::duration<double, std::milli>(Steady::now() - finish).count();
  EXPECT_LT(end_ms, 20.0) << "the stream ended " << end_ms << " ms after the build finished";
  EXPECT_TRUE(follower.status().ok()) << follower.status().ToString();
}

TEST_F(BuildEventsApi, ABurstLargerThanTheLiveTailArrivesCompleteInOrderWithoutDuplicates) {
  Follower follower(EventsUrl());
  ASSERT_TRUE(follower.WaitFor(AppendLines(1)));
  int64_t last = 0;
  for (int i = 0; i < 300; ++i) last = AppendLines(100, std::string(100, 'x'));  // ~3 MB
  ASSERT_TRUE(store_->FinishBuild(build_id_, runner::BuildStatus::kSucceeded).ok());
  ASSERT_TRUE(follower.WaitForEnd(milliseconds(30000)));
  std::vector<int64_t> seqs = follower.seqs();
  ASSERT_EQ(seqs.size(), static_cast<size_t>(last));
  for (size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], static_cast<int64_t>(i) + 1);
}

// Followers of one build share the formatted frames (BuildFrames); ~5 MB of frames is more than
// the 4 MiB kept, so a follower that comes after the end reads the oldest part on its own.
TEST_F(BuildEventsApi, TenFollowersAndALateOneEachGetEveryEventOnceInOrder) {
  std::vector<std::unique_ptr<Follower>> followers;
  for (int i = 0; i < 10; ++i) followers.push_back(std::make_unique<Follower>(EventsUrl()));
  int64_t last = AppendLines(1);
  for (auto& f : followers) ASSERT_TRUE(f->WaitFor(last));  // all ten are live
  for (int i = 0; i < 300; ++i) last = AppendLines(100, std::string(100, 'a' + i % 26));
  ASSERT_TRUE(store_->FinishBuild(build_id_, runner::BuildStatus::kSucceeded).ok());
  followers.push_back(std::make_unique<Follower>(EventsUrl()));  // after the build's end
  for (size_t f = 0; f < followers.size(); ++f) {
    ASSERT_TRUE(followers[f]->WaitForEnd(milliseconds(60000))) << "follower " << f;
    EXPECT_TRUE(followers[f]->status().ok()) << followers[f]->status().ToString();
    std::vector<int64_t> seqs = followers[f]->seqs();
    ASSERT_EQ(seqs.size(), static_cast<size_t>(last)) << "follower " << f;
    for (size_t i = 0; i < seqs.size(); ++i) {
      ASSERT_EQ(seqs[i], static_cast<int64_t>(i) + 1) << "follower " << f;
    }
  }
}

TEST_F(BuildEventsApi, ResumingWithLastEventIdContinuesWithoutGapsFromCommittedAndLiveEvents) {
  int64_t first = AppendLines(50);
  {
    Follower leaves_early(EventsUrl(), "", /*stop_after=*/20);
    ASSERT_TRUE(leaves_early.WaitForEnd(milliseconds(10000)));
    ASSERT_EQ(leaves_early.seqs().back(), 20);
  }
  Follower resumed(EventsUrl(), "20");
  ASSERT_TRUE(resumed.WaitFor(first));
  int64_t last = AppendLines(30);  // live, before the writer commits them
  ASSERT_TRUE(resumed.WaitFor(last));
  ASSERT_TRUE(store_->FinishBuild(build_id_, runner::BuildStatus::kFailed).ok());
  ASSERT_TRUE(resumed.WaitForEnd(milliseconds(10000)));
  std::vector<int64_t> seqs = resumed.seqs();
  ASSERT_EQ(seqs.size(), static_cast<size_t>(last - 20));
  for (size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], static_cast<int64_t>(i) + 21);
}

}  // namespace
}  // namespace baton::webapi
