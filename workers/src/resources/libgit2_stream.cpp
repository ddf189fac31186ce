#include "resources/libgit2_stream.h"

#include <fcntl.h>
#include <git2.h>
#include <git2/sys/stream.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace baton::workers::resources {
namespace {

using SteadyClock = std::chrono::steady_clock;

thread_local GitIoLimits current_limits;

// The first four fields repeat libgit2 1.5's private git_socket_stream: its ssh transport takes
// the socket of the stream git_socket_stream_new gave it from there (GIT_CONTAINER_OF).
struct BatonSocketStream {
  git_stream parent;
  char* host;
  char* port;
  int s;
  GitIoLimits limits;  // of the thread that opened the connection
};

BatonSocketStream* Self(git_stream* stream) { return reinterpret_cast<BatonSocketStream*>(stream); }

std::string Where(const BatonSocketStream& st) {
  return std::string(st.host ? st.host : "?") + ":" + (st.port ? st.port : "?");
}

long Seconds(Duration d) {
  return static_cast<long>(std::chrono::duration_cast<std::chrono::seconds>(d).count());
}

int Fail(const std::string& message) {
  git_error_set_str(GIT_ERROR_NET, message.c_str());
  return -1;
}

enum class Wait { kReady, kTimedOut, kCancelled, kError };

// Waits until `fd` is ready for `events`, in slices short enough to notice a cancel promptly.
// Real time on purpose: this bounds a socket wait, it schedules nothing.
Wait WaitFor(int fd, short events, Duration timeout, const std::atomic<bool>* cancelled) {
  const auto deadline = SteadyClock::now() + timeout;
  for (;;) {
    if (cancelled && cancelled->load()) return Wait::kCancelled;
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - SteadyClock::now());
    if (left.count() <= 0) return Wait::kTimedOut;
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 200)));
    if (rc > 0) return Wait::kReady;  // errors and hang-ups too: the next call reports them
    if (rc < 0 && errno != EINTR) return Wait::kError;
  }
}

// Connects `fd` (non-blocking) to `addr`; 0, or -1 with `why` set.
int ConnectOne(int fd, const addrinfo& addr, const GitIoLimits& limits, std::string* why) {
  if (::connect(fd, addr.ai_addr, addr.ai_addrlen) == 0) return 0;
  if (errno != EINPROGRESS) {
    *why = std::strerror(errno);
    return -1;
  }
  switch (WaitFor(fd, POLLOUT, limits.connect_timeout, limits.cancelled)) {
    case Wait::kReady: {
      int err = 0;
      socklen_t len = sizeof err;
      if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 && err == 0) return 0;
      *why = std::strerror(err ? err : errno);
      return -1;
    }
    case Wait::kTimedOut:
      *why = "no answer within " + std::to_string(Seconds(limits.connect_timeout)) +
             "s (connect timeout)";
      return -1;
    case Wait::kCancelled:
      *why = "cancelled";
      return -1;
    case Wait::kError:
      *why = std::strerror(errno);
      return -1;
  }
  return -1;
}

int StreamConnect(git_stream* stream) {
  BatonSocketStream& st = *Self(stream);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_family = AF_UNSPEC;
  addrinfo* info = nullptr;
  if (int rc = ::getaddrinfo(st.host, st.port, &hints, &info); rc != 0) {
    return Fail("cannot resolve " + std::string(st.host) + ": " + ::gai_strerror(rc));
  }
  std::string why = "no address";
  for (addrinfo* p = info; p && st.s < 0; p = p->ai_next) {
    int fd = ::socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, p->ai_protocol);
    if (fd < 0) continue;
    if (ConnectOne(fd, *p, st.limits, &why) == 0) {
      // Blocking again for ssh, which uses the socket directly; Baton's reads never block.
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
      st.s = fd;
    } else {
      ::close(fd);
      if (why == "cancelled" || why.find("timeout") != std::string::npos) break;
    }
  }
  ::freeaddrinfo(info);
  if (st.s < 0) return Fail("cannot connect to " + Where(st) + ": " + why);
  return 0;
}

// Why a wait for the remote ended without data, as libgit2's error; always -1.
ssize_t WaitFailed(const BatonSocketStream& st, Wait w, const char* doing) {
  if (w == Wait::kCancelled) return Fail(std::string(doing) + " " + Where(st) + ": cancelled");
  if (w == Wait::kTimedOut) {
    return Fail(Where(st) + " accepted the connection but sent nothing for " +
                std::to_string(Seconds(st.limits.idle_timeout)) + "s (read timeout)");
  }
  return Fail(std::string(doing) + " " + Where(st) + ": " + std::strerror(errno));
}

ssize_t StreamRead(git_stream* stream, void* data, size_t len) {
  BatonSocketStream& st = *Self(stream);
  for (;;) {
    ssize_t n = ::recv(st.s, data, len, MSG_DONTWAIT);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return WaitFailed(st, Wait::kError, "read from");
    Wait w = WaitFor(st.s, POLLIN, st.limits.idle_timeout, st.limits.cancelled);
    if (w != Wait::kReady) return WaitFailed(st, w, "read from");
  }
}

ssize_t StreamWrite(git_stream* stream, const char* data, size_t len, int /*flags*/) {
  BatonSocketStream& st = *Self(stream);
  for (;;) {
    ssize_t n = ::send(st.s, data, len, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n >= 0) return n;
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) return WaitFailed(st, Wait::kError, "write to");
    Wait w = WaitFor(st.s, POLLOUT, st.limits.idle_timeout, st.limits.cancelled);
    if (w != Wait::kReady) return WaitFailed(st, w, "write to");
  }
}

int StreamClose(git_stream* stream) {
  BatonSocketStream& st = *Self(stream);
  int rc = st.s >= 0 ? ::close(st.s) : 0;
  st.s = -1;
  return rc;
}

void StreamFree(git_stream* stream) {
  BatonSocketStream* st = Self(stream);
  if (st->s >= 0) ::close(st->s);
  std::free(st->host);
  std::free(st->port);
  delete st;
}

int NewStream(git_stream** out, const char* host, const char* port) {
  auto* st = new BatonSocketStream{};
  st->parent.version = GIT_STREAM_VERSION;
  st->parent.connect = &StreamConnect;
  st->parent.read = &StreamRead;
  st->parent.write = &StreamWrite;
  st->parent.close = &StreamClose;
  st->parent.free = &StreamFree;
  st->host = ::strdup(host ? host : "");
  st->port = ::strdup(port ? port : "");
  st->s = -1;
  st->limits = current_limits;
  *out = &st->parent;
  return 0;
}

}  // namespace

ScopedGitIoLimits::ScopedGitIoLimits(const GitIoLimits& limits) : previous_(current_limits) {
  current_limits = limits;
}

ScopedGitIoLimits::~ScopedGitIoLimits() { current_limits = previous_; }

void RegisterGitSocketStream() {
  static std::once_flag once;
  std::call_once(once, [] {
    git_stream_registration registration{};
    registration.version = GIT_STREAM_VERSION;
    registration.init = &NewStream;
    git_stream_register(GIT_STREAM_STANDARD, &registration);
  });
}

}  // namespace baton::workers::resources
