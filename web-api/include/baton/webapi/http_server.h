// HttpServer: a small HTTP/1.1 server on Boost.Beast that serves a Router.
//
//   Router router;  ... router.Add(...)
//   HttpServer server(std::move(router), {.host = "127.0.0.1", .port = 0});
//   BATON_RETURN_IF_ERROR(server.Start());
//   ... server.port() ...
//   server.Stop();   // or let the destructor do it
//
// Keep-alive, TCP_NODELAY, a body limit (413), a header limit (431), a read timeout per request
// (slow or idle clients are closed), malformed requests answered 400 and closed, and
// server-sent-event streams (sse.h) that never buffer more than one batch per client.
// Handlers run on the io threads.
//
// Thread-safety: Start, Stop and the destructor from one owning thread; port() and stats()
// from any thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "baton/common/status.h"
#include "baton/webapi/router.h"

namespace baton::webapi {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0 = any free port; see HttpServer::port()
  int io_threads = 2;
  size_t body_limit = 25 * 1024 * 1024;  // larger bodies get 413
  size_t header_limit = 16 * 1024;       // larger headers get 431
  // The time allowed to receive one whole request, including waiting for it on a kept-alive
  // connection. Clients slower than that are disconnected (slowloris).
  std::chrono::milliseconds read_timeout{30'000};
  // A write (a response, an SSE batch) that makes no progress for this long closes the
  // connection.
  std::chrono::milliseconds write_timeout{60'000};
  // How long Stop() waits for in-flight requests before closing everything.
  std::chrono::milliseconds stop_timeout{5'000};
  // SSE: comment sent after this much silence, so proxies and clients see the stream is alive.
  std::chrono::milliseconds sse_keepalive_interval{15'000};
  size_t sse_max_batch_events = 256;        // events pulled per NextEvents call
  size_t sse_max_batch_bytes = 256 * 1024;  // cap on a client's queued (unsent) bytes
  // Offloaded work (Response::Offload: parsing and validating pipelines) runs on this many
  // threads, apart from the io threads, and is answered 503 when it takes longer than
  // work_deadline.
  int work_threads = 2;
  std::chrono::milliseconds work_deadline{30'000};
  // Called when a connection closes (not after Stop() began), on the thread that closed it,
  // with no lock held: what its requests allocated is free now (ServerRuntime trims once quiet,
  // as after a build). Must not block.
  std::function<void()> on_connection_closed = nullptr;
};

// Counters for tests and /metrics. Values are a consistent-enough snapshot, not atomic as a set.
struct ServerStats {
  uint64_t connections_accepted = 0;
  uint64_t requests_served = 0;
  size_t open_connections = 0;
  size_t open_streams = 0;
  size_t stream_bytes_queued = 0;       // formatted SSE bytes currently being written, all clients
  size_t stream_bytes_queued_peak = 0;  // the largest single-client batch ever queued
};

class HttpServer {
 public:
  HttpServer(Router router, ServerOptions options);
  ~HttpServer();  // calls Stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds, listens and starts the io threads. Fails with a clear message ("cannot listen on
  // 127.0.0.1:80: permission denied").
  // REQUIRES: called once.
  Status Start();

  // Stops accepting, closes idle connections, ends event streams, lets in-flight requests
  // finish (up to stop_timeout), then joins the io threads. Idempotent.
  void Stop();

  // The bound port (the real one when options.port was 0). REQUIRES: Start() succeeded.
  uint16_t port() const;
  // "http://127.0.0.1:<port>".
  std::string base_url() const;

  ServerStats stats() const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace baton::webapi
