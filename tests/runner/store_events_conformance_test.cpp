// EventLog conformance, run against every implementation: batched background writing, paged
// reads, gap-free following, chunked storage, backpressure.
#include <atomic>
#include <chrono>
#include <mutex>
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

// A log event may be a 64 KiB run of lines: a page is bounded by its payloads' bytes too, and
// a run of lines comes back as it went in.
TEST_P(EventLogConformance, APageStopsOnceItsPayloadsReachTheByteBudget) {
  OpenWithBuild();
  const std::string run = "line 1\nline 2\n\nline 4";
  std::vector<BuildEvent> lines;
  for (int i = 0; i < 10; ++i) lines.push_back(Line(run + std::string(1000 * i, 'x')));
  ASSERT_TRUE(events().AppendEvents(build_, lines).ok());
  ASSERT_TRUE(events().Flush().ok());
  auto page = events().ReadEvents(build_, 0, 100, 2000);
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  ASSERT_EQ(page->size(), 3u) << "22 + 1022 bytes are under 2000; the third reaches it";
  EXPECT_EQ((*page)[0].payload, run);
  page = events().ReadEvents(build_, 3, 100, 1);
  ASSERT_EQ(page->size(), 1u) << "the first event always comes";
  EXPECT_EQ(page->front().seq, 4);
  EXPECT_EQ(events().ReadEvents(build_, 0, 100)->size(), 10u) << "no budget: the count alone";
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

// Runs of nearly a chunk each with a short event between them (a read's last line, cut from its
// run) make a chunk per run, not one more for each short event (W4: 570 chunks instead of 309).
TEST_P(EventLogConformance, AShortEventBetweenLongRunsDoesNotMakeAChunkOfItsOwn) {
  StoreTestOptions options;
  options.event_chunk_bytes = 1024;
  OpenWithBuild(options);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(events().AppendEvents(build_, {Line(std::string(1020, 'a' + i))}).ok());
    ASSERT_TRUE(events().AppendEvents(build_, {Line("short")}).ok());
  }
  ASSERT_TRUE(events().Flush().ok());
  auto rows = backend_->CountRows("build_event_chunks");
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  EXPECT_EQ(*rows, 4) << "[a] [short b] [short c] [short], not six";
  auto read = events().ReadEvents(build_, 0, 100);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), 6u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ((*read)[2 * i].payload, std::string(1020, 'a' + i));
    EXPECT_EQ((*read)[2 * i + 1].payload, "short");
  }
}

// Records what a listener hears.
class RecordingListener final : public BuildEventListener {
 public:
  bool OnEventsAppended(Id, SeqRange seqs) override {
    appended += static_cast<int>(seqs.last - seqs.first + 1);
    return true;
  }
  void OnEventsCommitted(Id, int64_t last_seq) override { committed = last_seq; }
  void OnBuildFinished(Id build_id) override { finished = build_id; }

  std::atomic<int> appended{0};
  std::atomic<int64_t> committed{0};
  std::atomic<Id> finished{0};
};

// A run of log lines (one read of a task's output) is queued as one piece and reads back as one
// "log" event per line, in order with the events appended around it.
TEST_P(EventLogConformance, LogLinesReadBackAsOneEventPerLineInOrder) {
  StoreTestOptions options;
  options.event_chunk_bytes = 1024;  // the run spans several chunks
  OpenWithBuild(options);
  auto listener = std::make_shared<RecordingListener>();
  events().SetBuildEventListener(listener);
  ASSERT_TRUE(events().AppendEvents(build_, {Line("before")}).ok());
  LogLines lines;
  lines.origin = "task:test";
  lines.stream = "stderr";
  lines.time = clock_.Now();
  for (int i = 0; i < 100; ++i) lines.Add("line " + std::to_string(i));
  lines.Add("");  // an empty line is a line
  auto range = events().AppendLogLines(build_, lines);
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ(range->first, 2);
  EXPECT_EQ(range->last, 102);
  ASSERT_TRUE(events().AppendEvents(build_, {Line("after")}).ok());
  EXPECT_EQ(events().AppendLogLines(build_, LogLines{})->first, 0) << "nothing to append";
  ASSERT_TRUE(events().Flush().ok());
  EXPECT_EQ(listener->appended, 103);
  EXPECT_EQ(listener->committed, 103);
  events().SetBuildEventListener(nullptr);
  auto read = events().ReadEvents(build_, 0, 500);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), 103u);
  EXPECT_EQ((*read)[0].payload, "before");
  for (int i = 0; i < 101; ++i) {
    const BuildEvent& e = (*read)[i + 1];
    EXPECT_EQ(e.seq, i + 2);
    EXPECT_EQ(e.type, "log");
    EXPECT_EQ(e.origin, "task:test");
    EXPECT_EQ(e.stream, "stderr");
    EXPECT_EQ(ToUnixMillis(e.time), ToUnixMillis(lines.time));
    EXPECT_EQ(e.payload, i < 100 ? "line " + std::to_string(i) : "");
  }
  EXPECT_EQ((*read)[102].payload, "after");
  EXPECT_EQ((*read)[102].seq, 103);
}

// A run longer than one commit's bound is committed whole, never split or lost.
TEST_P(EventLogConformance, ARunOfLinesLargerThanACommitIsCommittedWhole) {
  OpenWithBuild();
  LogLines lines;
  lines.origin = "task:big";
  lines.stream = "stdout";
  for (int i = 0; i < 40000; ++i) lines.Add(std::to_string(i));
  ASSERT_TRUE(events().AppendLogLines(build_, std::move(lines)).ok());
  ASSERT_TRUE(events().Flush().ok());
  int64_t after = 0;
  while (true) {
    auto page = events().ReadEvents(build_, after, 5000);
    ASSERT_TRUE(page.ok());
    if (page->empty()) break;
    for (const BuildEvent& e : *page) {
      ASSERT_EQ(e.seq, after + 1);
      ASSERT_EQ(e.payload, std::to_string(e.seq - 1));
      after = e.seq;
    }
  }
  EXPECT_EQ(after, 40000);
}

// A log's chunks are kept compressed: 1,000 lines of 100 bytes (~104 KB encoded) take a few KB.
TEST_P(EventLogConformance, LogsAreStoredCompressed) {
  OpenWithBuild();
  std::vector<BuildEvent> lines;
  for (int i = 0; i < 1000; ++i)
    lines.push_back(Line("line " + std::to_string(i) + " " + std::string(90, 'x')));
  ASSERT_TRUE(events().AppendEvents(build_, lines).ok());
  ASSERT_TRUE(events().Flush().ok());
  auto stored = backend_->QueryInt("SELECT coalesce(sum(length(body)), 0) FROM build_event_chunks");
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  EXPECT_GT(*stored, 0);
  EXPECT_LT(*stored, 16 << 10) << "stored bytes of 1000 lines of ~100 bytes";
  auto read = events().ReadEvents(build_, 0, 5000);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), 1000u);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ((*read)[i].payload, "line " + std::to_string(i) + " " + std::string(90, 'x'));
  }
}

// A chunk that compression would not shrink is kept as it is (as every chunk was before logs were
// compressed), and both forms read back in one log.
TEST_P(EventLogConformance, ChunksKeptAsTheyAreAndCompressedOnesReadBackTogether) {
  StoreTestOptions options;
  options.event_chunk_bytes = 4096;  // chunks past 2 KiB, where compression is tried
  OpenWithBuild(options);
  // Lines of random bytes do not compress; repeated ones do.
  std::vector<BuildEvent> lines;
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 80; ++i) {
    std::string text;
    for (int j = 0; j < 60; ++j) {
      x ^= x << 13, x ^= x >> 7, x ^= x << 17;
      text.push_back(static_cast<char>(x & 0xff));
    }
    lines.push_back(Line(text));
  }
  for (int i = 0; i < 120; ++i) lines.push_back(Line(std::string(60, 'z')));
  ASSERT_TRUE(events().AppendEvents(build_, lines).ok());
  ASSERT_TRUE(events().Flush().ok());
  auto raw = backend_->QueryInt(
      "SELECT count(*) FROM build_event_chunks WHERE length(body) > 3500");  // not shrunk
  auto packed = backend_->QueryInt(
      "SELECT count(*) FROM build_event_chunks WHERE length(body) < 200");  // compressed
  ASSERT_TRUE(raw.ok() && packed.ok()) << raw.status().ToString() << packed.status().ToString();
  EXPECT_GE(*raw, 1);
  EXPECT_GE(*packed, 1);
  auto read = events().ReadEvents(build_, 0, 500);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  ASSERT_EQ(read->size(), lines.size());
  for (size_t i = 0; i < lines.size(); ++i) ASSERT_EQ((*read)[i].payload, lines[i].payload) << i;
}

// A damaged compressed chunk is an error naming what is wrong, not a crash or a wrong log.
TEST_P(EventLogConformance, ADamagedCompressedChunkIsAnError) {
  OpenWithBuild();
  std::vector<BuildEvent> lines(500, Line(std::string(100, 'q')));
  ASSERT_TRUE(events().AppendEvents(build_, lines).ok());
  ASSERT_TRUE(events().Flush().ok());
  auto stored = backend_->QueryInt("SELECT sum(length(body)) FROM build_event_chunks");
  ASSERT_TRUE(stored.ok()) << stored.status().ToString();
  ASSERT_LT(*stored, 4096) << "the chunk is stored compressed before it is damaged";
  store_.reset();
  ASSERT_TRUE(backend_->Exec("UPDATE build_event_chunks SET body = substr(body, 1, 12)").ok());
  Open();
  auto read = events().ReadEvents(build_, 0, 1000);
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.status().code(), StatusCode::kIoError);
  EXPECT_NE(read.status().message().find("build event chunk is corrupt"), std::string::npos)
      << read.status().ToString();
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

// Hears which thread commits a build's events; nobody follows them live (no hurry).
class CommitThreadListener final : public BuildEventListener {
 public:
  bool OnEventsAppended(Id, SeqRange) override { return false; }
  void OnEventsCommitted(Id, int64_t last_seq) override {
    std::lock_guard<std::mutex> lock(mu);
    committed = last_seq;
    thread = std::this_thread::get_id();
  }
  void OnBuildFinished(Id) override {}

  std::mutex mu;
  int64_t committed = 0;
  std::thread::id thread;
};

// FinishBuild commits the build's queued events with its own row, on its caller's thread: the
// scheduler does not wait for the writer's thread to wake up (docs/benchmarks.md).
TEST_P(EventLogConformance, FinishingABuildCommitsItsQueuedEventsOnTheCallersThread) {
  StoreTestOptions options;
  options.event_commit_interval = std::chrono::hours(1);  // the writer would wait that long
  OpenWithBuild(options);
  auto listener = std::make_shared<CommitThreadListener>();
  ASSERT_TRUE(events().SetBuildEventListener(listener));
  ASSERT_TRUE(events().AppendEvents(build_, {Line("a"), Line("b")}).ok());
  ASSERT_TRUE(builds().FinishBuild(build_, BuildStatus::kAborted).ok());
  EXPECT_EQ(events().ReadEvents(build_, 0, 10)->size(), 2u);
  {
    std::lock_guard<std::mutex> lock(listener->mu);
    EXPECT_EQ(listener->committed, 2);
    EXPECT_EQ(listener->thread, std::this_thread::get_id());
  }
  // A build that cannot finish (finished already) still leaves the events queued meanwhile.
  auto other = builds().CreateOneOffBuild("main", 0, Json::object());
  ASSERT_TRUE(events().AppendEvents(other->id, {Line("c")}).ok());
  EXPECT_EQ(builds().FinishBuild(build_, BuildStatus::kAborted).status().code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ(events().ReadEvents(other->id, 0, 10)->size(), 1u);
  events().SetBuildEventListener(nullptr);
}

// Builds finishing (their events committed on the finishing thread) while another build's
// events stream through the writer's thread: every build's events read back whole and in order.
TEST_P(EventLogConformance, BuildsFinishingWhileTheWriterCommitsLoseAndReorderNothing) {
  StoreTestOptions options;
  options.event_commit_interval = std::chrono::milliseconds(1);
  OpenWithBuild(options);
  constexpr int kStreamed = 3000;
  std::thread writer([&] {
    for (int i = 1; i <= kStreamed; ++i) {
      ASSERT_TRUE(events().AppendEvents(build_, {Line(std::to_string(i))}).ok());
    }
  });
  std::vector<Id> finished;
  for (int b = 0; b < 40; ++b) {
    auto build = builds().CreateOneOffBuild("main", 0, Json::object());
    ASSERT_TRUE(build.ok());
    for (int i = 1; i <= 5; ++i) {
      ASSERT_TRUE(events().AppendEvents(build->id, {Line(std::to_string(i))}).ok());
    }
    ASSERT_TRUE(builds().FinishBuild(build->id, BuildStatus::kAborted).ok());
    finished.push_back(build->id);
  }
  writer.join();
  ASSERT_TRUE(events().Flush().ok());
  for (Id id : finished) {
    auto read = events().ReadEvents(id, 0, 10);
    ASSERT_EQ(read->size(), 5u) << "build " << id;
    for (int i = 0; i < 5; ++i) EXPECT_EQ((*read)[i].payload, std::to_string(i + 1));
  }
  int64_t after = 0;
  while (after < kStreamed) {
    auto page = events().ReadEvents(build_, after, 1000);
    ASSERT_TRUE(page.ok() && !page->empty()) << "stopped after " << after;
    for (const BuildEvent& e : *page) {
      ASSERT_EQ(e.seq, after + 1);
      ASSERT_EQ(e.payload, std::to_string(e.seq));
      after = e.seq;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Store, EventLogConformance, ::testing::ValuesIn(StoreImplementations()),
                         ImplementationName);

}  // namespace
}  // namespace baton::runner::conformance
