// HttpClient: a synchronous HTTP/1.1 client for the CLI and tests, over plain TCP or TLS.
//
//   HttpClient client;
//   Result<ClientResponse> r = client.Get("http://127.0.0.1:8080/api/v1/info");
//   Status s = client.StreamEvents(url, {}, [](const SseEvent& e) { ...; return true; });
//
// Non-2xx statuses are responses, not errors; a Status error means the exchange itself failed
// ("cannot connect to 127.0.0.1:8080: connection refused", "timed out after 30s reading the
// response from ..."). HTTPS verifies the certificate chain and host name (SNI is sent) unless
// insecure_skip_verify. One kept-alive connection is reused for consecutive requests to the same
// origin.
//
// Thread-safety: one HttpClient per thread; distinct clients are independent.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "baton/common/status.h"
#include "baton/net/http_types.h"
#include "baton/net/sse.h"

namespace baton::net {

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{10'000};
  // Whole exchange for ordinary requests.
  std::chrono::milliseconds request_timeout{30'000};
  // StreamEvents: the longest silence (no bytes at all) tolerated before giving up. Servers
  // send keep-alive comments, so this only trips on a dead peer.
  std::chrono::milliseconds stream_idle_timeout{60'000};
  bool insecure_skip_verify = false;  // HTTPS: accept any certificate
  std::string ca_file{};              // HTTPS: trust this PEM bundle instead of the system's
  // An http:// proxy (user:password@ allowed) reached with CONNECT, for both http and https
  // targets; "" for none. Hosts matching `no_proxy` (comma-separated: "*", a host or IP, or a
  // domain that also matches its subdomains, optionally :port) are connected to directly.
  std::string proxy{};
  std::string no_proxy{};
};

// True when `host`:`port` is to be connected to directly, per a NO_PROXY list.
bool BypassesProxy(const std::string& host, uint16_t port, const std::string& no_proxy);

// A streamed request body: `head`, then the bytes of `file`, then `tail`, never held in memory
// whole. Instead of request_timeout over the exchange, `stall_timeout` bounds each write (no
// progress for that long fails it); request_timeout then bounds reading the answer.
struct Upload {
  std::string head;
  std::string file;
  std::string tail;
  std::chrono::milliseconds stall_timeout{60'000};
  // Called after each chunk is written, with the bytes sent so far and the total.
  std::function<void(uint64_t sent, uint64_t total)> on_progress{};
};

// A streamed response body: a 2xx answer's body goes to `on_body` piece by piece as it arrives
// (no size limit, never held in memory whole) and ClientResponse::body stays empty; other
// answers' bodies (the first 64 KiB) are in ClientResponse::body as usual. An error `on_body`
// returns ends the exchange (the connection is closed) and is returned as is. Instead of
// request_timeout over the exchange, `stall_timeout` bounds each read of the body.
struct Download {
  std::function<Status(std::string_view piece)> on_body;
  std::chrono::milliseconds stall_timeout{60'000};
};

struct ClientResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

// The parts of an http(s) URL.
struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;
  uint16_t port = 0;
  std::string target;  // path and query, at least "/"
};
// Parses "http://host[:port]/path?query" (IPv6 literals in brackets).
Result<Url> ParseUrl(std::string_view url);

class HttpClient {
 public:
  explicit HttpClient(ClientOptions options = {});
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  Result<ClientResponse> Get(std::string_view url, const Headers& headers = {});
  Result<ClientResponse> Delete(std::string_view url, const Headers& headers = {});
  // `headers` without Content-Type get "application/json".
  Result<ClientResponse> Post(std::string_view url, std::string body, const Headers& headers = {});
  Result<ClientResponse> Put(std::string_view url, std::string body, const Headers& headers = {});
  Result<ClientResponse> Send(std::string_view method, std::string_view url, std::string body,
                              const Headers& headers);
  // Sends `upload` as the body (Content-Length set), on a fresh connection. Set Content-Type in
  // `headers`.
  Result<ClientResponse> SendUpload(std::string_view method, std::string_view url,
                                    const Upload& upload, const Headers& headers);
  // Sends a request without a body and streams a 2xx answer's body to `download.on_body`.
  // Reuses the kept-alive connection as Send does.
  Result<ClientResponse> SendDownload(std::string_view method, std::string_view url,
                                      const Headers& headers, const Download& download);

  // GETs a text/event-stream and calls `on_event` per event until the server ends the stream
  // (OK), `on_event` returns false (OK), or an error occurs. A non-200 answer is an error whose
  // message includes the status and body. Use a `Last-Event-ID` header to resume.
  Status StreamEvents(std::string_view url, const Headers& headers,
                      const std::function<bool(const SseEvent&)>& on_event);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace baton::net
