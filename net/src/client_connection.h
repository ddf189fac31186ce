// ClientConnection: one client socket, plain TCP or TLS, with its read buffer. Used by
// HttpClient on its private io_context (one thread). Not thread-safe.
#pragma once

#include <memory>
#include <string>

#include "baton/common/status.h"
#include "baton/net/asio.h"
#include "baton/net/http_client.h"

#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>

namespace baton::net {

class ClientConnection {
 public:
  // Connects (and for https, handshakes with SNI and verification per `ssl`, which must then
  // not be null). A numeric host is connected to directly, without the resolver (whose async
  // form starts a thread).
  static asio::awaitable<Status> Open(const Url& url, const ClientOptions& options,
                                      asio::ssl::context* ssl,
                                      std::unique_ptr<ClientConnection>* out);

  const std::string& origin() const { return origin_; }
  beast::tcp_stream& tcp() { return tls_ ? beast::get_lowest_layer(*tls_) : *tcp_; }
  beast::flat_buffer& buffer() { return buffer_; }

  // Calls `op(stream)` with the plain or TLS stream; both must yield the same awaitable type.
  template <typename Op>
  auto With(Op&& op) {
    return tls_ ? op(*tls_) : op(*tcp_);
  }

 private:
  std::string origin_;
  std::unique_ptr<beast::tcp_stream> tcp_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
};

}  // namespace baton::net
