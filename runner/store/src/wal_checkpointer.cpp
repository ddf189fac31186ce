// WalCheckpointer (wal_checkpointer.h): the store's checkpoints, off the committing threads.
#include "wal_checkpointer.h"

#include <memory>
#include <utility>

#include "baton/common/logging.h"
#include "sqlite_db.h"

namespace baton::runner::sqlite {

WalCheckpointer::WalCheckpointer(std::string db_file, int busy_timeout_ms, int pages)
    : db_file_(std::move(db_file)), busy_timeout_ms_(busy_timeout_ms), pages_(pages) {}

WalCheckpointer::~WalCheckpointer() {
  std::thread thread;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    thread = std::move(thread_);
  }
  wanted_cv_.notify_one();
  if (thread.joinable()) thread.join();
}

void WalCheckpointer::OnCommit(int wal_pages) {
  if (wal_pages < pages_) return;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    wanted_ = true;
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  }
  wanted_cv_.notify_one();
}

int64_t WalCheckpointer::checkpoints() const {
  std::lock_guard lock(mu_);
  return checkpoints_;
}

int64_t WalCheckpointer::busy() const {
  std::lock_guard lock(mu_);
  return busy_;
}

void WalCheckpointer::Run() {
  std::unique_ptr<Connection> conn;
  std::unique_lock lock(mu_);
  for (;;) {
    wanted_cv_.wait(lock, [&] { return wanted_ || stopping_; });
    if (stopping_) return;
    wanted_ = false;
    lock.unlock();
    Status status = Status::Ok();
    if (!conn) {
      auto opened = Connection::Open(db_file_, /*read_only=*/false, busy_timeout_ms_);
      if (opened.ok()) {
        conn = std::move(*opened);
      } else {
        status = opened.status();
      }
    }
    if (conn) status = conn->CheckpointPassive().status();
    // A checkpoint that could not run is tried again at the next commit past the threshold; the
    // WAL only grows meanwhile, as it would with SQLite's own. A lock held elsewhere (another
    // connection's checkpoint, or the writer rewriting the WAL's index header just then: a
    // store writing without pause meets it every few dozen checkpoints) is no fault of anyone's:
    // only a lasting run of them is worth a warning, the rest is logged for debugging.
    const bool busy = status.code() == StatusCode::kUnavailable;
    if (!status.ok() && !busy) {
      ModuleLogger("store")->warn("checkpointing {}: {}", db_file_, status.ToString());
    }
    lock.lock();
    ++checkpoints_;
    busy_in_a_row_ = busy ? busy_in_a_row_ + 1 : 0;
    if (busy) {
      ++busy_;
      if (busy_in_a_row_ % kBusyWarnEvery == 0) {
        ModuleLogger("store")->warn(
            "checkpointing {}: found the database locked {} times in a row ({}); the WAL grows "
            "until a checkpoint gets through: look for a process holding the database open",
            db_file_, busy_in_a_row_, status.ToString());
      } else {
        ModuleLogger("store")->debug("checkpointing {}: {}", db_file_, status.ToString());
      }
    }
  }
}

}  // namespace baton::runner::sqlite
