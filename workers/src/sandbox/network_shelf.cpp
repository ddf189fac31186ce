#include "sandbox/network_shelf.h"

#include <utility>

namespace baton::workers::sandbox {

NetworkShelf::NetworkShelf(size_t capacity, std::chrono::steady_clock::duration max_idle)
    : capacity_(capacity), max_idle_(max_idle) {}

std::optional<ReadyNetwork> NetworkShelf::Take(const std::string& scope) {
  std::deque<Entry> dropped;  // stopped outside the lock
  std::lock_guard lock(mu_);
  PruneLocked(std::chrono::steady_clock::now(), &dropped);
  for (auto it = entries_.rbegin(); it != entries_.rend(); ++it) {
    if (it->scope != scope) continue;
    ReadyNetwork network = std::move(it->network);
    entries_.erase(std::next(it).base());
    return network;
  }
  return std::nullopt;
}

bool NetworkShelf::Reusable(const std::string& scope, const ReadyNetwork& network) {
  return !scope.empty() && network.netns.get() >= 0 && network.up() && network.sockets.AsSettled();
}

void NetworkShelf::Put(const std::string& scope, ReadyNetwork network) {
  std::deque<Entry> dropped;
  std::lock_guard lock(mu_);
  if (closed_) return;
  auto now = std::chrono::steady_clock::now();
  entries_.push_back({scope, std::move(network), now});
  PruneLocked(now, &dropped);
}

void NetworkShelf::Close() {
  std::deque<Entry> dropped;
  std::lock_guard lock(mu_);
  closed_ = true;
  dropped.swap(entries_);
}

void NetworkShelf::PruneLocked(std::chrono::steady_clock::time_point now, std::deque<Entry>* out) {
  std::deque<Entry> kept;
  size_t over = entries_.size() > capacity_ ? entries_.size() - capacity_ : 0;
  for (auto& e : entries_) {
    bool keep = over == 0 && now - e.since <= max_idle_ && e.network.up();
    if (over > 0) --over;  // the oldest go first
    (keep ? kept : *out).push_back(std::move(e));
  }
  entries_.swap(kept);
}

}  // namespace baton::workers::sandbox
