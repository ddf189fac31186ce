#include "cf-api/fake_cf_frontdoor.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>

namespace baton::testing::fakecf {
namespace {

std::string SslError() {
  char buf[256];
  ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
  return buf;
}

bool AddExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) return false;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return true;
}

Status WritePem(const std::string& path, const std::function<int(FILE*)>& write) {
  FILE* f = fopen(path.c_str(), "w");
  if (!f) return IoError("cannot write " + path + ": " + strerror(errno));
  int ok = write(f);
  fclose(f);
  return ok ? Status::Ok() : Internal("cannot write PEM to " + path + ": " + SslError());
}

void SetNonBlocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

bool WaitFor(int fd, short events, int ms) {
  pollfd p{fd, events, 0};
  return poll(&p, 1, ms) > 0;
}

}  // namespace

Result<SSL_CTX*> MakeTlsContext(const std::string& host, const std::string& dir) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  if (!key) return Internal("cannot make a TLS key: " + SslError());
  X509* cert = X509_new();
  unsigned char serial[8];
  RAND_bytes(serial, sizeof serial);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), (serial[0] << 16) | (serial[1] << 8) | serial[2]);
  X509_set_version(cert, 2);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 7 * 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("baton-fake-cf stand-in"), -1,
                             -1, 0);
  X509_set_issuer_name(cert, name);
  std::string san = "IP:127.0.0.1,DNS:localhost";
  in_addr ip{};
  if (host != "127.0.0.1" && host != "localhost" && host != "0.0.0.0") {
    san += (inet_pton(AF_INET, host.c_str(), &ip) == 1 ? ",IP:" : ",DNS:") + host;
  }
  bool ok = AddExtension(cert, NID_subject_alt_name, san) &&
            AddExtension(cert, NID_basic_constraints, "critical,CA:TRUE") &&
            AddExtension(cert, NID_key_usage, "critical,digitalSignature,keyCertSign") &&
            AddExtension(cert, NID_subject_key_identifier, "hash") &&
            X509_sign(cert, key, EVP_sha256()) > 0;
  Status written =
      ok ? WritePem(dir + "/tls-cert.pem", [&](FILE* f) { return PEM_write_X509(f, cert); })
         : Internal("cannot make the TLS certificate: " + SslError());
  if (written.ok()) {
    written = WritePem(dir + "/tls-key.pem", [&](FILE* f) {
      return PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
    });
  }
  SSL_CTX* ctx = written.ok() ? SSL_CTX_new(TLS_server_method()) : nullptr;
  if (ctx && (SSL_CTX_use_certificate(ctx, cert) != 1 || SSL_CTX_use_PrivateKey(ctx, key) != 1)) {
    written = Internal("cannot use the TLS certificate: " + SslError());
    SSL_CTX_free(ctx);
    ctx = nullptr;
  }
  X509_free(cert);
  EVP_PKEY_free(key);
  if (!written.ok()) return written;
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  return ctx;
}

FrontDoor::FrontDoor(std::string host, uint16_t port, uint16_t backend_port, SSL_CTX* tls,
                     SlowLink link)
    : host_(std::move(host)), port_(port), backend_port_(backend_port), tls_(tls), link_(link) {}

FrontDoor::~FrontDoor() {
  Stop();
  if (tls_) SSL_CTX_free(tls_);
}

void FrontDoor::set_link(SlowLink link) {
  std::lock_guard<std::mutex> lock(mu_);
  link_ = link;
}

Status FrontDoor::Start() {
  // A peer that hangs up must not kill the process: OpenSSL writes to the socket with write(2).
  signal(SIGPIPE, SIG_IGN);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  std::string host = host_ == "localhost" ? "127.0.0.1" : host_;
  if (inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return InvalidArgument("the stand-in listens on IPv4 addresses only, got '" + host_ + "'");
  }
  listener_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  socklen_t len = sizeof addr;
  if (bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener_, 64) != 0 ||
      getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::string why = strerror(errno);
    close(listener_);
    listener_ = -1;
    return Unavailable("cannot listen on " + host_ + ":" + std::to_string(port_) + ": " + why);
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { AcceptLoop(); });
  return Status::Ok();
}

void FrontDoor::Stop() {
  if (listener_ < 0 || stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : open_) {
      if (fd >= 0) shutdown(fd, SHUT_RDWR);
    }
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
  close(listener_);
}

void FrontDoor::AcceptLoop() {
  while (!stopping_) {
    if (!WaitFor(listener_, POLLIN, 100)) continue;
    int client = accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) continue;
    std::lock_guard<std::mutex> lock(mu_);
    open_.push_back(client);
    threads_.emplace_back([this, client] { Serve(client); });
  }
}

namespace {

// One connection's bytes both ways, as a (slow) link. `ssl` is null for plain TCP.
class Pump {
 public:
  Pump(int client, int backend, SSL* ssl, SlowLink link, const std::atomic<bool>& stopping)
      : client_(client), backend_(backend), ssl_(ssl), link_(link), stopping_(stopping) {}

  void Run() {
    while (!stopping_) {
      bool buffered = ssl_ && SSL_pending(ssl_) > 0 && up_.empty();
      pollfd p[2] = {{client_, 0, 0}, {backend_, 0, 0}};
      if (client_open_ && up_.empty()) p[0].events |= POLLIN;
      if (!down_.empty()) p[0].events |= POLLOUT;
      if (backend_open_ && down_.empty()) p[1].events |= POLLIN;
      if (!up_.empty()) p[1].events |= POLLOUT;
      if (poll(p, 2, buffered ? 0 : 100) < 0 && errno != EINTR) return;
      const short in = POLLIN | POLLHUP | POLLERR;
      if (client_open_ && up_.empty() && (buffered || (p[0].revents & in))) ReadClient();
      if (!up_.empty() && (p[1].revents & POLLOUT) && !WriteBackend()) return;
      if (backend_open_ && down_.empty() && (p[1].revents & in)) ReadBackend();
      if (!down_.empty() && (p[0].revents & POLLOUT) && !WriteClient()) return;
      if (!backend_open_ && down_.empty()) return;  // answered and closed by the stand-in
      if (!client_open_ && up_.empty() && !backend_open_) return;
    }
  }

 private:
  void ReadClient() {
    int n = ssl_ ? SSL_read(ssl_, buf_, sizeof buf_)
                 : static_cast<int>(read(client_, buf_, sizeof buf_));
    if (n > 0) {
      Delay(up_last_);
      Throttle(static_cast<uint64_t>(n));
      up_.assign(buf_, n);
      return;
    }
    bool again = ssl_ ? (SSL_get_error(ssl_, n) == SSL_ERROR_WANT_READ ||
                         SSL_get_error(ssl_, n) == SSL_ERROR_WANT_WRITE)
                      : (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
    if (!again) {
      client_open_ = false;
      shutdown(backend_, SHUT_WR);
    }
  }

  bool WriteBackend() {
    ssize_t n = send(backend_, up_.data(), up_.size(), MSG_NOSIGNAL);
    if (n > 0) up_.erase(0, static_cast<size_t>(n));
    return n > 0 || errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }

  void ReadBackend() {
    ssize_t n = read(backend_, buf_, sizeof buf_);
    if (n > 0) {
      Delay(down_last_);
      down_.assign(buf_, static_cast<size_t>(n));
    } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
      backend_open_ = false;
    }
  }

  bool WriteClient() {
    int n = ssl_ ? SSL_write(ssl_, down_.data(), static_cast<int>(down_.size()))
                 : static_cast<int>(send(client_, down_.data(), down_.size(), MSG_NOSIGNAL));
    if (n > 0) {
      down_.erase(0, static_cast<size_t>(n));
      return true;
    }
    if (ssl_) {
      int e = SSL_get_error(ssl_, n);
      return e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ;
    }
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  }

  // Latency: a chunk that starts a new burst (nothing for 50 ms) waits `latency` first.
  void Delay(std::chrono::steady_clock::time_point& last) {
    auto now = std::chrono::steady_clock::now();
    if (link_.latency.count() > 0 && now - last > std::chrono::milliseconds(50)) {
      SleepUntil(now + link_.latency);
    }
    last = std::chrono::steady_clock::now();
  }

  // Sleeps in short steps, so that Stop() is not held up by a slow link.
  void SleepUntil(std::chrono::steady_clock::time_point due) {
    while (!stopping_ && std::chrono::steady_clock::now() < due) {
      std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
          due - std::chrono::steady_clock::now(), std::chrono::milliseconds(20)));
    }
  }

  // Bandwidth: never ahead of `upload_bytes_per_second` since the first byte.
  void Throttle(uint64_t n) {
    if (link_.upload_bytes_per_second == 0) return;
    if (sent_up_ == 0) started_ = std::chrono::steady_clock::now();
    sent_up_ += n;
    auto due =
        started_ + std::chrono::microseconds(sent_up_ * 1'000'000 / link_.upload_bytes_per_second);
    SleepUntil(due);
  }

  int client_, backend_;
  SSL* ssl_;
  SlowLink link_;
  const std::atomic<bool>& stopping_;
  bool client_open_ = true, backend_open_ = true;
  std::string up_, down_;  // read from one side, not yet written to the other
  char buf_[64 * 1024];
  uint64_t sent_up_ = 0;
  std::chrono::steady_clock::time_point started_, up_last_, down_last_;
};

int ConnectBackend(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// The server side of a TLS handshake on a non-blocking socket (10 s at most).
bool Handshake(SSL* ssl, int fd, const std::atomic<bool>& stopping) {
  for (int waited = 0; waited < 100 && !stopping; ++waited) {
    int r = SSL_accept(ssl);
    if (r == 1) return true;
    int e = SSL_get_error(ssl, r);
    if (e == SSL_ERROR_WANT_READ) {
      WaitFor(fd, POLLIN, 100);
    } else if (e == SSL_ERROR_WANT_WRITE) {
      WaitFor(fd, POLLOUT, 100);
    } else {
      return false;  // e.g. the client did not trust the certificate
    }
  }
  return false;
}

}  // namespace

void FrontDoor::Serve(int client) {
  int one = 1;
  setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int backend = ConnectBackend(backend_port_);
  SSL* ssl = tls_ && backend >= 0 ? SSL_new(tls_) : nullptr;
  SlowLink link;
  {
    std::lock_guard<std::mutex> lock(mu_);
    link = link_;
  }
  if (backend >= 0) {
    setsockopt(backend, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    SetNonBlocking(client);
    SetNonBlocking(backend);
    if (ssl) SSL_set_fd(ssl, client);
    if (!ssl || Handshake(ssl, client, stopping_))
      Pump(client, backend, ssl, link, stopping_).Run();
  }
  if (ssl) SSL_free(ssl);
  if (backend >= 0) close(backend);
  std::lock_guard<std::mutex> lock(mu_);
  for (int& fd : open_) {
    if (fd == client) fd = -1;  // Stop() must not shut down a reused descriptor
  }
  close(client);
}

}  // namespace baton::testing::fakecf
