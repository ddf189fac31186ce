// SqliteStore build events: batched background writing, paged reads, gap-free following, and
// the W4 measurement (200,000 log lines).
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "baton/runner/sqlite_store.h"
#include "fakes/fake_clock.h"
#include "fakes/test_env.h"

namespace baton::runner {
namespace {

using testing::FakeClock;
using testing::TempDir;

BuildEvent Line(const std::string& text, const std::string& stream = "stdout") {
  return BuildEvent{0, {}, "task:compile", "log", stream, text};
}

int64_t CountRows(const std::filesystem::path& db, const std::string& table) {
  sqlite3* conn = nullptr;
  sqlite3_open_v2(db.c_str(), &conn, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(conn, ("SELECT count(*) FROM " + table).c_str(), -1, &stmt, nullptr);
  sqlite3_step(stmt);
  int64_t n = sqlite3_column_int64(stmt, 0);
  sqlite3_finalize(stmt);
  sqlite3_close(conn);
  return n;
}

class StoreEventsTest : public ::testing::Test {
 protected:
  void Open(SqliteStoreOptions options = {}) {
    auto store = SqliteStore::Open(db_, clock_, options);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto build = store_->CreateOneOffBuild("main", 0, Json::object());
    ASSERT_TRUE(build.ok());
    build_ = build->id;
  }

  TempDir dir_;
  std::filesystem::path db_ = dir_ / "baton.db";
  FakeClock clock_;
  std::unique_ptr<SqliteStore> store_;
  Id build_ = 0;
};

TEST_F(StoreEventsTest, EventsComeBackInOrderWithEveryField) {
  Open();
  BuildEvent status{0, {}, "", "status", "", R"({"status":"started"})"};
  auto range = store_->AppendEvents(build_, {status, Line("hello"), Line("oops", "stderr")});
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ(range->first, 1);
  EXPECT_EQ(range->last, 3);
  ASSERT_TRUE(store_->Flush().ok());
  auto events = store_->ReadEvents(build_, 0, 100);
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[0].type, "status");
  EXPECT_EQ((*events)[0].payload, R"({"status":"started"})");
  EXPECT_EQ((*events)[1].origin, "task:compile");
  EXPECT_EQ((*events)[1].payload, "hello");
  EXPECT_EQ((*events)[2].stream, "stderr");
  EXPECT_EQ((*events)[2].seq, 3);
  EXPECT_EQ(ToUnixMillis((*events)[2].time), ToUnixMillis(clock_.Now()));
}

TEST_F(StoreEventsTest, EventsAreCommittedByTheBackgroundWriterWithoutAFlush) {
  Open();
  ASSERT_TRUE(store_->AppendEvents(build_, {Line("a")}).ok());
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  size_t seen = 0;
  while (seen == 0 && std::chrono::steady_clock::now() < deadline) {
    seen = store_->ReadEvents(build_, 0, 10)->size();
    if (seen == 0) std::this_thread::yield();
  }
  EXPECT_EQ(seen, 1u);
}

TEST_F(StoreEventsTest, ReadingFromASeqResumesExactlyThere) {
  Open();
  std::vector<BuildEvent> lines;
  for (int i = 1; i <= 1000; ++i) lines.push_back(Line("line " + std::to_string(i)));
  ASSERT_TRUE(store_->AppendEvents(build_, lines).ok());
  ASSERT_TRUE(store_->Flush().ok());
  int64_t after = 0;
  int pages = 0;
  while (true) {
    auto page = store_->ReadEvents(build_, after, 300);
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
  EXPECT_EQ(store_->ReadEvents(build_, 0, 0).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(StoreEventsTest, SeqsContinueAfterReopening) {
  Open();
  ASSERT_TRUE(store_->AppendEvents(build_, {Line("a"), Line("b")}).ok());
  store_.reset();  // the destructor commits what is queued
  auto again = SqliteStore::Open(db_, clock_);
  ASSERT_TRUE(again.ok());
  auto range = (*again)->AppendEvents(build_, {Line("c")});
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->first, 3);
  ASSERT_TRUE((*again)->Flush().ok());
  EXPECT_EQ((*again)->ReadEvents(build_, 0, 10)->size(), 3u);
}

TEST_F(StoreEventsTest, AppendingToAnUnknownBuildIsNotFound) {
  Open();
  EXPECT_EQ(store_->AppendEvents(424242, {Line("x")}).status().code(), StatusCode::kNotFound);
}

TEST_F(StoreEventsTest, LogsArePackedIntoChunksOfAboutTheChunkSize) {
  SqliteStoreOptions options;
  options.event_chunk_bytes = 4096;
  Open(options);
  std::string text(100, 'x');
  for (int i = 0; i < 20; ++i) {
    std::vector<BuildEvent> batch(50, Line(text));
    ASSERT_TRUE(store_->AppendEvents(build_, batch).ok());
    ASSERT_TRUE(store_->Flush().ok());  // many small commits still fill chunks
  }
  // 1000 lines * ~103 bytes = ~103 KB -> ~26 chunks of 4 KiB.
  int64_t rows = CountRows(db_, "build_event_chunks");
  EXPECT_GE(rows, 24);
  EXPECT_LE(rows, 30);
  EXPECT_EQ(store_->ReadEvents(build_, 0, 5000)->size(), 1000u);
}

TEST_F(StoreEventsTest, AFullQueueHoldsBackTheProducerButLosesNothing) {
  SqliteStoreOptions options;
  options.event_queue_max_bytes = 16 << 10;  // a few hundred events
  Open(options);
  std::atomic<bool> done{false};
  std::thread producer([&] {
    for (int i = 0; i < 100; ++i) {
      std::vector<BuildEvent> batch(100, Line(std::string(80, 'y')));
      EXPECT_TRUE(store_->AppendEvents(build_, batch).ok());
    }
    done = true;
  });
  producer.join();
  ASSERT_TRUE(store_->Flush().ok());
  EXPECT_EQ(store_->ReadEvents(build_, 0, 20000)->size(), 10000u);
}

TEST_F(StoreEventsTest, AFollowerReadingWhileTheWriterAppendsNeverSeesAGap) {
  SqliteStoreOptions options;
  options.event_commit_interval = std::chrono::milliseconds(5);
  options.event_chunk_bytes = 2048;
  Open(options);
  constexpr int kTotal = 20000;
  std::thread writer([&] {
    for (int i = 0; i < kTotal; i += 100) {
      std::vector<BuildEvent> batch;
      for (int j = i; j < i + 100; ++j) batch.push_back(Line(std::to_string(j + 1)));
      ASSERT_TRUE(store_->AppendEvents(build_, batch).ok());
    }
    ASSERT_TRUE(store_->Flush().ok());
  });
  int64_t after = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (after < kTotal && std::chrono::steady_clock::now() < deadline) {
    auto page = store_->ReadEvents(build_, after, 500);
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

// W4: one job printing 200,000 lines (~20 MB). Reports rows/s and the size on disk.
TEST_F(StoreEventsTest, TwoHundredThousandLinesAreStoredQuicklyAndCompactly) {
  constexpr int kLines = 200000;
  std::vector<double> rates;
  std::vector<int64_t> sizes;
  int64_t payload_bytes = 0;
  for (int run = 0; run < 3; ++run) {
    TempDir dir;
    auto store = SqliteStore::Open(dir / "baton.db", RealClock());
    ASSERT_TRUE(store.ok());
    auto build = (*store)->CreateOneOffBuild("main", 0, Json::object());
    payload_bytes = 0;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kLines; i += 100) {
      std::vector<BuildEvent> batch;
      batch.reserve(100);
      for (int j = i; j < i + 100; ++j) {
        char text[128];
        std::snprintf(text, sizeof text,
                      "[%06d] compiling src/module_%03d/file_%05d.cpp -> obj/file_%05d.o (ok) %s",
                      j, j % 997, j, j, "................");
        payload_bytes += static_cast<int64_t>(strlen(text));
        batch.push_back(Line(text, j % 10 == 0 ? "stderr" : "stdout"));
      }
      ASSERT_TRUE((*store)->AppendEvents(build->id, std::move(batch)).ok());
    }
    ASSERT_TRUE((*store)->FinishBuild(build->id, BuildStatus::kErrored).ok());  // flushes
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    rates.push_back(kLines / seconds);
    auto last = (*store)->ReadEvents(build->id, kLines - 1, 10);
    ASSERT_EQ(last->size(), 1u);
    EXPECT_EQ(last->front().seq, kLines);
    store->reset();  // checkpoints the WAL into the file
    sizes.push_back(static_cast<int64_t>(std::filesystem::file_size(dir / "baton.db")));
  }
  std::sort(rates.begin(), rates.end());
  std::sort(sizes.begin(), sizes.end());
  std::printf(
      "[ W4 ] %d lines, %.1f MB payload: median %.0f lines/s (%.0f/%.0f/%.0f), "
      "db %.1f MB\n",
      kLines, payload_bytes / 1e6, rates[1], rates[0], rates[1], rates[2], sizes[1] / 1e6);
  RecordProperty("lines_per_second", static_cast<int>(rates[1]));
  RecordProperty("db_bytes", static_cast<int>(sizes[1]));
  EXPECT_GT(rates[1], 20000.0);                  // generous: shared 2-core machine
  EXPECT_LT(sizes[1], payload_bytes * 12 / 10);  // < 20% overhead over the raw text
}

}  // namespace
}  // namespace baton::runner
