// VolumeDigest: a content digest of a directory tree, in a fixed (sorted) order so that the web
// node and a worker compute the same one for the same content.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "baton/common/sha256.h"
#include "baton/workers/volume_stream.h"

namespace baton::workers {

namespace fs = std::filesystem;

namespace {

Status HashFile(const fs::path& file, Sha256& hash) {
  int fd = ::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return IoError("cannot read " + file.string() + ": " + std::strerror(errno));
  std::vector<char> buffer(256 * 1024);
  Status status;
  while (true) {
    ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) status = IoError("cannot read " + file.string() + ": " + std::strerror(errno));
    if (n <= 0) break;
    hash.Update(std::string_view(buffer.data(), static_cast<size_t>(n)));
  }
  ::close(fd);
  return status;
}

// Every entry's path relative to `dir`, sorted bytewise.
Result<std::vector<std::string>> SortedEntries(const fs::path& dir) {
  std::vector<std::string> entries;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    entries.push_back(it->path().lexically_relative(dir).string());
  }
  if (ec) return IoError("cannot list volume " + dir.string() + ": " + ec.message());
  std::sort(entries.begin(), entries.end());
  return entries;
}

}  // namespace

Result<std::string> VolumeDigest(const fs::path& dir) {
  Sha256 hash;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return "sha256:" + Sha256Hex("");
  BATON_ASSIGN_OR_RETURN(auto entries, SortedEntries(dir));
  for (const auto& entry : entries) {
    fs::path path = dir / entry;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) {
      return IoError("cannot stat " + path.string() + ": " + std::strerror(errno));
    }
    // A NUL ends each field: it cannot occur in a path or a link target.
    hash.Update(entry);
    hash.Update(std::string_view("\0", 1));
    if (S_ISREG(st.st_mode)) {
      hash.Update((st.st_mode & S_IXUSR) ? "fx" : "f-");
      hash.Update(std::to_string(st.st_size));
      hash.Update(std::string_view("\0", 1));
      BATON_RETURN_IF_ERROR(HashFile(path, hash));
    } else if (S_ISLNK(st.st_mode)) {
      hash.Update("l");
      hash.Update(fs::read_symlink(path, ec).string());
    } else if (S_ISDIR(st.st_mode)) {
      hash.Update("d");
    } else {
      hash.Update("o");  // PackVolume refuses these; they only need to differ from the rest
    }
    hash.Update(std::string_view("\0", 1));
  }
  return "sha256:" + hash.FinishHex();
}

}  // namespace baton::workers
