#include "baton/common/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include "baton/common/fd_io.h"

namespace baton {

namespace fs = std::filesystem;

// open(2) and write(2), not std::ofstream: the same file (created 0666 less the umask, or
// truncated), without a stream's locale and buffer for a few bytes (the mock get writes two files
// for every get, ~10 us of CPU each that way).
Status WriteFile(const fs::path& path, std::string_view content) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
  if (fd < 0) return IoError("cannot write " + path.string() + ": " + std::strerror(errno));
  bool written = WriteAll(fd, content);
  int error = errno;
  if (::close(fd) != 0 && written) {
    written = false;
    error = errno;
  }
  if (!written) return IoError("cannot write " + path.string() + ": " + std::strerror(error));
  return Status::Ok();
}

Status WriteFileAtomically(const fs::path& path, std::string_view content) {
  fs::path tmp = path;
  tmp += ".tmp" + std::to_string(::getpid());
  BATON_RETURN_IF_ERROR(WriteFile(tmp, content));
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return IoError("cannot replace " + path.string() + ": " + ec.message());
  return Status::Ok();
}

}  // namespace baton
