#include "fresh_database.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "baton/common/fd_io.h"

namespace baton::runner::sqlite {

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
  Status written = WriteAll(fd, bytes)
                       ? Status::Ok()
                       : IoError(std::string("writing a new database: ") + std::strerror(errno));
  ::close(fd);
  if (written.ok() && ::rename(temp.c_str(), db_file.c_str()) != 0) {
    written = IoError("cannot rename " + temp + ": " + std::strerror(errno));
  }
  if (!written.ok()) ::unlink(temp.c_str());
  return written;
}

}  // namespace baton::runner::sqlite
