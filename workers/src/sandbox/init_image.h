// InitImage: the sandbox's small init program (sandbox_init.c, linked in as bytes) as a sealed
// memfd that a sandbox's init executes once its task has started (execveat, AT_EMPTY_PATH: no
// path in the sandbox's root is needed, whatever the root holds).
//
// Made once per sandbox. Where it cannot be made (another architecture, a kernel that forbids
// executing memfds: vm.memfd_noexec=2), fd() is -1 and why_not() says why: the sandbox's init
// is then, as before, a copy of the worker that waits for its task itself.
//
// Thread-safety: immutable after Load(); fd() may be read from any thread.
#pragma once

#include <string>

#include "baton/common/path_beneath.h"

namespace baton::workers::sandbox {

class InitImage {
 public:
  static InitImage Load();
  static InitImage Unavailable(std::string why);
  // Close-on-exec, read-only, sealed against writes, growth and shrinking; -1 when unavailable.
  int fd() const { return fd_.get(); }
  const std::string& why_not() const { return why_not_; }

 private:
  ScopedFd fd_;
  std::string why_not_;
};

}  // namespace baton::workers::sandbox
