#include "client_connection.h"

#include <vector>

namespace baton::webapi {

namespace {

std::string Origin(const Url& url) {
  return url.scheme + "://" + url.host + ":" + std::to_string(url.port);
}

}  // namespace

net::awaitable<Status> ClientConnection::Open(const Url& url, const ClientOptions& options,
                                              net::ssl::context* ssl,
                                              std::unique_ptr<ClientConnection>* out) {
  auto executor = co_await net::this_coro::executor;
  std::string where = url.host + ":" + std::to_string(url.port);
  beast::error_code ec;
  std::vector<tcp::endpoint> endpoints;
  net::ip::address numeric = net::ip::make_address(url.host, ec);
  if (!ec) {
    endpoints.emplace_back(numeric, url.port);
  } else {
    ec = {};
    tcp::resolver resolver(executor);
    auto found = co_await resolver.async_resolve(url.host, std::to_string(url.port), Redirect(ec));
    if (ec) co_return Unavailable("cannot resolve " + url.host + ": " + ec.message());
    for (const auto& entry : found) endpoints.push_back(entry.endpoint());
  }

  auto connection = std::make_unique<ClientConnection>();
  connection->origin_ = Origin(url);
  auto tcp_stream = std::make_unique<beast::tcp_stream>(executor);
  tcp_stream->expires_after(options.connect_timeout);
  co_await tcp_stream->async_connect(endpoints, Redirect(ec));
  if (ec == beast::error::timeout) {
    co_return DeadlineExceeded("cannot connect to " + where + ": timed out");
  }
  if (ec) co_return Unavailable("cannot connect to " + where + ": " + ec.message());
  tcp_stream->socket().set_option(tcp::no_delay(true), ec);

  if (url.scheme != "https") {
    connection->tcp_ = std::move(tcp_stream);
    *out = std::move(connection);
    co_return Status::Ok();
  }
  if (ssl == nullptr) co_return Internal("https without a TLS context");
  auto tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*tcp_stream), *ssl);
  if (!SSL_set_tlsext_host_name(tls->native_handle(), url.host.c_str())) {
    co_return Internal("cannot set TLS server name " + url.host);
  }
  if (!options.insecure_skip_verify) {
    tls->set_verify_callback(net::ssl::host_name_verification(url.host));
  }
  beast::get_lowest_layer(*tls).expires_after(options.connect_timeout);
  co_await tls->async_handshake(net::ssl::stream_base::client, Redirect(ec));
  if (ec) co_return Unavailable("TLS handshake with " + where + " failed: " + ec.message());
  connection->tls_ = std::move(tls);
  *out = std::move(connection);
  co_return Status::Ok();
}

}  // namespace baton::webapi
