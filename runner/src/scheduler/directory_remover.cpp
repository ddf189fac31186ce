#include "baton/runner/directory_remover.h"

#include <system_error>
#include <utility>

namespace baton::runner {

namespace {

void RemoveTree(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace

DirectoryRemover::DirectoryRemover(RemoveFn remove)
    : remove_(remove ? std::move(remove) : RemoveFn(RemoveTree)) {}

DirectoryRemover::~DirectoryRemover() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  work_cv_.notify_one();
  if (thread_.joinable()) thread_.join();  // Run empties the queue before it returns
}

void DirectoryRemover::Remove(std::filesystem::path dir) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(dir));
    ++queued_;
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  }
  work_cv_.notify_one();
}

void DirectoryRemover::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  const uint64_t target = queued_;
  done_cv_.wait(lock, [&] { return removed_ >= target; });
}

void DirectoryRemover::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing is left
    std::filesystem::path dir = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    remove_(dir);
    lock.lock();
    ++removed_;
    done_cv_.notify_all();
  }
}

}  // namespace baton::runner
