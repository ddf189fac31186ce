#include "sandbox/init_image.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <utility>

#include "baton/common/fd_io.h"
#include "sandbox/sys_util.h"

#ifndef MFD_EXEC
#define MFD_EXEC 0x0010U
#endif

namespace baton::workers::sandbox {

#ifdef BATON_SANDBOX_INIT_IMAGE
extern const unsigned char kInitImage[];
extern const std::size_t kInitImageSize;
#endif

namespace {

// A memfd that may be executed: MFD_EXEC says so to kernels with vm.memfd_noexec (6.3+), which
// would otherwise seal it non-executable when the sysctl is 1; older kernels reject the flag.
int CreateExecutableMemfd() {
  unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING;
  int fd = static_cast<int>(::syscall(SYS_memfd_create, "baton-init", flags | MFD_EXEC));
  if (fd < 0 && errno == EINVAL)
    fd = static_cast<int>(::syscall(SYS_memfd_create, "baton-init", flags));
  return fd;
}

}  // namespace

InitImage InitImage::Unavailable(std::string why) {
  InitImage image;
  image.why_not_ = std::move(why);
  return image;
}

InitImage InitImage::Load() {
  InitImage image;
#ifndef BATON_SANDBOX_INIT_IMAGE
  image.why_not_ = "no small init program for this architecture";
  return image;
#else
  ScopedFd rw(CreateExecutableMemfd());
  if (rw.get() < 0) {
    image.why_not_ = sys::ErrnoText(errno) + " (memfd_create)";
    return image;
  }
  if (!WriteAll(rw.get(), {reinterpret_cast<const char*>(kInitImage), kInitImageSize}) ||
      ::fchmod(rw.get(), 0555) != 0 ||
      ::fcntl(rw.get(), F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) !=
          0) {
    image.why_not_ = sys::ErrnoText(errno) + " (writing the memfd)";
    return image;
  }
  // Executed through a read-only descriptor: exec refuses a file open for writing (ETXTBSY).
  std::string self = "/proc/self/fd/" + std::to_string(rw.get());
  image.fd_ = ScopedFd(::open(self.c_str(), O_RDONLY | O_CLOEXEC));
  if (image.fd_.get() < 0) image.why_not_ = sys::ErrnoText(errno) + " (reopening the memfd)";
  return image;
#endif
}

}  // namespace baton::workers::sandbox
