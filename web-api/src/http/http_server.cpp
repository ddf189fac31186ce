#include "baton/webapi/http_server.h"

#include <thread>
#include <vector>

#include "baton/common/logging.h"
#include "beast.h"
#include "connection.h"
#include "server_core.h"

namespace baton::webapi {

// ---- ServerCore ----

void ServerCore::NoteQueued(size_t bytes) {
  stream_bytes_queued += bytes;
  size_t peak = stream_bytes_queued_peak.load();
  while (bytes > peak && !stream_bytes_queued_peak.compare_exchange_weak(peak, bytes)) {
  }
}

void ServerCore::Register(const std::shared_ptr<Connection>& connection) {
  std::lock_guard lock(mutex_);
  live_[connection.get()] = connection;
}

void ServerCore::Unregister(const Connection* connection) {
  {
    std::lock_guard lock(mutex_);
    live_.erase(connection);
    if (live_.empty()) idle_.notify_all();
  }
  // Stop() sets `stopping` before it waits for the connections, and joins the threads that
  // close them before it returns: no call outlives it.
  if (!stopping && options.on_connection_closed) options.on_connection_closed();
}

size_t ServerCore::OpenConnections() const {
  std::lock_guard lock(mutex_);
  return live_.size();
}

void ServerCore::ForEach(const std::function<void(Connection&)>& fn) {
  std::lock_guard lock(mutex_);
  for (auto& [key, weak] : live_) {
    if (auto connection = weak.lock()) fn(*connection);
  }
}

bool ServerCore::WaitUntilIdle(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return live_.empty(); });
}

// ---- HttpServer::Impl ----

class HttpServer::Impl {
 public:
  Impl(Router router, ServerOptions options)
      : core_(std::make_shared<ServerCore>(std::move(router), std::move(options))),
        acceptor_(asio::make_strand(ioc_)) {}

  Status Start();
  void Stop();
  uint16_t port() const { return port_; }
  const ServerCore& core() const { return *core_; }

 private:
  Status Listen(const tcp::endpoint& endpoint);
  asio::awaitable<void> AcceptLoop();
  void RunIoThread();

  std::shared_ptr<ServerCore> core_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_;
  std::vector<std::thread> threads_;
  uint16_t port_ = 0;
  bool started_ = false;
  bool stopped_ = false;
};

Status HttpServer::Impl::Start() {
  const ServerOptions& options = core_->options;
  std::string where = options.host + ":" + std::to_string(options.port);
  beast::error_code ec;
  tcp::resolver resolver(ioc_);
  auto endpoints = resolver.resolve(options.host, std::to_string(options.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || endpoints.empty()) {
    return InvalidArgument("cannot listen on " + where + ": unknown host (" + ec.message() + ")");
  }
  Status listened = Listen(*endpoints.begin());
  if (!listened.ok()) return listened.WithContext("cannot listen on " + where);
  started_ = true;
  work_.emplace(ioc_.get_executor());
  asio::co_spawn(acceptor_.get_executor(), AcceptLoop(), asio::detached);
  int n = std::max(1, options.io_threads);
  for (int i = 0; i < n; ++i) threads_.emplace_back([this] { RunIoThread(); });
  return Status::Ok();
}

Status HttpServer::Impl::Listen(const tcp::endpoint& endpoint) {
  beast::error_code ec;
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Unavailable(ec.message());
  port_ = acceptor_.local_endpoint(ec).port();
  return Status::Ok();
}

asio::awaitable<void> HttpServer::Impl::AcceptLoop() {
  asio::steady_timer backoff(acceptor_.get_executor());
  while (!core_->stopping) {
    beast::error_code ec;
    tcp::socket socket = co_await acceptor_.async_accept(asio::make_strand(ioc_), Redirect(ec));
    if (ec == asio::error::operation_aborted || core_->stopping) break;
    if (ec) {  // e.g. out of file descriptors: log, pause briefly, keep serving
      ModuleLogger("webapi")->warn("accept failed: {}", ec.message());
      backoff.expires_after(std::chrono::milliseconds(50));
      co_await backoff.async_wait(Redirect(ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    ++core_->connections_accepted;
    auto connection = std::make_shared<Connection>(core_, std::move(socket));
    asio::co_spawn(connection->executor(), Connection::Run(connection), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        ModuleLogger("webapi")->error("connection failed: {}", ex.what());
      }
    });
  }
}

void HttpServer::Impl::RunIoThread() {
  while (true) {
    try {
      ioc_.run();
      return;
    } catch (const std::exception& e) {
      ModuleLogger("webapi")->error("io thread: {}", e.what());
    }
  }
}

void HttpServer::Impl::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  core_->stopping = true;
  asio::post(acceptor_.get_executor(), [this] {
    beast::error_code ec;
    acceptor_.close(ec);
  });
  core_->ForEach([](Connection& c) { c.RequestStop(); });
  if (!core_->WaitUntilIdle(core_->options.stop_timeout)) {
    core_->ForEach([](Connection& c) { c.ForceClose(); });
    if (!core_->WaitUntilIdle(std::chrono::seconds(1))) {
      ModuleLogger("webapi")->warn("{} connections still open at stop", core_->OpenConnections());
    }
  }
  core_->work_pool
      .stop();  // work still running finishes (its client is gone); queued work is dropped
  core_->work_pool.join();
  work_.reset();
  ioc_.stop();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

// ---- HttpServer ----

HttpServer::HttpServer(Router router, ServerOptions options)
    : impl_(std::make_shared<Impl>(std::move(router), std::move(options))) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() { return impl_->Start(); }
void HttpServer::Stop() { impl_->Stop(); }
uint16_t HttpServer::port() const { return impl_->port(); }

std::string HttpServer::base_url() const {
  return "http://" + impl_->core().options.host + ":" + std::to_string(port());
}

ServerStats HttpServer::stats() const {
  const ServerCore& core = impl_->core();
  ServerStats s;
  s.connections_accepted = core.connections_accepted;
  s.requests_served = core.requests_served;
  s.open_connections = core.OpenConnections();
  s.open_streams = core.open_streams;
  s.stream_bytes_queued = core.stream_bytes_queued;
  s.stream_bytes_queued_peak = core.stream_bytes_queued_peak;
  return s;
}

}  // namespace baton::webapi
