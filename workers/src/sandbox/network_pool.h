// NetworkPool: task networks made ahead of the tasks that will use them, so that a task that may
// reach the network does not wait for its stack to come up (4-12 ms of slirp4netns starting and
// configuring the interface, see docs/benchmarks.md).
//
// The pool makes its entries on a thread of its own, started by Start or the first Take (a worker
// that never runs a networked task and is not asked to prepare makes none), and keeps `size` of
// them ready, topping up after every Take. Start makes one ready even when `size` is 0: a pool of
// none ahead then makes its first entry ahead and the rest when asked. An entry goes to one caller
// only and is never put back in the pool (a network whose task has ended may serve the next task of
// the same pipeline from the shelf instead, see network_shelf.h). When making one fails, the pool
// stops making them ahead until a caller asks again (so a worker without /dev/net/tun does not
// start a failing stack in a loop), and the callers waiting get the error.
//
// Callers of Take wait in line, each for one entry: the next one made goes to the caller waiting
// longest, and a network whose task has ended (Return) to the caller of its scope waiting longest,
// so a fan-out of a pipeline's tasks passes networks on as tasks end instead of each task waiting
// for a stack of its own made one after another (a slirp4netns's start, ~3.5 ms here).
//
// Thread-safety: Take, Return and Stop may be called from any thread. Stopping (or destroying) the
// pool cancels the entry in the making (its maker is told through `cancel_fd`) and drops every idle
// entry: a worker's end does not wait for a stack to come up only to stop it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "baton/common/path_beneath.h"
#include "baton/common/status.h"
#include "sandbox/task_network.h"

namespace baton::workers::sandbox {

class NetworkPool {
 public:
  // Makes one entry. Runs on the pool's thread only. `cancel_fd` turns readable when the pool is
  // being destroyed: the maker stops waiting then, undoes what it made and returns an error.
  using Maker = std::function<Result<ReadyNetwork>(int cancel_fd)>;

  NetworkPool(size_t size, Maker make);
  ~NetworkPool();
  NetworkPool(const NetworkPool&) = delete;
  NetworkPool& operator=(const NetworkPool&) = delete;

  // Starts the thread making entries ahead, if no Take has yet, and makes one ready (with `size`
  // 0 too) unless one is or a Take took one already.
  void Start();
  // An entry made ahead if one is ready, else the next one made or a network of `scope` returned
  // meanwhile (Return), whichever comes first, waiting at most `timeout`.
  Result<ReadyNetwork> Take(std::chrono::milliseconds timeout, const std::string& scope = "");
  // A network of `scope` (not empty) whose task has ended, with nothing left in it that a task
  // could tell from a new one (NetworkShelf::Reusable): given to the caller of Take for `scope`
  // waiting longest, if any, and nullopt; else handed back (for the shelf). A stopping pool
  // hands every network back.
  std::optional<ReadyNetwork> Return(const std::string& scope, ReadyNetwork network);
  // Stops making entries (the one in the making is cancelled) and drops the idle ones, without
  // waiting for the thread: Take fails from now on. The destructor joins the thread.
  void Stop();

 private:
  // A caller of Take waiting for an entry; in waiters_ while it waits.
  struct Waiter {
    std::string scope;
    std::condition_variable cv;       // notified when `got` is set or the pool fails or stops
    std::optional<ReadyNetwork> got;  // GUARDED_BY(mu_)
  };

  void Run();
  bool ShouldMake() const;                        // REQUIRES: mu_ held
  void StartLocked();                             // REQUIRES: mu_ held
  void Give(Waiter& waiter, ReadyNetwork entry);  // REQUIRES: mu_ held; no entry yet
  void WakeAllLocked();                           // REQUIRES: mu_ held

  const size_t size_;
  const Maker make_;
  const ScopedFd cancel_;  // an eventfd, written once by the destructor
  std::mutex mu_;
  std::condition_variable changed_;
  std::deque<ReadyNetwork> ready_;  // GUARDED_BY(mu_)
  std::list<Waiter*> waiters_;      // GUARDED_BY(mu_): the longest waiting first
  size_t demand_ = 0;               // GUARDED_BY(mu_): waiters given no entry yet
  bool failed_ = false;             // GUARDED_BY(mu_): the last making failed; make on demand only
  bool first_ahead_ = false;        // GUARDED_BY(mu_): Start asked for one before any was made
  uint64_t failures_ = 0;           // GUARDED_BY(mu_)
  Status last_error_;               // GUARDED_BY(mu_)
  bool stopping_ = false;           // GUARDED_BY(mu_)
  bool destroying_ = false;         // GUARDED_BY(mu_): the destructor lets the thread end
  std::thread thread_;              // started by the first Take
};

}  // namespace baton::workers::sandbox
