// ServerCore: the state HttpServer shares with its connections (router, options, counters, the
// set of live connections). Lives as long as the last connection. Thread-safe.
#pragma once

#include <boost/asio/thread_pool.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "baton/webapi/http_server.h"

namespace baton::webapi {

class Connection;

struct ServerCore {
  ServerCore(Router r, ServerOptions o)
      : router(std::move(r)),
        options(std::move(o)),
        work_pool(static_cast<size_t>(std::max(1, options.work_threads))) {}

  const Router router;
  const ServerOptions options;
  // Where offloaded responses run (never the io threads). Stopped and joined by Stop().
  boost::asio::thread_pool work_pool;
  std::atomic<bool> stopping{false};

  std::atomic<uint64_t> connections_accepted{0};
  std::atomic<uint64_t> requests_served{0};
  std::atomic<size_t> open_streams{0};
  std::atomic<size_t> stream_bytes_queued{0};
  std::atomic<size_t> stream_bytes_queued_peak{0};

  void NoteQueued(size_t bytes);
  void Register(const std::shared_ptr<Connection>& connection);
  void Unregister(const Connection* connection);
  size_t OpenConnections() const;
  // Calls `fn` for every live connection, under the registry lock.
  void ForEach(const std::function<void(Connection&)>& fn);
  // Waits until no connection is live; false on timeout.
  bool WaitUntilIdle(std::chrono::milliseconds timeout);

 private:
  mutable std::mutex mutex_;
  std::condition_variable idle_;
  std::unordered_map<const Connection*, std::weak_ptr<Connection>> live_;  // GUARDED_BY(mutex_)
};

}  // namespace baton::webapi
