#include "http_server.h"

#include <utility>  // before Boost: asio/awaitable.hpp needs std::exchange under GCC 12

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <ostream>
#include <thread>

namespace seed {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;

void Answer(tcp::socket socket, const Handler& handler) {
  boost::beast::error_code ec;
  boost::beast::flat_buffer buffer;
  http::request<http::string_body> request;
  http::read(socket, buffer, request, ec);
  if (ec) return;
  Reply reply =
      handler(Request{std::string(request.method_string()), std::string(request.target())});
  http::response<http::string_body> response{static_cast<http::status>(reply.status),
                                             request.version()};
  response.set(http::field::server, "seed");
  response.set(http::field::content_type, reply.content_type);
  response.keep_alive(false);
  response.body() = std::move(reply.body);
  response.prepare_payload();
  if (request.method() == http::verb::head) response.body().clear();
  http::write(socket, response, ec);
  socket.shutdown(tcp::socket::shutdown_send, ec);
}

}  // namespace

int Serve(const std::string& host, unsigned short port, const Handler& handler, std::ostream& log) {
  asio::io_context io{1};
  boost::system::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) {
    log << "seed-server: bad address " << host << ": " << ec.message() << "\n";
    return 2;
  }
  tcp::acceptor acceptor{io};
  tcp::endpoint endpoint{address, port};
  if (acceptor.open(endpoint.protocol(), ec) ||
      acceptor.set_option(tcp::acceptor::reuse_address(true), ec) || acceptor.bind(endpoint, ec) ||
      acceptor.listen(asio::socket_base::max_listen_connections, ec)) {
    log << "seed-server: cannot listen on " << host << ":" << port << ": " << ec.message() << "\n";
    return 1;
  }
  log << "seed-server listening on " << host << ":" << acceptor.local_endpoint().port() << "\n"
      << std::flush;
  for (;;) {
    tcp::socket socket{io};
    if (acceptor.accept(socket, ec)) continue;
    std::thread(Answer, std::move(socket), std::cref(handler)).detach();
  }
}

}  // namespace seed
