#include "connection.h"

#include "baton/common/logging.h"

namespace baton::webapi {

namespace {

std::string EndpointText(const tcp::socket& socket) {
  beast::error_code ec;
  tcp::endpoint ep = socket.remote_endpoint(ec);
  if (ec) return "unknown";
  std::string address = ep.address().to_string();
  if (ep.address().is_v6()) address = "[" + address + "]";
  return address + ":" + std::to_string(ep.port());
}

// The Request a handler sees, or nullopt if the target cannot be decoded.
std::optional<Request> ToRequest(http::request<http::string_body>& msg, std::string remote) {
  Request r;
  r.method = std::string(msg.method_string());
  r.target = std::string(msg.target());
  if (r.target.empty() || r.target.front() != '/') return std::nullopt;
  size_t q = r.target.find('?');
  auto path = PercentDecode(std::string_view(r.target).substr(0, q), false);
  auto query = ParseQuery(q == std::string::npos ? "" : std::string_view(r.target).substr(q + 1));
  if (!path || !query) return std::nullopt;
  r.path = std::move(*path);
  r.query = std::move(*query);
  for (const auto& field : msg)
    r.headers.Add(ToStd(field.name_string()), std::string(field.value()));
  r.body = std::move(msg.body());
  r.remote_address = std::move(remote);
  return r;
}

bool IsQuietEnd(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::operation_aborted || ec == beast::error::timeout ||
         ec == asio::error::connection_reset || ec == http::error::partial_message;
}

}  // namespace

Connection::Connection(std::shared_ptr<ServerCore> core, tcp::socket socket)
    : core_(std::move(core)), remote_address_(EndpointText(socket)), stream_(std::move(socket)) {}

asio::awaitable<void> Connection::Run(std::shared_ptr<Connection> self) {
  struct Unregister {
    Connection* c;
    ~Unregister() { c->core_->Unregister(c); }
  } unregister{self.get()};
  self->core_->Register(self);
  beast::flat_buffer buffer;
  while (!self->core_->stopping && co_await self->ServeOne(buffer)) {
  }
  self->CloseSocket();
}

void Connection::RequestStop() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->phase_ == Phase::kIdle) self->stream_.cancel();
    if (self->waker_) self->waker_->Notify();
  });
}

void Connection::ForceClose() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] { self->CloseSocket(); });
}

void Connection::CloseSocket() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
}

asio::awaitable<bool> Connection::ServeOne(beast::flat_buffer& buffer) {
  const ServerOptions& options = core_->options;
  http::request_parser<http::string_body> parser;
  parser.body_limit(options.body_limit);
  parser.header_limit(static_cast<uint32_t>(options.header_limit));
  beast::error_code ec;
  phase_ = Phase::kIdle;
  stream_.expires_after(options.read_timeout);
  co_await http::async_read(stream_, buffer, parser, Redirect(ec));
  phase_ = Phase::kBusy;
  if (ec) co_return co_await HandleReadError(ec);

  http::request<http::string_body> msg = parser.release();
  bool keep_alive = msg.keep_alive() && !core_->stopping;
  bool head_only = msg.method() == http::verb::head;
  unsigned version = msg.version();
  std::optional<Request> request = ToRequest(msg, remote_address_);
  if (!request) {
    co_await RejectAndClose(400, "bad request", "the request target is not a valid path");
    co_return false;
  }
  Response response = core_->router.Dispatch(*request);
  if (response.is_offloaded()) response = co_await RunOffloaded(std::move(response.offloaded));
  if (response.is_awaited()) response = co_await RunAwaited(std::move(response.awaited));
  ++core_->requests_served;
  if (response.is_stream()) co_return co_await ServeStream(response, version, keep_alive);
  co_return co_await WriteResponse(std::move(response), version, keep_alive, head_only);
}

asio::awaitable<bool> Connection::HandleReadError(const beast::error_code& ec) {
  if (ec == http::error::body_limit) {
    co_await RejectAndClose(
        413, "payload too large",
        "the request body exceeds " + std::to_string(core_->options.body_limit) + " bytes");
  } else if (ec == http::error::header_limit) {
    co_await RejectAndClose(
        431, "request header fields too large",
        "the request header exceeds " + std::to_string(core_->options.header_limit) + " bytes");
  } else if (!IsQuietEnd(ec) &&
             ec.category() == http::make_error_code(http::error::bad_target).category()) {
    co_await RejectAndClose(400, "bad request", "malformed HTTP request: " + ec.message());
  }
  co_return false;
}

asio::awaitable<bool> Connection::WriteResponse(Response response, unsigned version,
                                                bool keep_alive, bool head_only) {
  if (response.status < 100 || response.status > 999) response = JsonError(500, "bad status");
  http::response<http::string_body> msg;
  msg.version(version);
  msg.result(static_cast<unsigned>(response.status));
  msg.set(http::field::server, "baton");
  for (const auto& [name, value] : response.headers.fields()) msg.insert(name, value);
  if (!response.headers.Has("Content-Type"))
    msg.set(http::field::content_type, response.content_type);
  msg.keep_alive(keep_alive);
  msg.body() = std::move(response.body);
  msg.prepare_payload();
  beast::error_code ec;
  stream_.expires_after(core_->options.write_timeout);
  if (head_only) {
    http::response_serializer<http::string_body> serializer(msg);
    co_await http::async_write_header(stream_, serializer, Redirect(ec));
  } else {
    co_await http::async_write(stream_, msg, Redirect(ec));
  }
  co_return !ec && keep_alive;
}

asio::awaitable<void> Connection::RejectAndClose(int status, std::string_view error,
                                                 std::string_view detail) {
  co_await WriteResponse(JsonError(status, error, detail), 11, false, false);
  phase_ = Phase::kIdle;  // Stop may cut the drain short
  if (!core_->stopping) co_await Drain();
}

// After an error answer, reads (and drops) what the client is still sending for a moment, so
// closing does not reset the connection before the client has read the answer.
asio::awaitable<void> Connection::Drain() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream_.expires_after(std::chrono::seconds(2));
  std::vector<char> sink(64 * 1024);
  size_t total = 0;
  while (!ec && total < 4 * core_->options.body_limit + (1 << 20)) {
    total += co_await stream_.async_read_some(asio::buffer(sink), Redirect(ec));
  }
}

}  // namespace baton::webapi
