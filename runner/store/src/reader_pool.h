// ReaderPool: read-only connections to the store's database, handed out one per reader and
// returned when the lease ends. Reads run in WAL snapshots and never block the writer.
//
// Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sqlite_db.h"

namespace baton::runner::sqlite {

class ReaderPool {
 public:
  ReaderPool(std::string path, int busy_timeout_ms, size_t max_idle)
      : path_(std::move(path)), busy_timeout_ms_(busy_timeout_ms), max_idle_(max_idle) {}

  // A connection for the caller alone; give it back with Release.
  Result<std::unique_ptr<Connection>> Acquire();
  void Release(std::unique_ptr<Connection> conn);
  // Closes the idle connections, with their page and statement caches; Acquire opens new ones.
  void CloseIdle();

 private:
  const std::string path_;
  const int busy_timeout_ms_;
  const size_t max_idle_;
  std::mutex mu_;
  std::vector<std::unique_ptr<Connection>> idle_;  // GUARDED_BY(mu_)
};

}  // namespace baton::runner::sqlite
