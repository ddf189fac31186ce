// Baton's socket stream for libgit2: every git network connection (git://, http(s)://, ssh://)
// goes through it, so that a remote which accepts and never answers cannot hold a check or a get
// for ever. libgit2 1.5 (Debian 12) has no GIT_OPT_SET_SERVER_CONNECT_TIMEOUT /
// GIT_OPT_SET_SERVER_TIMEOUT (1.7+), so Baton registers its own GIT_STREAM_STANDARD stream:
// connect, read and write wait with poll(2) in short slices, give up after the connect or idle
// timeout, and stop at once when the step is cancelled (check_timeout, abort, step timeout).
// TLS (mbedTLS in Debian's build) runs on top of this stream; ssh reads the socket directly
// after the connect, so for ssh only the connect timeout and cancel-before-connect apply.
// Private to workers/.
#pragma once

#include <atomic>

#include "baton/common/duration.h"
#include "baton/workers/git_repository.h"

namespace baton::workers::resources {

// Limits for the git network I/O of the calling thread.
struct GitIoLimits {
  Duration connect_timeout = std::chrono::seconds(30);
  Duration idle_timeout = std::chrono::minutes(5);  // no byte read or written for this long
  const std::atomic<bool>* cancelled = nullptr;     // stop when it becomes true; may be null
};

// The limits `remote` asks for.
inline GitIoLimits IoLimitsOf(const GitRemote& remote) {
  return {remote.connect_timeout, remote.idle_timeout, remote.cancelled};
}

// Applies `limits` to git connections made on this thread until destroyed (restoring the
// previous ones). Not copyable; use on the stack around one libgit2 network call.
class ScopedGitIoLimits {
 public:
  explicit ScopedGitIoLimits(const GitIoLimits& limits);
  ~ScopedGitIoLimits();
  ScopedGitIoLimits(const ScopedGitIoLimits&) = delete;
  ScopedGitIoLimits& operator=(const ScopedGitIoLimits&) = delete;

 private:
  GitIoLimits previous_;
};

// Registers the stream with libgit2 (once per process; after git_libgit2_init).
void RegisterGitSocketStream();

}  // namespace baton::workers::resources
