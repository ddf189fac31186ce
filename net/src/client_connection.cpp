#include "client_connection.h"

#include <algorithm>
#include <vector>

#include "baton/common/base64.h"

namespace baton::net {

namespace {

std::string Origin(const Url& url) {
  return url.scheme + "://" + url.host + ":" + std::to_string(url.port);
}

// co_return the Status when it is an error.
#define BATON_CO_RETURN_IF_ERROR(expr)                    \
  do {                                                    \
    Status baton_co_status = (expr);                      \
    if (!baton_co_status.ok()) co_return baton_co_status; \
  } while (0)

}  // namespace

bool BypassesProxy(const std::string& host, uint16_t port, const std::string& no_proxy) {
  for (size_t at = 0; at <= no_proxy.size();) {
    size_t comma = std::min(no_proxy.find(',', at), no_proxy.size());
    std::string entry = no_proxy.substr(at, comma - at);
    at = comma + 1;
    entry.erase(0, entry.find_first_not_of(" \t"));
    entry.erase(entry.find_last_not_of(" \t") + 1);
    if (entry.empty()) continue;
    if (entry == "*") return true;
    size_t colon = entry.rfind(':');
    if (colon != std::string::npos && entry.find(']') == std::string::npos &&
        entry.find(':') == colon) {
      if (entry.substr(colon + 1) != std::to_string(port)) continue;
      entry.resize(colon);
    }
    if (!entry.empty() && entry[0] == '.') entry.erase(0, 1);
    if (host == entry) return true;
    if (host.size() > entry.size() &&
        host.compare(host.size() - entry.size(), entry.size(), entry) == 0 &&
        host[host.size() - entry.size() - 1] == '.') {
      return true;
    }
  }
  return false;
}

namespace {

// A TCP connection to host:port (numeric hosts without the resolver, whose async form starts a
// thread).
asio::awaitable<Status> ConnectTcp(const std::string& host, uint16_t port,
                                   const ClientOptions& options,
                                   std::unique_ptr<beast::tcp_stream>* out) {
  auto executor = co_await asio::this_coro::executor;
  std::string where = host + ":" + std::to_string(port);
  beast::error_code ec;
  std::vector<tcp::endpoint> endpoints;
  asio::ip::address numeric = asio::ip::make_address(host, ec);
  if (!ec) {
    endpoints.emplace_back(numeric, port);
  } else {
    ec = {};
    tcp::resolver resolver(executor);
    auto found = co_await resolver.async_resolve(host, std::to_string(port), Redirect(ec));
    if (ec) co_return Unavailable("cannot resolve " + host + ": " + ec.message());
    for (const auto& entry : found) endpoints.push_back(entry.endpoint());
  }
  auto stream = std::make_unique<beast::tcp_stream>(executor);
  stream->expires_after(options.connect_timeout);
  co_await stream->async_connect(endpoints, Redirect(ec));
  if (ec == beast::error::timeout) {
    co_return DeadlineExceeded("cannot connect to " + where + ": timed out");
  }
  if (ec) co_return Unavailable("cannot connect to " + where + ": " + ec.message());
  stream->socket().set_option(tcp::no_delay(true), ec);
  *out = std::move(stream);
  co_return Status::Ok();
}

// Connects to the proxy and asks it (CONNECT) for a tunnel to `url`'s host and port.
asio::awaitable<Status> Tunnel(const Url& url, const ClientOptions& options,
                               std::unique_ptr<beast::tcp_stream>* out) {
  std::string proxy_text = options.proxy;
  if (proxy_text.find("://") == std::string::npos) proxy_text = "http://" + proxy_text;
  std::string credentials;
  size_t host = proxy_text.find("://") + 3;
  size_t at = proxy_text.find('@', host);
  if (at != std::string::npos) {  // http://user:password@host:port
    credentials = proxy_text.substr(host, at - host);
    proxy_text.erase(host, at - host + 1);
  }
  auto proxy = ParseUrl(proxy_text);
  if (!proxy.ok() || proxy->scheme != "http") {
    co_return InvalidArgument("the proxy must be an http:// URL (host and port), got '" +
                              proxy_text + "'");
  }
  BATON_CO_RETURN_IF_ERROR(co_await ConnectTcp(proxy->host, proxy->port, options, out));
  std::string target = url.host + ":" + std::to_string(url.port);
  if (target.find(':') != target.rfind(':'))
    target = "[" + url.host + "]:" + std::to_string(url.port);
  std::string request = "CONNECT " + target + " HTTP/1.1\r\nHost: " + target + "\r\n";
  if (!credentials.empty())
    request += "Proxy-Authorization: Basic " + Base64Encode(credentials) + "\r\n";
  request += "\r\n";
  beast::error_code ec;
  std::string where = "the proxy " + proxy->host + ":" + std::to_string(proxy->port);
  (*out)->expires_after(options.connect_timeout);
  co_await asio::async_write(**out, asio::buffer(request), Redirect(ec));
  std::string answer;
  if (!ec) {
    co_await asio::async_read_until(**out, asio::dynamic_buffer(answer, 16 * 1024), "\r\n\r\n",
                                    Redirect(ec));
  }
  if (ec)
    co_return Unavailable("CONNECT to " + target + " through " + where +
                          " failed: " + ec.message());
  std::string status = answer.substr(0, answer.find("\r\n"));
  if (status.size() < 12 || status.compare(9, 3, "200") != 0) {
    co_return Unavailable(where + " refused CONNECT to " + target + ": " + status +
                          " (check HTTPS_PROXY/NO_PROXY)");
  }
  co_return Status::Ok();
}

}  // namespace

asio::awaitable<Status> ClientConnection::Open(const Url& url, const ClientOptions& options,
                                               asio::ssl::context* ssl,
                                               std::unique_ptr<ClientConnection>* out) {
  std::string where = url.host + ":" + std::to_string(url.port);
  beast::error_code ec;
  auto connection = std::make_unique<ClientConnection>();
  connection->origin_ = Origin(url);
  std::unique_ptr<beast::tcp_stream> tcp_stream;
  if (!options.proxy.empty() && !BypassesProxy(url.host, url.port, options.no_proxy)) {
    BATON_CO_RETURN_IF_ERROR(co_await Tunnel(url, options, &tcp_stream));
  } else {
    BATON_CO_RETURN_IF_ERROR(co_await ConnectTcp(url.host, url.port, options, &tcp_stream));
  }

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
    tls->set_verify_callback(asio::ssl::host_name_verification(url.host));
  }
  beast::get_lowest_layer(*tls).expires_after(options.connect_timeout);
  co_await tls->async_handshake(asio::ssl::stream_base::client, Redirect(ec));
  if (ec) co_return Unavailable("TLS handshake with " + where + " failed: " + ec.message());
  connection->tls_ = std::move(tls);
  *out = std::move(connection);
  co_return Status::Ok();
}

}  // namespace baton::net
