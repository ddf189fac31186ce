// DirectoryRemover: removes directory trees on a thread of its own, so that the scheduler's
// thread does not wait for the filesystem between one build and the next. Removing is slow where
// freeing a block waits for the disk: on ext4 mounted with `discard` (the benchmark VM) each
// rmdir or unlink that frees a block waits for a synchronous discard (~3.5 ms there), and a
// finished build's directory frees about five, which made removing it the largest part of the
// gap between builds (median 7.6 ms of W3's ~13 ms per build).
//
// Thread-safe. The thread starts with the first Remove; the destructor waits until everything
// queued is removed, so nothing is left behind when the owner stops normally.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

namespace baton::runner {

class DirectoryRemover {
 public:
  using RemoveFn = std::function<void(const std::filesystem::path&)>;

  // `remove` removes one tree (a test may record where it runs); default: remove_all, errors
  // ignored (a directory that cannot be removed is left, as before).
  explicit DirectoryRemover(RemoveFn remove = {});
  ~DirectoryRemover();
  DirectoryRemover(const DirectoryRemover&) = delete;
  DirectoryRemover& operator=(const DirectoryRemover&) = delete;

  // Queues `dir` for removal and returns at once.
  void Remove(std::filesystem::path dir);
  // Waits until everything queued before the call is removed.
  void Drain();

 private:
  void Run();

  const RemoveFn remove_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable done_cv_;
  std::deque<std::filesystem::path> queue_;  // GUARDED_BY(mu_)
  uint64_t queued_ = 0;                      // GUARDED_BY(mu_) ever queued
  uint64_t removed_ = 0;                     // GUARDED_BY(mu_) ever removed
  bool stopping_ = false;                    // GUARDED_BY(mu_)
  std::thread thread_;                       // started by the first Remove
};

}  // namespace baton::runner
