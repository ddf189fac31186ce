// Lexical path checks and openat2(RESOLVE_BENEATH) resolution; see path_beneath.h.
#include "baton/common/path_beneath.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace baton {
namespace {

bool HasControlChar(std::string_view s) {
  for (char c : s) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return true;
  }
  return false;
}

// Resolution stays inside the starting directory: no `..` above it, no absolute or escaping
// symlink, no /proc magic links (which could name any file of the host).
constexpr uint64_t kBeneath = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;

int OpenAt2(int dir, const char* path, int flags, uint64_t resolve) {
  open_how how;
  std::memset(&how, 0, sizeof how);
  how.flags = static_cast<uint64_t>(flags) | O_CLOEXEC;
  how.resolve = resolve;
  int fd;
  do {
    fd = static_cast<int>(::syscall(SYS_openat2, dir, path, &how, sizeof how));
  } while (fd < 0 && errno == EAGAIN);  // a concurrent rename: the kernel asks us to retry
  return fd;
}

Status OpenError(const std::string& root, const std::string& rel, int err) {
  std::string where = "'" + rel + "' in " + root;
  switch (err) {
    case EXDEV:
    case ELOOP:
      return PermissionDenied(where + " leads outside " + root +
                              " (through `..` or a symbolic link); only paths inside it can be "
                              "used: make the link relative and keep it inside");
    case ENOENT:
      return NotFound(where + " does not exist");
    default:
      return IoError("cannot open " + where + ": " + std::strerror(err));
  }
}

}  // namespace

std::string RelativePathProblem(std::string_view path) {
  if (path.empty()) return "the path is empty";
  if (path.find('\0') != std::string_view::npos || HasControlChar(path)) {
    return "the path contains a control character";
  }
  if (path[0] == '/') return "the path is absolute; it must be relative";
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    if (path.substr(start, end - start) == "..") return "the path contains `..`";
    start = end + 1;
  }
  return "";
}

std::string ArtifactNameProblem(std::string_view name) {
  if (name.empty()) return "the name is empty";
  if (name.find('\0') != std::string_view::npos || HasControlChar(name)) {
    return "the name contains a control character";
  }
  if (name == "." || name == "..") return "the name is `" + std::string(name) + "`";
  if (name.find('/') != std::string_view::npos) return "the name contains '/'";
  return "";
}

ScopedFd& ScopedFd::operator=(ScopedFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = o.release();
  }
  return *this;
}

ScopedFd::~ScopedFd() {
  if (fd_ >= 0) ::close(fd_);
}

Result<ScopedFd> OpenBeneath(const std::string& root, const std::string& rel, int flags) {
  ScopedFd dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return IoError("cannot open " + root + ": " + std::strerror(errno));
  int fd = OpenAt2(dir.get(), rel.c_str(), flags, kBeneath);
  if (fd < 0) return OpenError(root, rel, errno);
  return ScopedFd(fd);
}

Result<std::string> ReadFileBeneath(const std::string& root, const std::string& rel,
                                    size_t max_bytes) {
  BATON_ASSIGN_OR_RETURN(ScopedFd fd, OpenBeneath(root, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK));
  struct stat st;
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return InvalidArgument("'" + rel + "' in " + root + " is not a regular file");
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return IoError("cannot read '" + rel + "' in " + root + ": " + std::strerror(errno));
    if (n == 0) return out;
    if (out.size() + static_cast<size_t>(n) > max_bytes) {
      return InvalidArgument("'" + rel + "' in " + root + " is larger than " +
                             std::to_string(max_bytes) + " bytes");
    }
    out.append(buf, static_cast<size_t>(n));
  }
}

Status MakeDirsBeneath(const std::string& root, const std::string& rel) {
  if (std::string problem = RelativePathProblem(rel); !problem.empty()) {
    return InvalidArgument("cannot create '" + rel + "' in " + root + ": " + problem);
  }
  ScopedFd dir(::open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (dir.get() < 0) return IoError("cannot open " + root + ": " + std::strerror(errno));
  size_t start = 0;
  while (start < rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    std::string part = rel.substr(start, end - start);
    start = end + 1;
    if (part.empty() || part == ".") continue;
    if (::mkdirat(dir.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
      return IoError("cannot create '" + rel + "' in " + root + ": " + std::strerror(errno));
    }
    int next =
        OpenAt2(dir.get(), part.c_str(), O_PATH | O_DIRECTORY, kBeneath | RESOLVE_NO_SYMLINKS);
    if (next < 0) return OpenError(root, rel, errno);
    dir = ScopedFd(next);
  }
  return Status::Ok();
}

}  // namespace baton
