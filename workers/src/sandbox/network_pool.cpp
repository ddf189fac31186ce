#include "sandbox/network_pool.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <utility>

namespace baton::workers::sandbox {

NetworkPool::NetworkPool(size_t size, Maker make)
    : size_(size), make_(std::move(make)), cancel_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

NetworkPool::~NetworkPool() {
  Stop();
  {
    std::lock_guard lock(mu_);
    destroying_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void NetworkPool::Stop() {
  std::deque<ReadyNetwork> idle;  // dropped (their stacks told to stop) outside the lock
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    idle.swap(ready_);
  }
  uint64_t one = 1;
  ssize_t n = ::write(cancel_.get(), &one, sizeof one);  // fails only without an eventfd
  (void)n;
  changed_.notify_all();
  std::lock_guard lock(mu_);
  WakeAllLocked();
}

void NetworkPool::WakeAllLocked() {
  for (Waiter* waiter : waiters_) waiter->cv.notify_one();
}

void NetworkPool::Give(Waiter& waiter, ReadyNetwork entry) {
  waiter.got = std::move(entry);
  --demand_;
  waiter.cv.notify_one();
}

void NetworkPool::Start() {
  std::lock_guard lock(mu_);
  if (stopping_ || thread_.joinable()) return;  // after a Take: what it asked for is made
  first_ahead_ = true;
  StartLocked();
}

void NetworkPool::StartLocked() {
  if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
}

Result<ReadyNetwork> NetworkPool::Take(std::chrono::milliseconds timeout,
                                       const std::string& scope) {
  std::unique_lock lock(mu_);
  if (stopping_) return Unavailable("the worker's sandbox is shutting down");
  StartLocked();
  if (!ready_.empty()) {
    ReadyNetwork entry = std::move(ready_.front());
    ready_.pop_front();
    changed_.notify_all();  // the thread tops the pool up
    return entry;
  }
  // Counted in demand_ until it is given an entry or a failure answers every caller waiting (and
  // resets it).
  Waiter me;
  me.scope = scope;
  auto place = waiters_.insert(waiters_.end(), &me);
  const uint64_t seen = failures_;
  ++demand_;
  changed_.notify_all();
  me.cv.wait_for(lock, timeout, [&] { return stopping_ || me.got || failures_ != seen; });
  waiters_.erase(place);
  if (me.got) return std::move(*me.got);
  if (failures_ != seen) return last_error_;
  --demand_;
  if (stopping_) return Unavailable("the worker's sandbox is shutting down");
  return Unavailable("no task network was ready within " + std::to_string(timeout.count() / 1000) +
                     " s; the machine may be overloaded: retry, or make the task hermetic");
}

std::optional<ReadyNetwork> NetworkPool::Return(const std::string& scope, ReadyNetwork network) {
  std::lock_guard lock(mu_);
  if (stopping_ || scope.empty()) return network;
  for (Waiter* waiter : waiters_) {
    if (!waiter->got && waiter->scope == scope) {
      Give(*waiter, std::move(network));
      return std::nullopt;
    }
  }
  return network;
}

bool NetworkPool::ShouldMake() const {
  // After a failure, only what callers wait for: a failing stack is not started in a loop.
  size_t ahead = failed_ ? 0 : std::max(size_, first_ahead_ ? size_t{1} : size_t{0});
  return ready_.size() < ahead + demand_;
}

void NetworkPool::Run() {
  std::unique_lock lock(mu_);
  for (;;) {
    changed_.wait(lock, [&] { return stopping_ || ShouldMake(); });
    if (stopping_) break;
    lock.unlock();
    Result<ReadyNetwork> made = make_(cancel_.get());
    lock.lock();
    if (stopping_) {  // stopped while it was made: `made` goes, its stack told to stop
      lock.unlock();
      { Result<ReadyNetwork> gone = std::move(made); }  // outside the lock
      lock.lock();
      break;
    }
    if (made.ok()) {
      failed_ = false;
      first_ahead_ = false;
      auto waiting = std::find_if(waiters_.begin(), waiters_.end(),
                                  [](const Waiter* waiter) { return !waiter->got; });
      if (waiting != waiters_.end()) {
        Give(**waiting, std::move(*made));
      } else {
        ready_.push_back(std::move(*made));
      }
    } else {
      failed_ = true;
      ++failures_;
      demand_ = 0;  // every caller waiting now gets this error
      last_error_ = made.status();
      WakeAllLocked();
    }
    changed_.notify_all();
  }
  // The stacks this thread started die with it (PR_SET_PDEATHSIG, HelperHost): it ends with the
  // pool, not at Stop, while tasks may still use their networks.
  changed_.wait(lock, [&] { return destroying_; });
}

}  // namespace baton::workers::sandbox
