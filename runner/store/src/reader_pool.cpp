#include "reader_pool.h"

namespace baton::runner::sqlite {

Result<std::unique_ptr<Connection>> ReaderPool::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      std::unique_ptr<Connection> conn = std::move(idle_.back());
      idle_.pop_back();
      return conn;
    }
  }
  return Connection::Open(path_, /*read_only=*/true, busy_timeout_ms_);
}

void ReaderPool::Release(std::unique_ptr<Connection> conn) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < max_idle_) idle_.push_back(std::move(conn));
}

void ReaderPool::CloseIdle() {
  std::vector<std::unique_ptr<Connection>> closing;
  {
    std::lock_guard<std::mutex> lock(mu_);
    closing.swap(idle_);
  }
}  // closed here, outside the lock

}  // namespace baton::runner::sqlite
