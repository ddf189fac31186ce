// WalCheckpointer: copies the writer's WAL into the database file on a thread of its own.
//
// SQLite's automatic checkpoint runs on the committing thread once the WAL passes 1,000 pages: the
// copy and two fdatasyncs (the WAL's, then the file's: 4-7 ms on the benchmark VM), twice in a
// 200-job `baton run` (W3), each time on the scheduler's thread while every lane waited for it.
// Here the writer connection's commit hook (Connection::OnWalCommit) only tells this object the
// WAL's size; past `pages` its thread (started at the first such commit: an idle store has none)
// runs a PASSIVE checkpoint on a connection of its own, which waits for no reader or writer. The
// writer restarts the WAL at its next commit once every frame is in the file, as before, so the
// WAL stays as bounded as SQLite's own checkpoint kept it.
//
// Thread-safe: OnCommit is called by whichever thread commits; it never waits for a checkpoint.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace baton::runner::sqlite {

class WalCheckpointer {
 public:
  WalCheckpointer(std::string db_file, int busy_timeout_ms, int pages);
  // Stops the thread after the checkpoint under way, if any.
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // A commit left the WAL at `wal_pages`.
  void OnCommit(int wal_pages);
  // Checkpoints this object's thread has run (each may have copied part of the WAL only).
  int64_t checkpoints() const;
  // Of those, the ones that found the database locked and copied nothing.
  int64_t busy() const;
  // A warning is logged at this many locked checkpoints in a row (and at each multiple); fewer
  // are logged at debug level only.
  static constexpr int kBusyWarnEvery = 20;

 private:
  void Run();

  const std::string db_file_;
  const int busy_timeout_ms_;
  const int pages_;
  mutable std::mutex mu_;
  std::condition_variable wanted_cv_;
  bool wanted_ = false;      // GUARDED_BY(mu_)
  bool stopping_ = false;    // GUARDED_BY(mu_)
  int64_t checkpoints_ = 0;  // GUARDED_BY(mu_)
  int64_t busy_ = 0;         // GUARDED_BY(mu_)
  int busy_in_a_row_ = 0;    // GUARDED_BY(mu_)
  std::thread thread_;       // started by the first OnCommit past `pages_`, under mu_
};

}  // namespace baton::runner::sqlite
