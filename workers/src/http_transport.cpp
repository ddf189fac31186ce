// The HttpTransport seam implemented over net::HttpClient, Baton's one HTTP client.
#include "baton/workers/http_transport.h"

#include <memory>

#include "baton/net/http_client.h"

namespace baton::workers {
namespace {

class ClientTransport : public HttpTransport {
 public:
  explicit ClientTransport(const HttpTransportOptions& options)
      : client_(ToClientOptions(options)) {}

  Result<HttpResponse> Send(const HttpRequest& request) override {
    net::Headers headers;
    for (const auto& [name, value] : request.headers) headers.Add(name, value);
    net::ClientResponse r;
    if (!request.body_file.empty()) {
      net::Upload upload{request.body, request.body_file, request.body_tail, request.stall_timeout,
                         request.on_progress};
      BATON_ASSIGN_OR_RETURN(r, client_.SendUpload(request.method, request.url, upload, headers));
    } else if (request.on_body) {
      net::Download download{request.on_body, request.stall_timeout};
      BATON_ASSIGN_OR_RETURN(r,
                             client_.SendDownload(request.method, request.url, headers, download));
    } else {
      BATON_ASSIGN_OR_RETURN(r, client_.Send(request.method, request.url, request.body, headers));
    }
    HttpResponse out;
    out.status = r.status;
    for (const auto& [name, value] : r.headers.fields()) out.headers.emplace_back(name, value);
    out.body = std::move(r.body);
    return out;
  }

 private:
  static net::ClientOptions ToClientOptions(const HttpTransportOptions& options) {
    net::ClientOptions out;
    out.connect_timeout = options.connect_timeout;
    out.request_timeout = options.request_timeout;
    out.insecure_skip_verify = options.insecure_skip_verify;
    out.ca_file = options.ca_file;
    out.proxy = options.proxy;
    out.no_proxy = options.no_proxy;
    return out;
  }

  net::HttpClient client_;
};

}  // namespace

HttpTransportFactory MakeHttpTransportFactory() {
  return [](const HttpTransportOptions& options) -> std::unique_ptr<HttpTransport> {
    return std::make_unique<ClientTransport>(options);
  };
}

}  // namespace baton::workers
