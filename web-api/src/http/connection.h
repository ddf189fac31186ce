// Connection: one accepted socket, served by one coroutine on its own strand: read a request,
// dispatch it, write the response (or pump an event stream), repeat while kept alive.
// RequestStop/ForceClose may be called from any thread; everything else runs on the strand.
#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "baton/webapi/sse.h"
#include "beast.h"
#include "server_core.h"

namespace baton::webapi {

// Wakes a stream waiting for events: the source's notification (any thread) cancels the
// stream's timer on the connection's strand. Thread-safe.
class StreamWaker : public std::enable_shared_from_this<StreamWaker> {
 public:
  explicit StreamWaker(const asio::any_io_executor& strand) : timer_(strand) {}
  void Notify();
  // Stops further notifications from reaching the timer (on the strand, at stream end).
  void Close();
  // Returns whether a notification arrived since the last call, and clears it.
  bool TakePending();
  // Waits until `deadline` or a notification; true when the deadline passed.
  asio::awaitable<bool> WaitUntil(std::chrono::steady_clock::time_point deadline);

 private:
  std::mutex mutex_;
  bool closed_ = false;  // GUARDED_BY(mutex_)
  std::atomic<bool> pending_{false};
  asio::steady_timer timer_;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(std::shared_ptr<ServerCore> core, tcp::socket socket);

  // The connection's coroutine; runs until the peer leaves, an error, or the server stops.
  static asio::awaitable<void> Run(std::shared_ptr<Connection> self);

  // Asks the connection to finish: an idle one closes now, a stream ends after its current
  // write, a busy one after its response. Thread-safe.
  void RequestStop();
  // Closes the socket, aborting any pending read or write. Thread-safe.
  void ForceClose();

  asio::any_io_executor executor() { return stream_.get_executor(); }

 private:
  enum class Phase { kBusy, kIdle, kStreaming };

  asio::awaitable<bool> ServeOne(beast::flat_buffer& buffer);
  // offload.cpp: runs `work` on the work pool; its response, or 503 past the deadline.
  asio::awaitable<Response> RunOffloaded(std::shared_ptr<OffloadedWork> work);
  // offload.cpp: starts `work` with a Responder and waits (without a thread) for its answer.
  asio::awaitable<Response> RunAwaited(std::shared_ptr<AwaitedWork> work);
  asio::awaitable<bool> HandleReadError(const beast::error_code& ec);
  asio::awaitable<bool> WriteResponse(Response response, unsigned version, bool keep_alive,
                                      bool head_only);
  asio::awaitable<void> RejectAndClose(int status, std::string_view error, std::string_view detail);
  asio::awaitable<void> Drain();
  void CloseSocket();

  // sse_stream.cpp
  asio::awaitable<bool> ServeStream(Response& response, unsigned version, bool keep_alive);
  asio::awaitable<bool> PumpEvents(EventSource& source, std::string after_id);
  asio::awaitable<bool> WriteChunk(std::string_view bytes);

  std::shared_ptr<ServerCore> core_;
  std::string remote_address_;  // before stream_: computed from the socket stream_ takes
  beast::tcp_stream stream_;
  Phase phase_ = Phase::kBusy;          // strand only
  std::shared_ptr<StreamWaker> waker_;  // strand only; set while streaming
};

}  // namespace baton::webapi
