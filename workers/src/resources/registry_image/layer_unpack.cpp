#include "resources/registry_image/layer_unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <memory>

#include "baton/common/strings.h"

namespace baton::workers::resources {
namespace {

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.release()) {}
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    reset(o.release());
    return *this;
  }
  ~UniqueFd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

// Opens `rel` as if `root` were "/" (symlinks and ".." cannot leave it).
int OpenInRoot(int root, const std::string& rel, int flags) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(
      ::syscall(SYS_openat2, root, rel.empty() ? "." : rel.c_str(), &how, sizeof how));
}

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};

}  // namespace

class RootfsUnpacker::Layer {
 public:
  Layer(int root, std::string name, int* skipped)
      : root_(root), name_(std::move(name)), skipped_(skipped) {}

  // `open` gives libarchive the layer's bytes (from memory or a file).
  Status Run(const std::function<int(archive*)>& open, LayerCompression compression) {
    std::unique_ptr<archive, ArchiveFree> a(archive_read_new());
    switch (compression) {
      case LayerCompression::kGzip:
        archive_read_support_filter_gzip(a.get());
        break;
      case LayerCompression::kZstd:
        archive_read_support_filter_zstd(a.get());
        break;
      case LayerCompression::kNone:
        break;
    }
    archive_read_support_format_tar(a.get());
    if (open(a.get()) != ARCHIVE_OK) {
      return ArchiveError(
          a.get(), std::string("cannot read it as a tar archive") + CompressionHint(compression));
    }
    archive_entry* entry = nullptr;
    int r;
    while ((r = archive_read_next_header(a.get(), &entry)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
      BATON_RETURN_IF_ERROR(Entry(a.get(), entry));
    }
    if (r != ARCHIVE_EOF) return ArchiveError(a.get(), "the archive is damaged");
    return Status::Ok();
  }

 private:
  static const char* CompressionHint(LayerCompression compression) {
    switch (compression) {
      case LayerCompression::kGzip:
        return " (its media type says tar+gzip; only gzip or plain tar is read)";
      case LayerCompression::kZstd:
        return " (its media type says tar+zstd; only zstd or plain tar is read)";
      case LayerCompression::kNone:
        return " (its media type says plain tar)";
    }
    return "";
  }

  Status ArchiveError(archive* a, const std::string& what) const {
    const char* why = archive_error_string(a);
    return FailedPrecondition(name_ + ": " + what + (why ? std::string(": ") + why : ""));
  }

  Status Fail(const std::string& path, const std::string& what) const {
    return IoError(name_ + ": entry `" + path + "`: " + what + ": " + strerror(errno));
  }

  // "./a//b/" -> {a, b}; refuses "..", which no well-formed layer needs.
  Result<std::vector<std::string>> Split(const char* path) const {
    std::vector<std::string> parts;
    for (const std::string& p : baton::Split(path ? path : "", '/')) {
      if (p.empty() || p == ".") continue;
      if (p == "..") {
        return FailedPrecondition(name_ + ": entry `" + std::string(path) +
                                  "` climbs out with `..`; the image is malformed");
      }
      parts.push_back(p);
    }
    return parts;
  }

  // The directory holding parts[0..n), made (0755) where missing, resolved inside the root.
  Result<UniqueFd> Dir(const std::vector<std::string>& parts, size_t n) const {
    UniqueFd dir(OpenInRoot(root_, "", O_PATH | O_DIRECTORY));
    if (dir.get() < 0) return Fail("/", "cannot open the root");
    std::string prefix;
    for (size_t i = 0; i < n; ++i) {
      prefix += (i ? "/" : "") + parts[i];
      int fd = OpenInRoot(root_, prefix, O_PATH | O_DIRECTORY);
      if (fd < 0 && errno == ENOENT) {
        if (::mkdirat(dir.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST) {
          return Fail(prefix, "cannot make the directory");
        }
        fd = OpenInRoot(root_, prefix, O_PATH | O_DIRECTORY);
      }
      if (fd < 0) return Fail(prefix, "not a directory inside the image");
      dir.reset(fd);
    }
    return dir;
  }

  Status RemoveTree(int dir, const std::string& name, const std::string& path) const {
    struct stat st;
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return errno == ENOENT ? Status::Ok() : Fail(path, "cannot read");
    }
    if (!S_ISDIR(st.st_mode)) {
      if (::unlinkat(dir, name.c_str(), 0) != 0) return Fail(path, "cannot remove");
      return Status::Ok();
    }
    int fd = ::openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Fail(path, "cannot open");
    DIR* d = ::fdopendir(fd);
    if (!d) {
      ::close(fd);
      return Fail(path, "cannot list");
    }
    std::vector<std::string> children;
    while (dirent* de = ::readdir(d)) {
      std::string c = de->d_name;
      if (c != "." && c != "..") children.push_back(c);
    }
    Status s;
    for (const auto& c : children) {
      s = RemoveTree(::dirfd(d), c, path + "/" + c);
      if (!s.ok()) break;
    }
    ::closedir(d);
    BATON_RETURN_IF_ERROR(s);
    if (::unlinkat(dir, name.c_str(), AT_REMOVEDIR) != 0) return Fail(path, "cannot remove");
    return Status::Ok();
  }

  bool MadeByThisLayer(const std::string& path) const {
    if (created_.count(path)) return true;
    auto it = created_.lower_bound(path + "/");
    return it != created_.end() && StartsWith(*it, path + "/");
  }

  // An opaque directory hides what lower layers put in it, not what this layer adds.
  Status ClearOpaque(int dir, const std::string& prefix) const {
    UniqueFd fd(::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    DIR* d = fd.get() < 0 ? nullptr : ::fdopendir(fd.get());
    if (!d) return Fail(prefix, "cannot list the opaque directory");
    fd.release();
    std::vector<std::string> children;
    while (dirent* de = ::readdir(d)) {
      std::string c = de->d_name;
      std::string full = prefix.empty() ? c : prefix + "/" + c;
      if (c != "." && c != ".." && !MadeByThisLayer(full)) children.push_back(c);
    }
    Status s;
    for (const auto& c : children) {
      s = RemoveTree(::dirfd(d), c, prefix + "/" + c);
      if (!s.ok()) break;
    }
    ::closedir(d);
    return s;
  }

  Status Entry(archive* a, archive_entry* e) {
    const char* raw = archive_entry_pathname(e);
    BATON_ASSIGN_OR_RETURN(std::vector<std::string> parts, Split(raw));
    if (parts.empty()) return Status::Ok();  // the root itself
    std::string path = Join(parts, "/");
    BATON_ASSIGN_OR_RETURN(UniqueFd dir, Dir(parts, parts.size() - 1));
    const std::string& base = parts.back();
    if (base == ".wh..wh..opq") {
      return ClearOpaque(dir.get(), Join({parts.begin(), parts.end() - 1}, "/"));
    }
    if (StartsWith(base, ".wh.")) return RemoveTree(dir.get(), base.substr(4), path);
    BATON_RETURN_IF_ERROR(Make(a, e, dir.get(), base, path));
    created_.insert(path);
    return Status::Ok();
  }

  Status Make(archive* a, archive_entry* e, int dir, const std::string& base,
              const std::string& path) {
    if (const char* link = archive_entry_hardlink(e)) return HardLink(link, dir, base, path);
    switch (archive_entry_filetype(e)) {
      case AE_IFDIR:
        return MakeDir(e, dir, base, path);
      case AE_IFREG:
        return MakeFile(a, e, dir, base, path);
      case AE_IFLNK:
        return MakeSymlink(e, dir, base, path);
      default:
        return MakeNode(e, dir, base, path);
    }
  }

  Status HardLink(const char* link, int dir, const std::string& base, const std::string& path) {
    BATON_ASSIGN_OR_RETURN(std::vector<std::string> target, Split(link));
    if (target.empty()) return Fail(path, "hard link to the root");
    BATON_ASSIGN_OR_RETURN(UniqueFd tdir, Dir(target, target.size() - 1));
    BATON_RETURN_IF_ERROR(RemoveTree(dir, base, path));
    if (::linkat(tdir.get(), target.back().c_str(), dir, base.c_str(), 0) != 0) {
      return Fail(path, std::string("cannot hard-link to `") + link + "`");
    }
    return Status::Ok();
  }

  Status MakeDir(archive_entry* e, int dir, const std::string& base, const std::string& path) {
    struct stat st;
    bool is_dir =
        ::fstatat(dir, base.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
    if (!is_dir) {
      BATON_RETURN_IF_ERROR(RemoveTree(dir, base, path));
      if (::mkdirat(dir, base.c_str(), 0700) != 0) return Fail(path, "cannot make the directory");
    }
    UniqueFd fd(::openat(dir, base.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) return Fail(path, "cannot open the directory");
    return Own(fd.get(), e, path);
  }

  Status Own(int fd, archive_entry* e, const std::string& path) const {
    // chown first: it clears set-id bits that the mode then restores.
    if (::fchown(fd, static_cast<uid_t>(archive_entry_uid(e)),
                 static_cast<gid_t>(archive_entry_gid(e))) != 0) {
      return Fail(path, "cannot set the owner");
    }
    if (::fchmod(fd, archive_entry_perm(e)) != 0) return Fail(path, "cannot set the mode");
    return Status::Ok();
  }

  Status MakeFile(archive* a, archive_entry* e, int dir, const std::string& base,
                  const std::string& path) {
    BATON_RETURN_IF_ERROR(RemoveTree(dir, base, path));
    UniqueFd fd(
        ::openat(dir, base.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (fd.get() < 0) return Fail(path, "cannot create");
    const void* buf;
    size_t size;
    la_int64_t offset;
    int r;
    while ((r = archive_read_data_block(a, &buf, &size, &offset)) == ARCHIVE_OK) {
      const char* p = static_cast<const char*>(buf);
      while (size > 0) {
        ssize_t n = ::pwrite(fd.get(), p, size, offset);
        if (n <= 0) return Fail(path, "cannot write");
        p += n;
        size -= static_cast<size_t>(n);
        offset += n;
      }
    }
    if (r != ARCHIVE_EOF) return ArchiveError(a, "entry `" + path + "`");
    if (::ftruncate(fd.get(), archive_entry_size(e)) != 0) return Fail(path, "cannot size");
    BATON_RETURN_IF_ERROR(Own(fd.get(), e, path));
    struct timespec times[2] = {{archive_entry_mtime(e), 0}, {archive_entry_mtime(e), 0}};
    ::futimens(fd.get(), times);  // best effort: times do not change what runs
    return Status::Ok();
  }

  Status MakeSymlink(archive_entry* e, int dir, const std::string& base, const std::string& path) {
    BATON_RETURN_IF_ERROR(RemoveTree(dir, base, path));
    const char* target = archive_entry_symlink(e);
    // The link is stored as written; it resolves inside the root when the container runs.
    if (::symlinkat(target ? target : "", dir, base.c_str()) != 0) {
      return Fail(path, "cannot make the symbolic link");
    }
    if (::fchownat(dir, base.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                   static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) != 0) {
      return Fail(path, "cannot set the owner");
    }
    return Status::Ok();
  }

  Status MakeNode(archive_entry* e, int dir, const std::string& base, const std::string& path) {
    BATON_RETURN_IF_ERROR(RemoveTree(dir, base, path));
    mode_t type = archive_entry_filetype(e);
    if (::mknodat(dir, base.c_str(), type | archive_entry_perm(e), archive_entry_rdev(e)) != 0) {
      if (errno == EPERM) {  // device nodes need CAP_MKNOD; the sandbox gives /dev anyway
        ++*skipped_;
        return Status::Ok();
      }
      return Fail(path, "cannot make the special file");
    }
    if (::fchownat(dir, base.c_str(), static_cast<uid_t>(archive_entry_uid(e)),
                   static_cast<gid_t>(archive_entry_gid(e)), AT_SYMLINK_NOFOLLOW) != 0) {
      return Fail(path, "cannot set the owner");
    }
    return Status::Ok();
  }

  int root_;
  std::string name_;
  int* skipped_;
  std::set<std::string> created_;  // paths this layer made, which its opaque markers keep
};

RootfsUnpacker::RootfsUnpacker(std::string root) : root_(std::move(root)) {}

Status RootfsUnpacker::Apply(std::string_view blob, LayerCompression compression,
                             const std::string& name) {
  UniqueFd root(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (root.get() < 0) {
    return IoError(name + ": cannot open the root directory " + root_ + ": " + strerror(errno));
  }
  return Layer(root.get(), name, &skipped_)
      .Run([&](archive* a) { return archive_read_open_memory(a, blob.data(), blob.size()); },
           compression);
}

Status RootfsUnpacker::ApplyFile(const std::string& path, LayerCompression compression,
                                 const std::string& name) {
  UniqueFd root(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (root.get() < 0) {
    return IoError(name + ": cannot open the root directory " + root_ + ": " + strerror(errno));
  }
  return Layer(root.get(), name, &skipped_)
      .Run([&](archive* a) { return archive_read_open_filename(a, path.c_str(), 1 << 20); },
           compression);
}

}  // namespace baton::workers::resources
