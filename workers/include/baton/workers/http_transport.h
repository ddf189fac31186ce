// HttpTransport: the seam through which built-in resource types (e.g. `cf`) speak HTTP(S).
//
// MakeHttpTransportFactory() implements it over Baton's one HTTP client (baton/net); cli/
// injects a factory into LocalWorkerOptions, which hands it to resources through
// ResourceContext::http_transport, and tests wrap it to inject faults.
//
// A non-2xx status is a response, not an error; an error Status means the exchange itself
// failed (cannot connect, TLS verification, timeout). Implementations must not put request
// headers or bodies (which carry credentials) into error messages.
//
// Thread-safety: one HttpTransport per thread; a factory may be called from any thread.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "baton/common/status.h"

namespace baton::workers {

using HttpHeaderList = std::vector<std::pair<std::string, std::string>>;

struct HttpRequest {
  std::string method = "GET";  // upper case
  std::string url;             // absolute http:// or https:// URL
  HttpHeaderList headers;      // sent as given (add Content-Type for bodies)
  std::string body;
  // A streamed upload: when set, the body is `body`, then this file's bytes, then `body_tail`,
  // never held in memory whole; `stall_timeout` (no byte written for that long) replaces the
  // overall request timeout while sending, and `on_progress(sent, total)` follows it.
  std::string body_file{};
  std::string body_tail{};
  std::chrono::milliseconds stall_timeout{60'000};
  std::function<void(uint64_t sent, uint64_t total)> on_progress{};
  // A streamed download: when set, a 2xx answer's body goes to `on_body` piece by piece as it
  // arrives (HttpResponse::body stays empty; other answers keep theirs), and `stall_timeout`
  // bounds each read instead of the request timeout. An error it returns ends the exchange and
  // is returned as is.
  std::function<Status(std::string_view piece)> on_body{};
};

struct HttpResponse {
  int status = 0;
  HttpHeaderList headers;
  std::string body;

  // The first value of header `name` (case-insensitive), if present.
  std::optional<std::string> Header(std::string_view name) const;
};

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;
  virtual Result<HttpResponse> Send(const HttpRequest& request) = 0;
};

struct HttpTransportOptions {
  bool insecure_skip_verify = false;  // HTTPS: accept any certificate (cf skip_cert_check)
  std::string ca_file;                // HTTPS: trust this PEM bundle instead of the system's
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds request_timeout{60'000};  // one whole exchange
  std::string proxy{};     // http://[user:password@]host:port reached with CONNECT, "" for none
  std::string no_proxy{};  // NO_PROXY-style list of hosts connected to directly
};

// Makes a transport; may be called from any thread.
using HttpTransportFactory =
    std::function<std::unique_ptr<HttpTransport>(const HttpTransportOptions&)>;

// Transports over net::HttpClient (plain TCP or TLS, proxies); each owns one client with a
// kept-alive connection and is used by one thread.
HttpTransportFactory MakeHttpTransportFactory();

}  // namespace baton::workers
