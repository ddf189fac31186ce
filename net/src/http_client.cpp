#include "baton/net/http_client.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

#include <charconv>
#include <limits>

#include "client_connection.h"

namespace baton::net {

namespace {

constexpr size_t kMaxResponseBody = 1ull << 30;
constexpr size_t kMaxErrorBody = 64 * 1024;
// Room in the read buffer while a body streams in. Beast reads only as much as the buffer has
// room for (at least 512 bytes), and the buffer otherwise stays at the header's size: a fast
// event stream then took ~600 bytes per recvmsg (and a timer reset and an epoll_wait each).
// 64 KiB is the most Beast reads at once.
constexpr size_t kStreamReadBytes = 64 * 1024;

std::string Seconds(std::chrono::milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

Status ExchangeError(const beast::error_code& ec, std::string_view what, const Url& url,
                     std::chrono::milliseconds timeout) {
  std::string where = url.host + ":" + std::to_string(url.port);
  if (ec == beast::error::timeout) {
    return DeadlineExceeded("timed out after " + Seconds(timeout) + " " + std::string(what) + " " +
                            where);
  }
  return Unavailable(std::string(what) + " " + where + " failed: " + ec.message());
}

Headers ToHeaders(const http::fields& fields) {
  Headers headers;
  for (const auto& f : fields) headers.Add(ToStd(f.name_string()), std::string(f.value()));
  return headers;
}

http::request<http::string_body> MakeRequest(std::string_view method, const Url& url,
                                             std::string body, const Headers& headers) {
  http::request<http::string_body> req;
  req.method_string(ToBeast(method));
  req.target(url.target);
  req.version(11);
  req.set(http::field::host, url.host + ":" + std::to_string(url.port));
  req.set(http::field::user_agent, "baton");
  for (const auto& [name, value] : headers.fields()) req.insert(name, value);
  if (!body.empty() && !headers.Has("Content-Type")) {
    req.set(http::field::content_type, "application/json");
  }
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

}  // namespace

Result<Url> ParseUrl(std::string_view text) {
  Url url;
  size_t sep = text.find("://");
  if (sep == std::string_view::npos) return InvalidArgument("not a URL: " + std::string(text));
  url.scheme = std::string(text.substr(0, sep));
  if (url.scheme != "http" && url.scheme != "https") {
    return InvalidArgument("unsupported URL scheme '" + url.scheme + "' in " + std::string(text));
  }
  std::string_view rest = text.substr(sep + 3);
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  url.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (url.target.front() == '?') url.target.insert(0, "/");
  size_t colon = authority.rfind(':');
  size_t bracket = authority.rfind(']');
  url.port = url.scheme == "https" ? 443 : 80;
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    std::string_view port = authority.substr(colon + 1);
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), url.port);
    if (ec != std::errc() || end != port.data() + port.size() || url.port == 0) {
      return InvalidArgument("bad port in URL " + std::string(text));
    }
    authority = authority.substr(0, colon);
  }
  if (authority.size() >= 2 && authority.front() == '[' && authority.back() == ']') {
    authority = authority.substr(1, authority.size() - 2);
  }
  if (authority.empty()) return InvalidArgument("no host in URL " + std::string(text));
  url.host = std::string(authority);
  return url;
}

class HttpClient::Impl {
 public:
  explicit Impl(ClientOptions options);

  Result<ClientResponse> Send(std::string_view method, std::string_view url, std::string body,
                              const Headers& headers);
  Status Stream(std::string_view url, const Headers& headers,
                const std::function<bool(const SseEvent&)>& on_event);
  Result<ClientResponse> SendUpload(std::string_view method, std::string_view url,
                                    const Upload& upload, const Headers& headers);
  Result<ClientResponse> SendDownload(std::string_view method, std::string_view url,
                                      const Headers& headers, const Download& download);

 private:
  // Runs `op` to completion on the private io_context.
  Status RunSync(asio::awaitable<Status> op);
  // `download` null: the whole body into `out`; else streamed (see Download).
  asio::awaitable<Status> Exchange(const Url& url, http::request<http::string_body>& req,
                                   ClientResponse* out, const Download* download = nullptr);
  asio::awaitable<Status> ExchangeOnce(ClientConnection& c, const Url& url,
                                       http::request<http::string_body>& req, ClientResponse* out,
                                       const Download* download, bool* keep_alive, bool* stale);
  asio::awaitable<Status> ReadStreamed(ClientConnection& c, const Url& url,
                                       http::response_parser<http::buffer_body>& parser,
                                       ClientResponse* out, const Download& download);
  asio::awaitable<Status> StreamBody(ClientConnection& c, const Url& url,
                                     const std::function<bool(const SseEvent&)>& on_event);
  asio::awaitable<Status> WriteUpload(ClientConnection& c, const Url& url,
                                      http::request<http::buffer_body>& req, const Upload& upload,
                                      FILE* file, uint64_t total);
  asio::awaitable<Status> ReadResponse(ClientConnection& c, const Url& url, ClientResponse* out);

  ClientOptions options_;
  asio::io_context ioc_;
  asio::ssl::context& Ssl();
  asio::ssl::context* SslFor(const Url& url) { return url.scheme == "https" ? &Ssl() : nullptr; }
  // For https only; plain-http clients never create it (OpenSSL setup, CA bundle: ~30 ms).
  std::optional<asio::ssl::context> ssl_;
  std::unique_ptr<ClientConnection> idle_;  // a kept-alive connection to reuse
};

HttpClient::Impl::Impl(ClientOptions options) : options_(std::move(options)) {}

// Creates the TLS context and loads the trust store on first use, so plain-http clients never
// pay for them (~30-50 ms per CLI command).
asio::ssl::context& HttpClient::Impl::Ssl() {
  if (ssl_) return *ssl_;
  ssl_.emplace(asio::ssl::context::tls_client);
  if (options_.insecure_skip_verify) {
    ssl_->set_verify_mode(asio::ssl::verify_none);
    return *ssl_;
  }
  ssl_->set_verify_mode(asio::ssl::verify_peer);
  beast::error_code ec;
  if (!options_.ca_file.empty()) {
    ssl_->load_verify_file(options_.ca_file, ec);
  } else {
    ssl_->set_default_verify_paths(ec);
  }
  // A bad CA file shows up as a verification failure on the first https request.
  return *ssl_;
}

Status HttpClient::Impl::RunSync(asio::awaitable<Status> op) {
  Status result = Internal("request did not complete");
  asio::co_spawn(ioc_, std::move(op), [&result](std::exception_ptr e, Status s) {
    if (!e) {
      result = std::move(s);
      return;
    }
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      result = Internal(std::string("HTTP client failed: ") + ex.what());
    }
  });
  ioc_.restart();
  ioc_.run();
  return result;
}

Result<ClientResponse> HttpClient::Impl::Send(std::string_view method, std::string_view url_text,
                                              std::string body, const Headers& headers) {
  BATON_ASSIGN_OR_RETURN(Url url, ParseUrl(url_text));
  auto req = MakeRequest(method, url, std::move(body), headers);
  ClientResponse response;
  Status s = RunSync(Exchange(url, req, &response));
  if (!s.ok()) return s;
  return response;
}

Result<ClientResponse> HttpClient::Impl::SendDownload(std::string_view method,
                                                      std::string_view url_text,
                                                      const Headers& headers,
                                                      const Download& download) {
  BATON_ASSIGN_OR_RETURN(Url url, ParseUrl(url_text));
  auto req = MakeRequest(method, url, "", headers);
  ClientResponse response;
  Status s = RunSync(Exchange(url, req, &response, &download));
  if (!s.ok()) return s;
  return response;
}

asio::awaitable<Status> HttpClient::Impl::Exchange(const Url& url,
                                                   http::request<http::string_body>& req,
                                                   ClientResponse* out, const Download* download) {
  std::unique_ptr<ClientConnection> c = std::move(idle_);
  bool reused = c && c->origin() == url.scheme + "://" + url.host + ":" + std::to_string(url.port);
  if (!reused) {
    Status opened = co_await ClientConnection::Open(url, options_, SslFor(url), &c);
    if (!opened.ok()) co_return opened;
  }
  bool keep_alive = false, stale = false;
  Status s = co_await ExchangeOnce(*c, url, req, out, download, &keep_alive, &stale);
  if (!s.ok() && reused &&
      stale) {  // the server may have closed the idle connection: retry once fresh
    Status opened = co_await ClientConnection::Open(url, options_, SslFor(url), &c);
    if (!opened.ok()) co_return opened;
    s = co_await ExchangeOnce(*c, url, req, out, download, &keep_alive, &stale);
  }
  if (s.ok() && keep_alive) idle_ = std::move(c);
  co_return s;
}

asio::awaitable<Status> HttpClient::Impl::ExchangeOnce(ClientConnection& c, const Url& url,
                                                       http::request<http::string_body>& req,
                                                       ClientResponse* out,
                                                       const Download* download, bool* keep_alive,
                                                       bool* stale) {
  beast::error_code ec;
  c.tcp().expires_after(options_.request_timeout);
  co_await c.With([&](auto& s) { return http::async_write(s, req, Redirect(ec)); });
  // A server may answer (413) and close before reading all of a large body: still read.
  bool write_failed = static_cast<bool>(ec);
  if (download) {
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    if (req.method() == http::verb::head) parser.skip(true);
    ec = {};
    co_await c.With(
        [&](auto& s) { return http::async_read_header(s, c.buffer(), parser, Redirect(ec)); });
    *stale = ec == http::error::end_of_stream || ec == asio::error::eof ||
             ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
    if (ec)
      co_return ExchangeError(ec, write_failed ? "sending to" : "reading the response from", url,
                              options_.request_timeout);
    Status read = co_await ReadStreamed(c, url, parser, out, *download);
    *keep_alive = read.ok() && parser.get().keep_alive() && !write_failed;
    co_return read;
  }
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  // A HEAD answer's Content-Length describes the body a GET would get; none follows.
  if (req.method() == http::verb::head) parser.skip(true);
  ec = {};
  co_await c.With([&](auto& s) { return http::async_read(s, c.buffer(), parser, Redirect(ec)); });
  // A kept-alive connection the server closed meanwhile fails like this before any answer.
  *stale = ec == http::error::end_of_stream || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::broken_pipe;
  if (ec)
    co_return ExchangeError(ec, write_failed ? "sending to" : "reading the response from", url,
                            options_.request_timeout);
  auto& msg = parser.get();
  out->status = static_cast<int>(msg.result_int());
  out->headers = ToHeaders(msg);
  out->body = std::move(msg.body());
  *keep_alive = msg.keep_alive() && !write_failed;
  co_return Status::Ok();
}

// Beast's incremental body pattern, as StreamBody: each read fills `chunk` with what arrived.
asio::awaitable<Status> HttpClient::Impl::ReadStreamed(
    ClientConnection& c, const Url& url, http::response_parser<http::buffer_body>& parser,
    ClientResponse* out, const Download& download) {
  out->status = static_cast<int>(parser.get().result_int());
  out->headers = ToHeaders(parser.get().base());
  bool to_sink = out->status >= 200 && out->status < 300;
  std::vector<char> chunk(256 * 1024);
  c.buffer().reserve(kStreamReadBytes);
  beast::error_code ec;
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    c.tcp().expires_after(download.stall_timeout);  // a stall, not a slow link, fails it
    co_await c.With(
        [&](auto& s) { return http::async_read_some(s, c.buffer(), parser, Redirect(ec)); });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return ExchangeError(ec, "reading the response from", url, download.stall_timeout);
    std::string_view got(chunk.data(), chunk.size() - parser.get().body().size);
    if (got.empty()) continue;
    if (to_sink) {
      Status s = download.on_body(got);
      if (!s.ok()) co_return s;
    } else {
      out->body.append(got.substr(0, kMaxErrorBody - std::min(kMaxErrorBody, out->body.size())));
    }
  }
  co_return Status::Ok();
}

Status HttpClient::Impl::Stream(std::string_view url_text, const Headers& headers,
                                const std::function<bool(const SseEvent&)>& on_event) {
  BATON_ASSIGN_OR_RETURN(Url url, ParseUrl(url_text));
  Headers all = headers;
  if (!all.Has("Accept")) all.Set("Accept", "text/event-stream");
  auto req = MakeRequest("GET", url, "", all);
  auto op = [&]() -> asio::awaitable<Status> {
    std::unique_ptr<ClientConnection> c;
    Status opened = co_await ClientConnection::Open(url, options_, SslFor(url), &c);
    if (!opened.ok()) co_return opened;
    beast::error_code ec;
    c->tcp().expires_after(options_.request_timeout);
    co_await c->With([&](auto& s) { return http::async_write(s, req, Redirect(ec)); });
    if (ec) co_return ExchangeError(ec, "sending to", url, options_.request_timeout);
    co_return co_await StreamBody(*c, url, on_event);
  };
  return RunSync(op());
}

asio::awaitable<Status> HttpClient::Impl::StreamBody(
    ClientConnection& c, const Url& url, const std::function<bool(const SseEvent&)>& on_event) {
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  beast::error_code ec;
  co_await c.With(
      [&](auto& s) { return http::async_read_header(s, c.buffer(), parser, Redirect(ec)); });
  if (ec) co_return ExchangeError(ec, "reading the response from", url, options_.request_timeout);
  int status = static_cast<int>(parser.get().result_int());
  std::string error_body;
  SseParser sse(on_event);
  char chunk[16 * 1024];
  c.buffer().reserve(kStreamReadBytes);
  while (!parser.is_done()) {
    parser.get().body().data = chunk;
    parser.get().body().size = sizeof(chunk);
    c.tcp().expires_after(options_.stream_idle_timeout);
    co_await c.With(
        [&](auto& s) { return http::async_read_some(s, c.buffer(), parser, Redirect(ec)); });
    if (ec == http::error::need_buffer) ec = {};
    if (ec)
      co_return ExchangeError(ec, "reading the event stream from", url,
                              options_.stream_idle_timeout);
    std::string_view got(chunk, sizeof(chunk) - parser.get().body().size);
    if (status != 200) {
      error_body.append(got.substr(0, kMaxErrorBody - std::min(kMaxErrorBody, error_body.size())));
    } else if (!sse.Feed(got)) {
      co_return Status::Ok();  // the callback asked to stop; the connection is dropped
    }
  }
  if (status != 200) {
    co_return Unavailable("GET " + url.target + " answered " + std::to_string(status) + ": " +
                          error_body);
  }
  co_return Status::Ok();
}

Result<ClientResponse> HttpClient::Impl::SendUpload(std::string_view method,
                                                    std::string_view url_text, const Upload& upload,
                                                    const Headers& headers) {
  BATON_ASSIGN_OR_RETURN(Url url, ParseUrl(url_text));
  std::unique_ptr<FILE, int (*)(FILE*)> file(fopen(upload.file.c_str(), "rb"), &fclose);
  if (!file) return IoError("cannot open " + upload.file + " to upload: " + strerror(errno));
  struct stat st {};
  if (fstat(fileno(file.get()), &st) != 0) return IoError("cannot stat " + upload.file);
  uint64_t total = upload.head.size() + static_cast<uint64_t>(st.st_size) + upload.tail.size();
  http::request<http::buffer_body> req;
  req.method_string(ToBeast(method));
  req.target(url.target);
  req.version(11);
  req.set(http::field::host, url.host + ":" + std::to_string(url.port));
  req.set(http::field::user_agent, "baton");
  for (const auto& [name, value] : headers.fields()) req.insert(name, value);
  req.content_length(total);
  ClientResponse response;
  auto op = [&]() -> asio::awaitable<Status> {
    std::unique_ptr<ClientConnection> c;
    Status opened = co_await ClientConnection::Open(url, options_, SslFor(url), &c);
    if (!opened.ok()) co_return opened;
    Status sent = co_await WriteUpload(*c, url, req, upload, file.get(), total);
    if (!sent.ok()) co_return sent;
    co_return co_await ReadResponse(*c, url, &response);
  };
  Status s = RunSync(op());
  if (!s.ok()) return s;
  return response;
}

// Beast's incremental body pattern: the serializer asks for more (need_buffer) after each chunk.
asio::awaitable<Status> HttpClient::Impl::WriteUpload(ClientConnection& c, const Url& url,
                                                      http::request<http::buffer_body>& req,
                                                      const Upload& upload, FILE* file,
                                                      uint64_t total) {
  http::request_serializer<http::buffer_body> sr{req};
  beast::error_code ec;
  req.body().data = nullptr;
  req.body().more = true;
  c.tcp().expires_after(upload.stall_timeout);
  co_await c.With([&](auto& s) { return http::async_write_header(s, sr, Redirect(ec)); });
  if (ec) co_return ExchangeError(ec, "sending to", url, upload.stall_timeout);
  std::vector<char> chunk(256 * 1024);
  uint64_t sent = 0;
  size_t head_at = 0, tail_at = 0;
  while (true) {
    size_t n = 0;
    if (head_at < upload.head.size()) {  // head, then the file, then tail
      n = std::min(chunk.size(), upload.head.size() - head_at);
      memcpy(chunk.data(), upload.head.data() + head_at, n);
      head_at += n;
    } else if ((n = fread(chunk.data(), 1, chunk.size(), file)) == 0 &&
               tail_at < upload.tail.size()) {
      if (ferror(file)) co_return IoError("cannot read " + upload.file + " while uploading it");
      n = std::min(chunk.size(), upload.tail.size() - tail_at);
      memcpy(chunk.data(), upload.tail.data() + tail_at, n);
      tail_at += n;
    }
    req.body().data = n ? chunk.data() : nullptr;
    req.body().size = n;
    req.body().more = n != 0;
    c.tcp().expires_after(upload.stall_timeout);  // a stall, not a slow link, fails the upload
    co_await c.With([&](auto& s) { return http::async_write(s, sr, Redirect(ec)); });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) co_return ExchangeError(ec, "sending to", url, upload.stall_timeout);
    sent += n;
    if (n == 0) break;
    if (upload.on_progress) upload.on_progress(sent, total);
  }
  co_return Status::Ok();
}

asio::awaitable<Status> HttpClient::Impl::ReadResponse(ClientConnection& c, const Url& url,
                                                       ClientResponse* out) {
  beast::error_code ec;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxResponseBody);
  c.tcp().expires_after(options_.request_timeout);
  co_await c.With([&](auto& s) { return http::async_read(s, c.buffer(), parser, Redirect(ec)); });
  if (ec) co_return ExchangeError(ec, "reading the response from", url, options_.request_timeout);
  auto& msg = parser.get();
  out->status = static_cast<int>(msg.result_int());
  out->headers = ToHeaders(msg);
  out->body = std::move(msg.body());
  co_return Status::Ok();
}

HttpClient::HttpClient(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpClient::~HttpClient() = default;

Result<ClientResponse> HttpClient::Get(std::string_view url, const Headers& headers) {
  return impl_->Send("GET", url, "", headers);
}
Result<ClientResponse> HttpClient::Delete(std::string_view url, const Headers& headers) {
  return impl_->Send("DELETE", url, "", headers);
}
Result<ClientResponse> HttpClient::Post(std::string_view url, std::string body,
                                        const Headers& headers) {
  return impl_->Send("POST", url, std::move(body), headers);
}
Result<ClientResponse> HttpClient::Put(std::string_view url, std::string body,
                                       const Headers& headers) {
  return impl_->Send("PUT", url, std::move(body), headers);
}
Result<ClientResponse> HttpClient::Send(std::string_view method, std::string_view url,
                                        std::string body, const Headers& headers) {
  return impl_->Send(method, url, std::move(body), headers);
}
Result<ClientResponse> HttpClient::SendUpload(std::string_view method, std::string_view url,
                                              const Upload& upload, const Headers& headers) {
  return impl_->SendUpload(method, url, upload, headers);
}
Result<ClientResponse> HttpClient::SendDownload(std::string_view method, std::string_view url,
                                                const Headers& headers, const Download& download) {
  return impl_->SendDownload(method, url, headers, download);
}
Status HttpClient::StreamEvents(std::string_view url, const Headers& headers,
                                const std::function<bool(const SseEvent&)>& on_event) {
  return impl_->Stream(url, headers, on_event);
}

}  // namespace baton::net
