// UnpackVolume: a volume stream (tar + zstd/gzip) into a directory, refusing anything that
// would reach outside it (see volume_stream.h). Each entry's parent is opened beneath the
// volume's root with openat2(RESOLVE_BENEATH), and the entry is made relative to that.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "baton/workers/volume_stream.h"

namespace baton::workers {

namespace fs = std::filesystem;

namespace {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  Fd(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string ErrorOf(struct archive* a) {
  const char* message = archive_error_string(a);
  return message ? message : "unknown error";
}

Status Refuse(const std::string& entry, const std::string& why) {
  return InvalidArgument("volume stream entry '" + entry + "' " + why +
                         "; volumes carry only files, directories and links inside the volume");
}

// `name` without "./" prefixes, or an error for an absolute path or a ".." component.
Result<fs::path> CheckedPath(const std::string& name) {
  fs::path path(name);
  if (path.is_absolute()) return Refuse(name, "is an absolute path");
  fs::path out;
  for (const auto& part : path) {
    if (part == "..") return Refuse(name, "has a '..' component");
    if (part == "." || part.empty()) continue;
    out /= part;
  }
  if (out.empty()) return Refuse(name, "names no file");
  return out;
}

// The directory `rel` beneath `root` (created, with its parents, when missing).
Result<Fd> OpenDirBeneath(int root, const fs::path& rel, const std::string& entry) {
  int fd = ::fcntl(root, F_DUPFD_CLOEXEC, 0);  // no child started meanwhile inherits it
  Fd current(fd);
  for (const auto& part : rel) {
    if (::mkdirat(current.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
      return IoError("cannot create directory for volume entry '" + entry +
                     "': " + std::strerror(errno));
    }
    struct open_how how {};
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    int next =
        static_cast<int>(::syscall(SYS_openat2, current.get(), part.c_str(), &how, sizeof how));
    if (next < 0) {
      if (errno == EXDEV || errno == ELOOP) return Refuse(entry, "lies behind a link out of it");
      return IoError("cannot open directory for volume entry '" + entry +
                     "': " + std::strerror(errno));
    }
    current = Fd(next);
  }
  return current;
}

// A link target must stay inside the volume once resolved from the link's directory.
Status CheckLinkTarget(const std::string& entry, const fs::path& link, const std::string& target) {
  if (target.empty() || fs::path(target).is_absolute()) {
    return Refuse(entry, "is a link to the absolute path '" + target + "'");
  }
  fs::path resolved = (link.parent_path() / target).lexically_normal();
  if (resolved.empty() || *resolved.begin() == "..") {
    return Refuse(entry, "is a link to '" + target + "', outside the volume");
  }
  return Status::Ok();
}

Status WriteFile(struct archive* a, int parent, const fs::path& name, mode_t mode,
                 la_int64_t file_size, const std::string& entry) {
  ::unlinkat(parent, name.c_str(), 0);  // a link or file there is replaced, never followed
  Fd fd(::openat(parent, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                 mode & 0777));
  if (fd.get() < 0) {
    return IoError("cannot create volume entry '" + entry + "': " + std::strerror(errno));
  }
  const void* block = nullptr;
  size_t size = 0;
  la_int64_t offset = 0;
  int r;
  while ((r = archive_read_data_block(a, &block, &size, &offset)) == ARCHIVE_OK) {
    if (::pwrite(fd.get(), block, size, offset) != static_cast<ssize_t>(size)) {
      return IoError("cannot write volume entry '" + entry + "': " + std::strerror(errno));
    }
  }
  if (r != ARCHIVE_EOF) {
    return InvalidArgument("volume stream is damaged in entry '" + entry + "': " + ErrorOf(a));
  }
  if (::ftruncate(fd.get(), file_size) != 0) {  // sparse files end in a hole
    return IoError("cannot write volume entry '" + entry + "': " + std::strerror(errno));
  }
  ::fchmod(fd.get(), mode & 0777);  // the umask must not change what the step made
  return Status::Ok();
}

Status UnpackEntry(struct archive* a, struct archive_entry* e, int root) {
  std::string entry = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
  BATON_ASSIGN_OR_RETURN(fs::path path, CheckedPath(entry));
  const mode_t type = archive_entry_filetype(e);
  const char* hardlink = archive_entry_hardlink(e);
  BATON_ASSIGN_OR_RETURN(Fd parent, OpenDirBeneath(root, path.parent_path(), entry));
  const fs::path name = path.filename();
  if (hardlink != nullptr) {
    BATON_ASSIGN_OR_RETURN(fs::path target, CheckedPath(hardlink));
    BATON_ASSIGN_OR_RETURN(Fd target_parent, OpenDirBeneath(root, target.parent_path(), entry));
    ::unlinkat(parent.get(), name.c_str(), 0);
    if (::linkat(target_parent.get(), target.filename().c_str(), parent.get(), name.c_str(), 0)) {
      return IoError("cannot link volume entry '" + entry + "' to '" + hardlink +
                     "': " + std::strerror(errno));
    }
    return Status::Ok();
  }
  if (type == AE_IFDIR) {
    if (::mkdirat(parent.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
      return IoError("cannot create volume directory '" + entry + "': " + std::strerror(errno));
    }
    return Status::Ok();
  }
  if (type == AE_IFLNK) {
    std::string target = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
    BATON_RETURN_IF_ERROR(CheckLinkTarget(entry, path, target));
    ::unlinkat(parent.get(), name.c_str(), 0);
    if (::symlinkat(target.c_str(), parent.get(), name.c_str()) != 0) {
      return IoError("cannot create link '" + entry + "': " + std::strerror(errno));
    }
    return Status::Ok();
  }
  if (type == AE_IFREG) {
    return WriteFile(a, parent.get(), name, archive_entry_perm(e), archive_entry_size(e), entry);
  }
  return Refuse(entry, "is a device, FIFO or socket");
}

struct Reader {
  const VolumeSource& read;
  Status error;
};

la_ssize_t ReadChunk(struct archive*, void* data, const void** buffer) {
  auto* reader = static_cast<Reader*>(data);
  auto chunk = reader->read();
  if (!chunk.ok()) {
    reader->error = chunk.status();
    return -1;
  }
  *buffer = chunk->data();
  return static_cast<la_ssize_t>(chunk->size());
}

}  // namespace

Status UnpackVolume(const VolumeSource& read, const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return IoError("cannot create volume directory " + dir.string() + ": " + ec.message());
  Fd root(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (root.get() < 0) return IoError("cannot open " + dir.string() + ": " + std::strerror(errno));
  std::unique_ptr<struct archive, decltype(&archive_read_free)> a(archive_read_new(),
                                                                  archive_read_free);
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_zstd(a.get());  // only what PackVolume writes: no external programs
  archive_read_support_filter_gzip(a.get());
  Reader reader{read, Status::Ok()};
  if (archive_read_open(a.get(), &reader, nullptr, ReadChunk, nullptr) != ARCHIVE_OK) {
    if (!reader.error.ok()) return reader.error;
    return InvalidArgument("not a volume stream (tar with zstd or gzip): " + ErrorOf(a.get()));
  }
  struct archive_entry* e = nullptr;
  int r;
  while ((r = archive_read_next_header(a.get(), &e)) == ARCHIVE_OK) {
    BATON_RETURN_IF_ERROR(UnpackEntry(a.get(), e, root.get()));
  }
  if (r != ARCHIVE_EOF) {
    if (!reader.error.ok()) return reader.error;
    return InvalidArgument("volume stream is damaged: " + ErrorOf(a.get()));
  }
  return Status::Ok();
}

Status UnpackVolume(std::string_view stream, const fs::path& dir) {
  bool given = false;
  VolumeSource once = [&]() -> Result<std::string_view> {
    if (given) return std::string_view();
    given = true;
    return stream;
  };
  return UnpackVolume(once, dir);
}

}  // namespace baton::workers
