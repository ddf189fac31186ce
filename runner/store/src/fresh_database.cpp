#include "fresh_database.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace baton::runner::sqlite {
namespace {

Status WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return IoError(std::string("writing a new database: ") + std::strerror(errno));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Status WriteFreshDatabase(const std::filesystem::path& db_file) {
  const FreshDatabaseImage& image = kFreshDatabaseImage;
  std::string bytes(image.file_size, '\0');
  const unsigned char* from = image.bytes;
  for (size_t i = 0; i < image.run_count; ++i) {
    std::memcpy(bytes.data() + image.runs[i].offset, from, image.runs[i].size);
    from += image.runs[i].size;
  }
  const std::string temp = db_file.string() + ".new";
  int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return IoError("cannot create " + temp + ": " + std::strerror(errno));
  Status written = WriteAll(fd, bytes);
  ::close(fd);
  if (written.ok() && ::rename(temp.c_str(), db_file.c_str()) != 0) {
    written = IoError("cannot rename " + temp + ": " + std::strerror(errno));
  }
  if (!written.ok()) ::unlink(temp.c_str());
  return written;
}

}  // namespace baton::runner::sqlite
