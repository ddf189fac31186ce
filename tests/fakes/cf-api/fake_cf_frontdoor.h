// Private to the cf stand-in: its public port. FrontDoor accepts plain TCP or TLS (with a
// certificate made at start) and pumps the bytes to the stand-in's internal HttpServer, as a
// slow link when asked (upload bandwidth and latency), so real TLS, CA bundles and big uploads
// over slow links are tested against the same Cloud Controller stand-in.
//
// Thread-safety: Start/Stop from one thread; one thread per connection inside.
#pragma once

#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "baton/common/status.h"
#include "cf-api/fake_cf.h"

namespace baton::testing::fakecf {

// A self-signed certificate (also its own CA) for 127.0.0.1 and localhost, written as PEM to
// `dir`/tls-cert.pem and `dir`/tls-key.pem; returns a server SSL_CTX using it.
Result<SSL_CTX*> MakeTlsContext(const std::string& host, const std::string& dir);

class FrontDoor {
 public:
  // `tls` (owned, may be null) makes it a TLS port.
  FrontDoor(std::string host, uint16_t port, uint16_t backend_port, SSL_CTX* tls, SlowLink link);
  ~FrontDoor();
  FrontDoor(const FrontDoor&) = delete;
  FrontDoor& operator=(const FrontDoor&) = delete;

  Status Start();
  void Stop();
  uint16_t port() const { return port_; }
  void set_link(SlowLink link);

 private:
  void AcceptLoop();
  void Serve(int client);

  std::string host_;
  uint16_t port_;
  uint16_t backend_port_;
  SSL_CTX* tls_;
  std::mutex mu_;
  SlowLink link_;                     // GUARDED_BY(mu_)
  std::vector<int> open_;             // GUARDED_BY(mu_): client sockets, shut down by Stop()
  std::vector<std::thread> threads_;  // GUARDED_BY(mu_)
  int listener_ = -1;
  std::atomic<bool> stopping_{false};
  std::thread acceptor_;
};

}  // namespace baton::testing::fakecf
