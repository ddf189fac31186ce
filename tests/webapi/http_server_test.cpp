#include "baton/webapi/http_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "baton/common/sha256.h"
#include "baton/net/http_client.h"
#include "baton/webapi/auth.h"
#include "fakes/openssl_allocations.h"
#include "fakes/server_process.h"

namespace baton::webapi {
namespace {
using net::ClientResponse;
using net::HttpClient;

// A blocking socket to the server for sending bytes no well-behaved client would; reads give
// up after 10 s so a broken server fails the test instead of hanging it.
class RawSocket {
 public:
  explicit RawSocket(uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    timeval tv{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      throw std::runtime_error("connect failed");
    }
  }
  ~RawSocket() { close(fd_); }
  void Send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  // Reads until what arrived ends with `suffix` (or the server closes).
  std::string ReadUntil(std::string_view suffix) {
    std::string out;
    char c;
    while (!out.ends_with(suffix) && recv(fd_, &c, 1, 0) == 1) out.push_back(c);
    return out;
  }
  // Everything until the server closes (or 10 s of silence).
  std::string ReadToEnd() {
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = recv(fd_, buf, sizeof(buf), 0)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }

 private:
  int fd_;
};

nlohmann::json BodyJson(const ClientResponse& r) { return nlohmann::json::parse(r.body); }

class HttpServerTest : public ::testing::Test {
 protected:
  void StartServer(ServerOptions options = {}) {
    Router router;
    router.Add("GET", "/api/v1/teams/:team/pipelines/:pipeline/jobs/:job/builds", [](Request& r) {
      return Response::Json(200, nlohmann::json{{"team", r.Param("team")},
                                                {"pipeline", r.Param("pipeline")},
                                                {"job", r.Param("job")},
                                                {"limit", r.Query("limit").value_or("")},
                                                {"remote", r.remote_address}});
    });
    router.Add("POST", "/echo", [](Request& r) {
      Response res = Response::Text(201, r.body);
      res.headers.Set("X-Seen", r.headers.Get("x-test").value_or("none"));
      return res;
    });
    router.Add("GET", "/boom", [](Request&) -> Response { throw std::runtime_error("kaboom"); });
    router.Add(
        "GET", "/secret", [](Request& r) { return Response::Text(200, r.principal); },
        Access::kToken);
    router.SetTokenValidator([](std::string_view token) -> std::optional<std::string> {
      if (TokenMatchesHash(token, Sha256Hex("s3cret"))) return "alice";
      return std::nullopt;
    });
    server_ = std::make_unique<HttpServer>(std::move(router), options);
    ASSERT_TRUE(server_->Start().ok());
  }
  std::string Url(const std::string& path) { return server_->base_url() + path; }

  std::unique_ptr<HttpServer> server_;
  HttpClient client_;
};

TEST_F(HttpServerTest, PortZeroBindsAFreePortAndReportsIt) {
  StartServer();
  EXPECT_NE(server_->port(), 0);
  EXPECT_EQ(server_->base_url(), "http://127.0.0.1:" + std::to_string(server_->port()));
}

TEST_F(HttpServerTest, RoutesToTheHandlerWithDecodedParametersAndQuery) {
  StartServer();
  auto r = client_.Get(Url("/api/v1/teams/main/pipelines/web%20app/jobs/unit/builds?limit=5"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->headers.Get("content-type"), "application/json");
  auto body = BodyJson(*r);
  EXPECT_EQ(body["pipeline"], "web app");
  EXPECT_EQ(body["job"], "unit");
  EXPECT_EQ(body["limit"], "5");
  EXPECT_TRUE(body["remote"].get<std::string>().starts_with("127.0.0.1:"));
}

TEST_F(HttpServerTest, PostBodyAndHeadersReachTheHandler) {
  StartServer();
  Headers h;
  h.Set("X-Test", "yes");
  auto r = client_.Post(Url("/echo"), "hello", h);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 201);
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(r->headers.Get("x-seen"), "yes");
}

TEST_F(HttpServerTest, UnknownRouteIs404AndWrongMethodIs405) {
  StartServer();
  auto missing = client_.Get(Url("/nope"));
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(BodyJson(*missing)["error"], "not found");
  auto wrong = client_.Delete(Url("/echo"));
  ASSERT_TRUE(wrong.ok());
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->headers.Get("Allow"), "POST");
}

TEST_F(HttpServerTest, BodyOverTheLimitIs413JsonAndTheServerKeepsServing) {
  StartServer({.body_limit = 1024});
  auto r = client_.Post(Url("/echo"), std::string(512 * 1024, 'x'));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(BodyJson(*r)["error"], "payload too large");
  auto ok = client_.Post(Url("/echo"), std::string(1024, 'y'));
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->status, 201);
}

TEST_F(HttpServerTest, DeclaredContentLengthOverTheLimitIs413BeforeTheBodyArrives) {
  StartServer({.body_limit = 1024});
  RawSocket s(server_->port());
  s.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\nabc");
  std::string reply = s.ReadToEnd();
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 413")) << reply;
  EXPECT_NE(reply.find("\"payload too large\""), std::string::npos);
}

TEST_F(HttpServerTest, MalformedRequestsAre400AndNeverCrashTheServer) {
  StartServer();
  for (const std::string& junk : std::vector<std::string>{
           "GARBAGE\r\n\r\n", "GET /x HTTP/9.9\r\n\r\n", "GET /x HTTP/1.1\r\nBad Header\r\n\r\n",
           "POST /echo HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
           "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n", std::string("GET /\0x HTTP/1.1\r\n\r\n", 19)}) {
    RawSocket s(server_->port());
    s.Send(junk);
    std::string reply = s.ReadToEnd();
    EXPECT_TRUE(reply.starts_with("HTTP/1.1 400")) << junk << " -> " << reply;
    EXPECT_NE(reply.find("\"bad request\""), std::string::npos) << reply;
  }
  auto r = client_.Get(Url("/api/v1/teams/t/pipelines/p/jobs/j/builds"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, OversizedHeaderIs431) {
  StartServer({.header_limit = 1024});
  RawSocket s(server_->port());
  s.Send("GET /nope HTTP/1.1\r\nX-Big: " + std::string(4096, 'a') + "\r\n\r\n");
  EXPECT_TRUE(s.ReadToEnd().starts_with("HTTP/1.1 431"));
}

TEST_F(HttpServerTest, ClientThatNeverFinishesItsRequestIsDisconnected) {
  StartServer({.read_timeout = std::chrono::milliseconds(200)});
  RawSocket s(server_->port());
  s.Send("GET /api/v1/teams/t/pipe");  // ... and nothing more (slowloris)
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(s.ReadToEnd(), "");  // closed by the server, well before the 10 s read limit
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST_F(HttpServerTest, HandlerExceptionIs500AndLaterRequestsStillWork) {
  StartServer();
  auto r = client_.Get(Url("/boom"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(BodyJson(*r)["detail"], "kaboom");
  auto again = client_.Get(Url("/api/v1/teams/t/pipelines/p/jobs/j/builds"));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, 200);
}

TEST_F(HttpServerTest, TokenRouteAnswers401WithoutOrWithAWrongTokenAnd200WithTheRightOne) {
  StartServer();
  auto none = client_.Get(Url("/secret"));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->status, 401);
  EXPECT_EQ(none->headers.Get("WWW-Authenticate"), "Bearer");
  EXPECT_EQ(BodyJson(*none)["error"], "unauthorized");
  Headers wrong;
  wrong.Set("Authorization", "Bearer nope");
  EXPECT_EQ(client_.Get(Url("/secret"), wrong)->status, 401);
  Headers right;
  right.Set("Authorization", "Bearer s3cret");
  auto ok = client_.Get(Url("/secret"), right);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(ok->body, "alice");
}

TEST_F(HttpServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  StartServer();
  for (int i = 0; i < 20; ++i) {
    auto r = client_.Get(Url("/api/v1/teams/t/pipelines/p/jobs/j/builds"));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(server_->stats().connections_accepted, 1u);
  EXPECT_EQ(server_->stats().requests_served, 20u);
}

TEST_F(HttpServerTest, PipelinedRequestsOnARawSocketAreAnsweredInOrder) {
  StartServer();
  RawSocket s(server_->port());
  s.Send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\none"
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nConnection: close\r\n\r\ntwo");
  std::string reply = s.ReadToEnd();
  size_t one = reply.find("\r\n\r\none");
  size_t two = reply.find("\r\n\r\ntwo");
  ASSERT_NE(one, std::string::npos) << reply;
  ASSERT_NE(two, std::string::npos) << reply;
  EXPECT_LT(one, two);
}

TEST_F(HttpServerTest, HeadAnswersHeadersWithoutABody) {
  StartServer();
  RawSocket s(server_->port());
  s.Send("HEAD /api/v1/teams/t/pipelines/p/jobs/j/builds HTTP/1.1\r\nConnection: close\r\n\r\n");
  std::string reply = s.ReadToEnd();
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 200")) << reply;
  EXPECT_TRUE(reply.ends_with("\r\n\r\n")) << reply;
  EXPECT_EQ(reply.find("\"team\""), std::string::npos);
}

TEST_F(HttpServerTest, StopClosesIdleKeptAliveConnectionsAndIsIdempotent) {
  StartServer();
  RawSocket s(server_->port());
  s.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
  std::string reply = s.ReadUntil("\r\n\r\nhi");
  EXPECT_TRUE(reply.starts_with("HTTP/1.1 201")) << reply;
  server_->Stop();
  server_->Stop();
  EXPECT_EQ(s.ReadToEnd(), "");  // EOF, not a kept-alive wait until the 10 s read limit
  EXPECT_EQ(server_->stats().open_connections, 0u);
  EXPECT_FALSE(client_.Get(Url("/echo")).ok());
}

// ServerRuntime trims the allocator once quiet after a connection closes (what its requests
// allocated is free then), so each is reported; none once Stop() began, when the owner is going.
TEST_F(HttpServerTest, EveryClosedConnectionIsReportedAndNoneOnceStopBegan) {
  std::atomic<int> closed{0};
  ServerOptions options;
  options.on_connection_closed = [&closed] { ++closed; };
  StartServer(options);
  for (int i = 0; i < 2; ++i) {
    RawSocket s(server_->port());
    s.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi");
    EXPECT_TRUE(s.ReadToEnd().starts_with("HTTP/1.1 201"));
  }
  EXPECT_TRUE(testing::WaitUntil([&] { return closed == 2; }, std::chrono::seconds(10)))
      << closed << " reported";
  RawSocket kept(server_->port());
  kept.Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
  EXPECT_TRUE(kept.ReadUntil("\r\n\r\nhi").starts_with("HTTP/1.1 201"));
  server_->Stop();
  EXPECT_EQ(closed, 2) << "a connection closed by Stop() was reported";
}

TEST_F(HttpServerTest, SecondServerOnATakenPortFailsWithAClearMessage) {
  StartServer();
  HttpServer other(Router(), {.port = server_->port()});
  Status s = other.Start();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("cannot listen on 127.0.0.1:" + std::to_string(server_->port())),
            std::string::npos)
      << s.ToString();
}

TEST(Auth, GeneratedTokensAreLongRandomHex) {
  auto a = GenerateToken();
  auto b = GenerateToken();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 64u);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(a->find_first_not_of("0123456789abcdef"), std::string::npos);
}

// OpenSSL's RAND_bytes and EVP digests bring up its providers (~2 MB of libcrypto resident for
// the life of the process); a server's first start makes and hashes its admin token without them.
TEST(Auth, MakingAndCheckingATokenAllocatesNothingInOpenSsl) {
  if (!testing::OpenSslAllocations::Start()) {
    GTEST_SKIP() << "OpenSSL allocated before this test; CTest runs each test in its own process";
  }
  auto token = GenerateToken();
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(TokenMatchesHash(*token, Sha256Hex(*token)));
  EXPECT_LT(testing::OpenSslAllocations::bytes(), 1024u);
}

TEST(Auth, ATokenMatchesOnlyItsOwnHash) {
  EXPECT_TRUE(TokenMatchesHash("abc", Sha256Hex("abc")));
  EXPECT_FALSE(TokenMatchesHash("abd", Sha256Hex("abc")));
}

TEST(Auth, ConstantTimeEqualsComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("same", "same"));
  EXPECT_FALSE(ConstantTimeEquals("same", "sam"));
  EXPECT_FALSE(ConstantTimeEquals("same", "samE"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

TEST(Auth, BearerTokenAcceptsAnyCaseOfTheSchemeOnly) {
  EXPECT_EQ(BearerToken("Bearer abc"), "abc");
  EXPECT_EQ(BearerToken("bearer   abc "), "abc");
  EXPECT_EQ(BearerToken("Basic abc"), std::nullopt);
  EXPECT_EQ(BearerToken("Bearer "), std::nullopt);
  EXPECT_EQ(BearerToken(""), std::nullopt);
}

}  // namespace
}  // namespace baton::webapi
