// Paths a pipeline author wrote (task inputs/outputs/caches, `file:`, artifact names), checked
// once at the edge and resolved inside a directory without ever leaving it.
//
// The checks are lexical; the resolution uses openat2(2) with RESOLVE_BENEATH, so neither `..`
// nor a symlink (absolute or relative) can lead outside the directory, whatever the artifact
// holds. Thread-safe (no shared state).
#pragma once

#include <string>
#include <string_view>

#include "baton/common/status.h"

namespace baton {

// Why `path` is not a clean relative path inside a directory ("" when it is): empty, absolute,
// a `..` component, or a NUL/control character. "a/./b" and "a//b" are fine.
std::string RelativePathProblem(std::string_view path);

// Why `name` cannot name an artifact, i.e. one directory entry ("" when it can): empty, `.`,
// `..`, a '/', or a NUL/control character.
std::string ArtifactNameProblem(std::string_view name);

// An owned file descriptor; closes it on destruction.
class ScopedFd {
 public:
  ScopedFd() = default;
  explicit ScopedFd(int fd) : fd_(fd) {}
  ScopedFd(ScopedFd&& o) noexcept : fd_(o.release()) {}
  ScopedFd& operator=(ScopedFd&& o) noexcept;
  ScopedFd(const ScopedFd&) = delete;
  ScopedFd& operator=(const ScopedFd&) = delete;
  ~ScopedFd();
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// Opens `rel` (a relative path) inside the directory `root` with open(2) `flags`, following
// symlinks only while they stay inside `root`. A path or link leading out is a
// PermissionDenied error naming both; a missing file is NotFound.
Result<ScopedFd> OpenBeneath(const std::string& root, const std::string& rel, int flags);

// Reads the regular file `rel` inside `root` (as OpenBeneath), at most `max_bytes`.
Result<std::string> ReadFileBeneath(const std::string& root, const std::string& rel,
                                    size_t max_bytes = 16 << 20);

// Creates the directory `rel` and its parents inside `root`, never following a symlink.
Status MakeDirsBeneath(const std::string& root, const std::string& rel);

}  // namespace baton
