#include "baton/net/http_client.h"

#include <utility>  // before Boost (asio awaitable.hpp needs it under GCC 12)

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <cstdlib>
#include <thread>

#include "baton/webapi/http_server.h"
#include "fakes/test_env.h"

namespace baton::net {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using webapi::HttpServer;
using webapi::Request;
using webapi::Response;
using webapi::Router;
using webapi::ServerOptions;

TEST(ParseUrl, SplitsSchemeHostPortAndTarget) {
  auto u = ParseUrl("http://127.0.0.1:8080/api/v1/info?x=1").value();
  EXPECT_EQ(u.scheme, "http");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, 8080);
  EXPECT_EQ(u.target, "/api/v1/info?x=1");
  auto defaults = ParseUrl("https://ci.example.com").value();
  EXPECT_EQ(defaults.port, 443);
  EXPECT_EQ(defaults.target, "/");
  auto v6 = ParseUrl("http://[::1]:9/?q").value();
  EXPECT_EQ(v6.host, "::1");
  EXPECT_EQ(v6.port, 9);
  EXPECT_EQ(v6.target, "/?q");
}

TEST(ParseUrl, RejectsWhatIsNotAnHttpUrl) {
  EXPECT_FALSE(ParseUrl("ftp://x/").ok());
  EXPECT_FALSE(ParseUrl("localhost:8080").ok());
  EXPECT_FALSE(ParseUrl("http://:80/").ok());
  EXPECT_FALSE(ParseUrl("http://x:99999/").ok());
  EXPECT_FALSE(ParseUrl("http://x:80a/").ok());
}

TEST(HttpClient, RefusedConnectionSaysWhereAndWhy) {
  asio::io_context ioc;
  tcp::acceptor probe(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  uint16_t port = probe.local_endpoint().port();
  probe.close();  // nothing listens there now
  HttpClient client;
  auto r = client.Get("http://127.0.0.1:" + std::to_string(port) + "/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(r.status().message(),
            "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

TEST(HttpClient, SilentServerTimesOutWithAClearMessage) {
  asio::io_context ioc;
  // Listening but never accepting: the kernel completes the connection, nobody answers.
  tcp::acceptor silent(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  uint16_t port = silent.local_endpoint().port();
  HttpClient client({.request_timeout = std::chrono::milliseconds(200)});
  auto r = client.Get("http://127.0.0.1:" + std::to_string(port) + "/");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDeadlineExceeded);
  EXPECT_EQ(r.status().message(),
            "timed out after 200ms reading the response from 127.0.0.1:" + std::to_string(port));
}

TEST(HttpClient, SendsEveryMethodWithBodyAndHeaders) {
  Router router;
  for (std::string method : {"GET", "POST", "PUT", "DELETE", "PATCH"}) {
    router.Add(method, "/thing", [](Request& r) {
      Response res = Response::Text(200, r.method + " " + r.body);
      res.headers.Set("X-Content-Type", r.headers.Get("content-type").value_or(""));
      res.headers.Set("X-Auth", r.headers.Get("authorization").value_or(""));
      return res;
    });
  }
  HttpServer server(std::move(router), {});
  ASSERT_TRUE(server.Start().ok());
  std::string url = server.base_url() + "/thing";
  HttpClient client;
  Headers auth;
  auth.Set("Authorization", "Bearer t");
  EXPECT_EQ(client.Get(url, auth)->body, "GET ");
  EXPECT_EQ(client.Get(url, auth)->headers.Get("X-Auth"), "Bearer t");
  auto post = client.Post(url, "{\"a\":1}");
  EXPECT_EQ(post->body, "POST {\"a\":1}");
  EXPECT_EQ(post->headers.Get("X-Content-Type"), "application/json");
  Headers yaml;
  yaml.Set("Content-Type", "application/x-yaml");
  auto put = client.Put(url, "a: 1", yaml);
  EXPECT_EQ(put->body, "PUT a: 1");
  EXPECT_EQ(put->headers.Get("X-Content-Type"), "application/x-yaml");
  EXPECT_EQ(client.Delete(url)->body, "DELETE ");
  EXPECT_EQ(client.Send("PATCH", url, "p", {})->body, "PATCH p");
}

TEST(HttpClient, HeadReadsTheHeadersWithoutWaitingForABody) {
  Router router;
  router.Add("GET", "/blob", [](Request&) { return Response::Text(200, "twelve bytes"); });
  HttpServer server(std::move(router), {});
  ASSERT_TRUE(server.Start().ok());
  ClientOptions options;
  options.request_timeout = std::chrono::seconds(20);  // a client waiting for a body hangs here
  HttpClient client(options);
  auto head = client.Send("HEAD", server.base_url() + "/blob", "", {});
  ASSERT_TRUE(head.ok()) << head.status().ToString();
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->body, "");
  EXPECT_EQ(head->headers.Get("Content-Length"), "12");
  auto get = client.Get(server.base_url() + "/blob");  // the kept-alive connection still works
  ASSERT_TRUE(get.ok()) << get.status().ToString();
  EXPECT_EQ(get->body, "twelve bytes");
}

TEST(HttpClient, ReconnectsWhenTheServerClosedTheKeptAliveConnection) {
  Router router;
  router.Add("GET", "/x", [](Request&) { return Response::Text(200, "x"); });
  auto first = std::make_unique<HttpServer>(std::move(router), ServerOptions{});
  ASSERT_TRUE(first->Start().ok());
  uint16_t port = first->port();
  HttpClient client;
  std::string url = first->base_url() + "/x";
  ASSERT_EQ(client.Get(url)->status, 200);
  first.reset();  // closes the kept-alive connection
  Router again;
  again.Add("GET", "/x", [](Request&) { return Response::Text(200, "second"); });
  HttpServer second(std::move(again), {.port = port});
  ASSERT_TRUE(second.Start().ok());
  auto r = client.Get(url);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->body, "second");
}

TEST(HttpClient, DownloadStreamsASuccessfulBodyInPiecesAndKeepsTheConnection) {
  std::string big(5 * 1024 * 1024 + 7, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 % 251);
  Router router;
  router.Add("GET", "/blob", [&big](Request&) { return Response::Text(200, big); });
  router.Add("GET", "/missing", [](Request&) { return Response::Text(404, "no such blob"); });
  HttpServer server(std::move(router), {});
  ASSERT_TRUE(server.Start().ok());
  HttpClient client;
  std::string got;
  size_t pieces = 0, largest = 0;
  Download download{[&](std::string_view piece) {
    got.append(piece);
    ++pieces;
    largest = std::max(largest, piece.size());
    return Status::Ok();
  }};
  auto r = client.SendDownload("GET", server.base_url() + "/blob", {}, download);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "");  // it went to on_body
  EXPECT_TRUE(got == big) << got.size() << " bytes of " << big.size();
  EXPECT_GT(pieces, 1u);
  EXPECT_LE(largest, 256u * 1024);  // never the whole body at once
  // Read 64 KiB at a time when that much has arrived, not ~512 bytes (10,000 pieces).
  EXPECT_LE(pieces, big.size() / (16 * 1024)) << "pieces of " << big.size() / pieces << " bytes";

  // Other answers keep their (error) body where Send puts it; on_body hears nothing.
  got.clear();
  auto missing = client.SendDownload("GET", server.base_url() + "/missing", {}, download);
  ASSERT_TRUE(missing.ok()) << missing.status().ToString();
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, "no such blob");
  EXPECT_EQ(got, "");
  EXPECT_EQ(client.Get(server.base_url() + "/missing")->body, "no such blob");
}

TEST(HttpClient, DownloadStopsWithTheErrorTheBodyConsumerReturns) {
  std::string big(2 * 1024 * 1024, 'x');
  Router router;
  router.Add("GET", "/blob", [&big](Request&) { return Response::Text(200, big); });
  HttpServer server(std::move(router), {});
  ASSERT_TRUE(server.Start().ok());
  HttpClient client;
  size_t calls = 0;
  Download refuse{[&](std::string_view) {
    ++calls;
    return FailedPrecondition("the blob is bigger than its manifest says");
  }};
  auto r = client.SendDownload("GET", server.base_url() + "/blob", {}, refuse);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "the blob is bigger than its manifest says");
  EXPECT_EQ(calls, 1u);
  auto again = client.Get(server.base_url() + "/blob");  // a fresh connection works
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->body.size(), big.size());
}

// A one-request-per-connection TLS server with a self-signed certificate for "localhost".
class TlsServer {
 public:
  explicit TlsServer(const std::filesystem::path& dir) {
    cert_ = dir / "cert.pem";
    std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
        " -subj /CN=localhost -addext subjectAltName=DNS:localhost -keyout " +
        (dir / "key.pem").string() + " -out " + cert_.string() + " 2>/dev/null";
    ok_ = std::system(cmd.c_str()) == 0;
    if (!ok_) return;
    ctx_.use_certificate_chain_file(cert_.string());
    ctx_.use_private_key_file((dir / "key.pem").string(), asio::ssl::context::pem);
    acceptor_.open(tcp::v4());
    acceptor_.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    acceptor_.listen();
    thread_ = std::thread([this] { Serve(); });
  }
  ~TlsServer() {
    if (!ok_) return;
    boost::system::error_code ec;
    stopping_ = true;
    tcp::socket poke(ioc_);
    poke.connect(acceptor_.local_endpoint(), ec);  // wake accept()
    thread_.join();
  }
  bool ok() const { return ok_; }
  uint16_t port() const { return acceptor_.local_endpoint().port(); }
  const std::filesystem::path& cert() const { return cert_; }

 private:
  void Serve() {
    while (!stopping_) {
      boost::system::error_code ec;
      tcp::socket socket(ioc_);
      acceptor_.accept(socket, ec);
      if (ec || stopping_) return;
      boost::beast::ssl_stream<tcp::socket> tls(std::move(socket), ctx_);
      tls.handshake(asio::ssl::stream_base::server, ec);
      if (ec) continue;  // the client rejected our certificate
      boost::beast::flat_buffer buffer;
      http::request<http::string_body> req;
      http::read(tls, buffer, req, ec);
      http::response<http::string_body> res{http::status::ok, 11};
      res.body() = "tls ok " + std::string(req[http::field::host]);
      res.keep_alive(false);
      res.prepare_payload();
      http::write(tls, res, ec);
      tls.shutdown(ec);
    }
  }

  bool ok_ = false;
  std::atomic<bool> stopping_{false};
  std::filesystem::path cert_;
  asio::io_context ioc_;
  asio::ssl::context ctx_{asio::ssl::context::tls_server};
  tcp::acceptor acceptor_{ioc_};
  std::thread thread_;
};

TEST(HttpClient, HttpsVerifiesTheCertificateUnlessToldNotTo) {
  testing::TempDir dir;
  TlsServer server(dir.path());
  ASSERT_TRUE(server.ok()) << "openssl could not make a certificate";
  std::string url = "https://localhost:" + std::to_string(server.port()) + "/";

  HttpClient strict;
  auto rejected = strict.Get(url);
  ASSERT_FALSE(rejected.ok());
  EXPECT_NE(rejected.status().message().find("TLS handshake with localhost:"), std::string::npos);
  EXPECT_NE(rejected.status().message().find("certificate verify failed"), std::string::npos)
      << rejected.status().ToString();

  HttpClient insecure({.insecure_skip_verify = true});
  auto accepted = insecure.Get(url);
  ASSERT_TRUE(accepted.ok()) << accepted.status().ToString();
  EXPECT_EQ(accepted->body, "tls ok localhost:" + std::to_string(server.port()));
}

TEST(HttpClient, HttpsTrustsACaFileAndChecksTheHostName) {
  testing::TempDir dir;
  TlsServer server(dir.path());
  ASSERT_TRUE(server.ok()) << "openssl could not make a certificate";
  HttpClient trusting({.ca_file = server.cert().string()});
  auto ok = trusting.Get("https://localhost:" + std::to_string(server.port()) + "/");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->status, 200);
  // The certificate names "localhost", not "127.0.0.1".
  auto wrong_name = trusting.Get("https://127.0.0.1:" + std::to_string(server.port()) + "/");
  ASSERT_FALSE(wrong_name.ok());
  EXPECT_NE(wrong_name.status().message().find("certificate verify failed"), std::string::npos)
      << wrong_name.status().ToString();
}

}  // namespace
}  // namespace baton::net
