// pg::Listener: a thread with its own connection that LISTENs on one channel and hands each
// NOTIFY payload to a callback (PostgresStore::Subscribe). When the connection drops it
// reconnects (once a second) and calls the callback with "" so the caller polls for what it
// may have missed.
//
// Thread-safety: construct and destroy on one thread; the callback runs on the listener's.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

struct pg_conn;

namespace baton::runner::pg {

class Listener {
 public:
  // Starts listening on `channel` of the database at `uri` (`what` names it in logs).
  Listener(std::string uri, std::string what, std::string channel,
           std::function<void(const std::string&)> on_message);
  ~Listener();  // stops the thread and closes its connection
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

 private:
  void Run(pg_conn* conn);  // `conn`: the first connection, or null

  const std::string uri_;
  const std::string what_;
  const std::string channel_;
  const std::function<void(const std::string&)> on_message_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace baton::runner::pg
