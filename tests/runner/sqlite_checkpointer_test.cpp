// The store's checkpoint thread (runner/store/src/wal_checkpointer.h) when the database is locked
// elsewhere: nothing copied, tried again at the next commit past the threshold, and a warning
// only for a lasting run of them (a store writing without pause meets a lock now and then).
#include "wal_checkpointer.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ringbuffer_sink.h>
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "baton/common/logging.h"
#include "fakes/test_env.h"
#include "sqlite_db.h"

namespace baton::runner::sqlite {
namespace {

using testing::TempDir;

// Waits (up to 10 s) until `checkpointer` has run `count` checkpoints.
bool RanCheckpoints(const WalCheckpointer& checkpointer, int64_t count) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (checkpointer.checkpoints() < count) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// Another connection's FULL checkpoint, which holds the checkpoint lock while it waits for a
// reader still on an older snapshot, until Release().
class HeldCheckpoint {
 public:
  explicit HeldCheckpoint(const std::string& file) {
    EXPECT_EQ(sqlite3_open(file.c_str(), &db_), SQLITE_OK);
    // A connection that has read nothing has not opened the WAL, and its checkpoint does nothing.
    EXPECT_EQ(sqlite3_exec(db_, "SELECT count(*) FROM t", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_busy_handler(
        db_,
        [](void* self, int) {
          auto* held = static_cast<HeldCheckpoint*>(self);
          held->waiting_ = true;
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
          return held->released_ ? 0 : 1;
        },
        this);
    thread_ = std::thread([this] {
      sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_FULL, nullptr, nullptr);
      ended_ = true;
    });
    while (!waiting_ && !ended_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    EXPECT_TRUE(waiting_) << "the checkpoint ended without waiting for the reader";
  }
  ~HeldCheckpoint() {
    Release();
    sqlite3_close(db_);
  }
  void Release() {
    released_ = true;
    if (thread_.joinable()) thread_.join();
  }

 private:
  sqlite3* db_ = nullptr;
  std::atomic<bool> waiting_{false}, released_{false}, ended_{false};
  std::thread thread_;
};

class WalCheckpointerLocked : public ::testing::Test {
 protected:
  void SetUp() override {
    file_ = (dir_.path() / "baton.db").string();
    auto writer = Connection::Open(file_, /*read_only=*/false, 1000);
    ASSERT_TRUE(writer.ok()) << writer.status().ToString();
    writer_ = std::move(*writer);
    ASSERT_TRUE(writer_->Exec("PRAGMA journal_mode=WAL; CREATE TABLE t(x)").ok());
    auto reader = Connection::Open(file_, /*read_only=*/true, 1000);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    reader_ = std::move(*reader);
    ASSERT_TRUE(reader_->Exec("BEGIN; SELECT count(*) FROM t").ok());
    ASSERT_TRUE(writer_->Exec("INSERT INTO t VALUES (1)").ok());  // the reader's snapshot is old
    sink_ = std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(64);
    ModuleLogger("store")->sinks().push_back(sink_);
  }
  void TearDown() override {
    auto& sinks = ModuleLogger("store")->sinks();
    sinks.erase(std::remove(sinks.begin(), sinks.end(), sink_), sinks.end());
  }
  int Warnings() const {
    int count = 0;
    for (const auto& message : sink_->last_raw()) count += message.level == spdlog::level::warn;
    return count;
  }
  void EndRead() { ASSERT_TRUE(reader_->Exec("COMMIT").ok()); }

  TempDir dir_;
  std::string file_;
  std::unique_ptr<Connection> writer_, reader_;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> sink_;
};

TEST_F(WalCheckpointerLocked, ACheckpointThatFindsTheDatabaseLockedIsTriedAgainWithoutAWarning) {
  WalCheckpointer checkpointer(file_, 1000, /*pages=*/1);
  {
    HeldCheckpoint held(file_);
    checkpointer.OnCommit(2);
    ASSERT_TRUE(RanCheckpoints(checkpointer, 1));
    EXPECT_EQ(checkpointer.busy(), 1);
    EXPECT_EQ(Warnings(), 0) << "one locked checkpoint is nobody's fault";
  }
  EndRead();
  checkpointer.OnCommit(2);
  ASSERT_TRUE(RanCheckpoints(checkpointer, 2));
  EXPECT_EQ(checkpointer.busy(), 1) << "the next commit past the threshold got through";
  EXPECT_EQ(Warnings(), 0);
}

TEST_F(WalCheckpointerLocked, ALastingRunOfLockedCheckpointsIsWarnedOfOnce) {
  WalCheckpointer checkpointer(file_, 1000, /*pages=*/1);
  HeldCheckpoint held(file_);
  const int runs = WalCheckpointer::kBusyWarnEvery + 3;
  for (int i = 1; i <= runs; ++i) {
    checkpointer.OnCommit(2);
    ASSERT_TRUE(RanCheckpoints(checkpointer, i));
  }
  EXPECT_EQ(checkpointer.busy(), runs);
  EXPECT_EQ(Warnings(), 1) << "at the 20th in a row, not before nor after";
  for (const auto& message : sink_->last_raw()) {
    if (message.level != spdlog::level::warn) continue;
    const std::string text(message.payload.data(), message.payload.size());
    EXPECT_NE(text.find("locked 20 times in a row"), std::string::npos) << text;
  }
}

}  // namespace
}  // namespace baton::runner::sqlite
