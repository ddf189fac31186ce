// EventLog conformance, run against every implementation: batched background writing, paged
// reads, gap-free following, chunked storage, backpressure.
#include <atomic>
#include <chrono>
#include <thread>

#include "store_conformance.h"

namespace baton::runner::conformance {
namespace {

class EventLogConformance : public StoreConformanceTest {
 protected:
  void OpenWithBuild(const StoreTestOptions& options = {}) {
    Open(options);
    auto build = builds().CreateOneOffBuild("main", 0, Json::object());
    ASSERT_TRUE(build.ok()) << build.status().ToString();
    build_ = build->id;
  }

  Id build_ = 0;
};

TEST_P(EventLogConformance, EventsComeBackInOrderWithEveryField) {
  OpenWithBuild();
  BuildEvent status{0, {}, "", "status", "", R"({"status":"started"})"};
  auto range = events().AppendEvents(build_, {status, Line("hello"), Line("oops", "stderr")});
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ(range->first, 1);
  EXPECT_EQ(range->last, 3);
  ASSERT_TRUE(events().Flush().ok());
  auto read = events().ReadEvents(build_, 0, 100);
  ASSERT_EQ(read->size(), 3u);
  EXPECT_EQ((*read)[0].type, "status");
  EXPECT_EQ((*read)[0].payload, R"({"status":"started"})");
  EXPECT_EQ((*read)[1].origin, "task:compile");
  EXPECT_EQ((*read)[1].payload, "hello");
  EXPECT_EQ((*read)[2].stream, "stderr");
  EXPECT_EQ((*read)[2].seq, 3);
  EXPECT_EQ(ToUnixMillis((*read)[2].time), ToUnixMillis(clock_.Now()));
}

TEST_P(EventLogConformance, EventsAreCommittedByTheBackgroundWriterWithoutAFlush) {
  OpenWithBuild();
  ASSERT_TRUE(events().AppendEvents(build_, {Line("a")}).ok());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  size_t seen = 0;
  while (seen == 0 && std::chrono::steady_clock::now() < deadline) {
    seen = events().ReadEvents(build_, 0, 10)->size();
    if (seen == 0) std::this_thread::yield();
  }
  EXPECT_EQ(seen, 1u);
}

TEST_P(EventLogConformance, ReadingFromASeqResumesExactlyThere) {
  OpenWithBuild();
  std::vector<BuildEvent> lines;
  for (int i = 1; i <= 1000; ++i) lines.push_back(Line("line " + std::to_string(i)));
  ASSERT_TRUE(events().AppendEvents(build_, lines).ok());
  ASSERT_TRUE(events().Flush().ok());
  int64_t after = 0;
  int pages = 0;
  while (true) {
    auto page = events().ReadEvents(build_, after, 300);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    for (const BuildEvent& e : *page) {
      ASSERT_EQ(e.seq, after + 1);
      ASSERT_EQ(e.payload, "line " + std::to_string(e.seq));
      after = e.seq;
    }
    ++pages;
  }
  EXPECT_EQ(after, 1000);
  EXPECT_EQ(pages, 4);
  EXPECT_EQ(events().ReadEvents(build_, 0, 0).status().code(), StatusCode::kInvalidArgument);
}

TEST_P(EventLogConformance, SeqsContinueAfterReopening) {
  OpenWithBuild();
  ASSERT_TRUE(events().AppendEvents(build_, {Line("a"), Line("b")}).ok());
  Open();  // closing commits what is queued
  auto range = events().AppendEvents(build_, {Line("c")});
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ(range->first, 3);
  ASSERT_TRUE(events().Flush().ok());
  EXPECT_EQ(events().ReadEvents(build_, 0, 10)->size(), 3u);
}

TEST_P(EventLogConformance, AppendingToAnUnknownBuildIsNotFound) {
  OpenWithBuild();
  EXPECT_EQ(events().AppendEvents(424242, {Line("x")}).status().code(), StatusCode::kNotFound);
}

TEST_P(EventLogConformance, LogsArePackedIntoChunksOfAboutTheChunkSize) {
  StoreTestOptions options;
  options.event_chunk_bytes = 4096;
  OpenWithBuild(options);
  std::string text(100, 'x');
  for (int i = 0; i < 20; ++i) {
    std::vector<BuildEvent> batch(50, Line(text));
    ASSERT_TRUE(events().AppendEvents(build_, batch).ok());
    ASSERT_TRUE(events().Flush().ok());  // many small commits still fill chunks
  }
  // 1000 lines * ~103 bytes = ~103 KB -> ~26 chunks of 4 KiB.
  auto rows = backend_->CountRows("build_event_chunks");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_GE(*rows, 24);
  EXPECT_LE(*rows, 30);
  EXPECT_EQ(events().ReadEvents(build_, 0, 5000)->size(), 1000u);
}

TEST_P(EventLogConformance, AFullQueueHoldsBackTheProducerButLosesNothing) {
  StoreTestOptions options;
  options.event_queue_max_bytes = 16 << 10;  // a few hundred events
  OpenWithBuild(options);
  std::thread producer([&] {
    for (int i = 0; i < 100; ++i) {
      std::vector<BuildEvent> batch(100, Line(std::string(80, 'y')));
      EXPECT_TRUE(events().AppendEvents(build_, batch).ok());
    }
  });
  producer.join();
  ASSERT_TRUE(events().Flush().ok());
  EXPECT_EQ(events().ReadEvents(build_, 0, 20000)->size(), 10000u);
}

TEST_P(EventLogConformance, AFollowerReadingWhileTheWriterAppendsNeverSeesAGap) {
  StoreTestOptions options;
  options.event_commit_interval = std::chrono::milliseconds(5);
  options.event_chunk_bytes = 2048;
  OpenWithBuild(options);
  constexpr int kTotal = 20000;
  std::thread writer([&] {
    for (int i = 0; i < kTotal; i += 100) {
      std::vector<BuildEvent> batch;
      for (int j = i; j < i + 100; ++j) batch.push_back(Line(std::to_string(j + 1)));
      ASSERT_TRUE(events().AppendEvents(build_, batch).ok());
    }
    ASSERT_TRUE(events().Flush().ok());
  });
  int64_t after = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (after < kTotal && std::chrono::steady_clock::now() < deadline) {
    auto page = events().ReadEvents(build_, after, 500);
    ASSERT_TRUE(page.ok());
    for (const BuildEvent& e : *page) {
      ASSERT_EQ(e.seq, after + 1) << "gap after " << after;
      ASSERT_EQ(e.payload, std::to_string(e.seq));
      after = e.seq;
    }
    if (page->empty()) std::this_thread::sleep_for(std::chrono::milliseconds(1));  // poll
  }
  writer.join();
  EXPECT_EQ(after, kTotal);
}

// A listener hears appends before they are readable, commits, and the build's end.
class RecordingListener final : public BuildEventListener {
 public:
  bool OnEventsAppended(Id, const std::vector<BuildEvent>& events) override {
    appended += static_cast<int>(events.size());
    return true;
  }
  void OnEventsCommitted(Id, int64_t last_seq) override { committed = last_seq; }
  void OnBuildFinished(Id build_id) override { finished = build_id; }

  std::atomic<int> appended{0};
  std::atomic<int64_t> committed{0};
  std::atomic<Id> finished{0};
};

TEST_P(EventLogConformance, AListenerHearsAppendsCommitsAndTheEnd) {
  OpenWithBuild();
  auto listener = std::make_shared<RecordingListener>();
  ASSERT_TRUE(events().SetBuildEventListener(listener))
      << GetParam().name << " must announce events (SSE followers rely on it)";
  ASSERT_TRUE(events().AppendEvents(build_, {Line("a"), Line("b")}).ok());
  ASSERT_TRUE(events().Flush().ok());
  EXPECT_EQ(listener->appended, 2);
  EXPECT_EQ(listener->committed, 2);
  ASSERT_TRUE(builds().FinishBuild(build_, BuildStatus::kAborted).ok());
  EXPECT_EQ(listener->finished, build_);
  events().SetBuildEventListener(nullptr);
}

INSTANTIATE_TEST_SUITE_P(Store, EventLogConformance, ::testing::ValuesIn(StoreImplementations()),
                         ImplementationName);

}  // namespace
}  // namespace baton::runner::conformance
