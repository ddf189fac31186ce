// How a `cf` push reaches Cloud Foundry: real TLS to the stand-in (skip_cert_check, a CA in
// source.ca_cert, and the error without either), HTTPS_PROXY/NO_PROXY through a small CONNECT
// proxy made here, and a 200 MB app streamed over a throttled link with a stall timeout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>

#include "workers/cf_test_fixture.h"

namespace baton::workers::cftest {
namespace {

using testing::fakecf::SlowLink;

class CfTls : public CfResource {
 protected:
  void Configure(FakeCfOptions& o) override { o.tls = true; }
};

TEST_F(CfTls, TheStandInServesHttps) { EXPECT_EQ(cf_->url().rfind("https://127.0.0.1:", 0), 0u); }

TEST_F(CfTls, AnUntrustedCertificateFailsWithAdvice) {
  auto pushed = Put(WriteApp("api", "x"));
  ASSERT_FALSE(pushed.ok());
  EXPECT_NE(pushed.status().message().find("cf put: login failed: cannot reach the API"),
            std::string::npos)
      << pushed.status().message();
  EXPECT_NE(pushed.status().message().find("certificate verify failed"), std::string::npos)
      << pushed.status().message();
  EXPECT_NE(pushed.status().message().find("give it as source.ca_cert"), std::string::npos);
}

TEST_F(CfTls, SkipCertCheckPushes) {
  Json source = Source();
  source["skip_cert_check"] = true;
  auto pushed = type_->Put(ctx_, source, WriteApp("api", "over tls"), (dir_ / "build").string());
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
  EXPECT_EQ(Get(AppUrl("api") + "/"), "200 over tls\n");
}

TEST_F(CfTls, ACaCertInTheSourceIsTrusted) {
  Json source = Source();
  source["ca_cert"] = testing::ReadFile(cf_->ca_file());
  auto pushed = type_->Put(ctx_, source, WriteApp("api", "trusted"), (dir_ / "build").string());
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
  EXPECT_EQ(Get(AppUrl("api") + "/"), "200 trusted\n");
}

// A CONNECT-only HTTP proxy on 127.0.0.1:0 that records the targets it tunnels to.
class ConnectProxy {
 public:
  ConnectProxy() {
    listener_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(listener_, 16);
    getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] { Accept(); });
  }
  ~ConnectProxy() {
    stop_ = true;
    acceptor_.join();
    for (auto& t : tunnels_) t.join();
    close(listener_);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::vector<std::string> targets() {
    std::lock_guard<std::mutex> lock(mu_);
    return targets_;
  }

 private:
  void Accept() {
    while (!stop_) {
      pollfd p{listener_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      int client = accept(listener_, nullptr, nullptr);
      if (client >= 0) tunnels_.emplace_back([this, client] { Tunnel(client); });
    }
  }

  void Tunnel(int client) {
    std::string head;
    char c;
    while (head.find("\r\n\r\n") == std::string::npos && read(client, &c, 1) == 1) head += c;
    std::string target = head.substr(8, head.find(' ', 8) - 8);  // "CONNECT host:port HTTP/1.1"
    {
      std::lock_guard<std::mutex> lock(mu_);
      targets_.push_back(head.rfind("CONNECT ", 0) == 0 ? target : "not CONNECT: " + head);
    }
    int upstream = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(std::stoi(target.substr(target.rfind(':') + 1))));
    inet_pton(AF_INET, target.substr(0, target.rfind(':')).c_str(), &addr.sin_addr);
    if (connect(upstream, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::string refused = "HTTP/1.1 502 Bad Gateway\r\n\r\n";
      (void)!write(client, refused.data(), refused.size());
    } else {
      std::string ok = "HTTP/1.1 200 Connection established\r\n\r\n";
      (void)!write(client, ok.data(), ok.size());
      Relay(client, upstream);
    }
    close(upstream);
    close(client);
  }

  void Relay(int a, int b) {
    char buf[16384];
    while (!stop_) {
      pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (poll(p, 2, 100) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (!p[i].revents) continue;
        ssize_t n = read(p[i].fd, buf, sizeof buf);
        if (n <= 0 || write(p[1 - i].fd, buf, static_cast<size_t>(n)) != n) return;
      }
    }
  }

  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread acceptor_;
  std::vector<std::thread> tunnels_;  // only the acceptor thread adds
  std::mutex mu_;
  std::vector<std::string> targets_;  // GUARDED_BY(mu_)
};

// Sets environment variables for one test (each test runs in its own process under CTest).
class ScopedEnv {
 public:
  ScopedEnv(std::vector<std::pair<std::string, std::string>> vars) : vars_(std::move(vars)) {
    for (const auto& [k, v] : vars_) setenv(k.c_str(), v.c_str(), 1);
  }
  ~ScopedEnv() {
    for (const auto& [k, v] : vars_) unsetenv(k.c_str());
  }

 private:
  std::vector<std::pair<std::string, std::string>> vars_;
};

TEST_F(CfTls, HttpsProxyIsUsedForEveryRequest) {
  ConnectProxy proxy;
  ScopedEnv env({{"HTTPS_PROXY", proxy.url()}});
  Json source = Source();
  source["ca_cert"] = testing::ReadFile(cf_->ca_file());
  auto pushed = type_->Put(ctx_, source, WriteApp("api", "proxied"), (dir_ / "build").string());
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
  std::string api = cf_->url().substr(std::string("https://").size());
  auto targets = proxy.targets();
  ASSERT_FALSE(targets.empty());
  for (const auto& t : targets) EXPECT_EQ(t, api);
  EXPECT_NE(sink_.text().find("cf: through the proxy " + proxy.url() + " (HTTPS_PROXY)"),
            std::string::npos)
      << sink_.text();
  EXPECT_EQ(Get(AppUrl("api") + "/"), "200 proxied\n");
}

TEST_F(CfTls, NoProxyBypassesTheProxy) {
  ConnectProxy proxy;
  ScopedEnv env({{"HTTPS_PROXY", proxy.url()}, {"NO_PROXY", "example.org, 127.0.0.1"}});
  Json source = Source();
  source["skip_cert_check"] = true;
  auto pushed = type_->Put(ctx_, source, WriteApp("api", "x"), (dir_ / "build").string());
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
  EXPECT_TRUE(proxy.targets().empty());
}

class CfSlowLink : public CfResource {
 protected:
  // The old code's limit was one overall deadline per exchange: make it short, so an upload
  // that takes longer than 2 s only works when streamed with a stall timeout instead.
  void SetUp() override {
    CfResource::SetUp();
    HttpTransportFactory inner = workers::MakeHttpTransportFactory();
    transport_ = [inner](const HttpTransportOptions& o) {
      HttpTransportOptions shorter = o;
      shorter.request_timeout = std::chrono::milliseconds(2000);
      return inner(shorter);
    };
  }

  // build/api/app.jar: app.py and `mb` MB of random bytes, stored (not deflated).
  Json WriteBigJar(int mb) {
    Json params = WriteApp("api", "big");
    fs::path dir = dir_ / "build" / "api";
    std::string script =
        "import os, zipfile\n"
        "with zipfile.ZipFile('app.jar', 'w', zipfile.ZIP_STORED) as z:\n"
        "    z.write('app.py')\n"
        "    z.writestr('big.bin', os.urandom(" +
        std::to_string(mb) + " << 20))\n";
    testing::WriteFile(dir / "make_jar.py", script);
    EXPECT_EQ(std::system(("cd " + dir.string() + " && python3 make_jar.py").c_str()), 0);
    params["path"] = "api/app.jar";
    return params;
  }
};

TEST_F(CfSlowLink, A200MbAppUploadsOverAThrottledLinkWithProgressLines) {
  cf_->SetSlowLink({50ull << 20, std::chrono::milliseconds(0)});  // 50 MB/s: about 4 s
  auto pushed = Put(WriteBigJar(200));
  ASSERT_TRUE(pushed.ok()) << pushed.status().ToString() << "\n" << sink_.text();
  EXPECT_EQ(Get(AppUrl("api") + "/"), "200 big\n");
  size_t lines = 0;
  for (size_t at = sink_.text().find("cf: uploaded "); at != std::string::npos;
       at = sink_.text().find("cf: uploaded ", at + 1)) {
    ++lines;
  }
  EXPECT_GE(lines, 19u) << sink_.text();  // one per 10 MB
  EXPECT_NE(sink_.text().find("MB of 200.0 MB"), std::string::npos) << sink_.text();
}

TEST_F(CfSlowLink, AStalledUploadFailsAfterTheStallTimeout) {
  cf_->SetSlowLink({20 << 10, std::chrono::milliseconds(0)});  // 20 KB/s: buffers fill, stall
  Json params = WriteBigJar(32);  // more than the sockets' buffers hold
  params["upload_stall_timeout"] = 1;
  auto pushed = Put(params);
  ASSERT_FALSE(pushed.ok());
  EXPECT_NE(pushed.status().message().find("cf put: upload failed: timed out after 1s sending to"),
            std::string::npos)
      << pushed.status().message();
}

}  // namespace
}  // namespace baton::workers::cftest
