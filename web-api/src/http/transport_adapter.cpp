#include <memory>

#include "baton/webapi/http_client.h"
#include "baton/webapi/http_transport_adapter.h"

namespace baton::webapi {
namespace {

class ClientTransport : public workers::HttpTransport {
 public:
  explicit ClientTransport(const workers::HttpTransportOptions& options)
      : client_(ToClientOptions(options)) {}

  Result<workers::HttpResponse> Send(const workers::HttpRequest& request) override {
    Headers headers;
    for (const auto& [name, value] : request.headers) headers.Add(name, value);
    ClientResponse r;
    if (!request.body_file.empty()) {
      Upload upload{request.body, request.body_file, request.body_tail, request.stall_timeout,
                    request.on_progress};
      BATON_ASSIGN_OR_RETURN(r, client_.SendUpload(request.method, request.url, upload, headers));
    } else {
      BATON_ASSIGN_OR_RETURN(r, client_.Send(request.method, request.url, request.body, headers));
    }
    workers::HttpResponse out;
    out.status = r.status;
    for (const auto& [name, value] : r.headers.fields()) out.headers.emplace_back(name, value);
    out.body = std::move(r.body);
    return out;
  }

 private:
  static ClientOptions ToClientOptions(const workers::HttpTransportOptions& options) {
    ClientOptions out;
    out.connect_timeout = options.connect_timeout;
    out.request_timeout = options.request_timeout;
    out.insecure_skip_verify = options.insecure_skip_verify;
    out.ca_file = options.ca_file;
    out.proxy = options.proxy;
    out.no_proxy = options.no_proxy;
    return out;
  }

  HttpClient client_;
};

}  // namespace

workers::HttpTransportFactory MakeHttpTransportFactory() {
  return
      [](const workers::HttpTransportOptions& options) -> std::unique_ptr<workers::HttpTransport> {
        return std::make_unique<ClientTransport>(options);
      };
}

}  // namespace baton::webapi
