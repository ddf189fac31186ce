#include "baton/runner/spare_directories.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <string_view>
#include <system_error>

namespace baton::runner {

namespace fs = std::filesystem;

namespace {

// The names of `path`'s extended attributes (ACLs are among them), without following a link.
std::string XattrNames(const fs::path& path) {
  ssize_t n = ::llistxattr(path.c_str(), nullptr, 0);
  if (n <= 0) return {};  // none, or a filesystem without them
  std::string names(static_cast<size_t>(n), '\0');
  n = ::llistxattr(path.c_str(), names.data(), names.size());
  names.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return names;
}

bool RealDirectory(const fs::path& path, struct stat& st) {
  return ::lstat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// True when `path` is gone (or was never there).
bool RemoveTree(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);  // never follows a link; what cannot be removed is left, as before
  return !ec;
}

// An entry of a listed directory; `is_dir` without following a link.
struct Entry {
  fs::path path;
  bool is_dir = false;
};

// The entries of `dir`, read before any is moved or removed; `complete` (if given) says whether
// the listing got to its end. readdir(3), not fs::directory_iterator: the type comes with the
// listing, without fdopendir's two fcntl or a directory_entry's bookkeeping (the remover lists a
// W2 build's four directories).
std::vector<Entry> Entries(const fs::path& dir, bool* complete = nullptr) {
  std::vector<Entry> entries;
  DIR* listing = ::opendir(dir.c_str());
  bool read_all = listing != nullptr;
  while (listing != nullptr) {
    errno = 0;
    const dirent* d = ::readdir(listing);
    if (d == nullptr) {
      read_all = errno == 0;
      break;
    }
    std::string_view name = d->d_name;
    if (name == "." || name == "..") continue;
    Entry entry{dir / d->d_name, d->d_type == DT_DIR};
    struct stat st;
    if (d->d_type == DT_UNKNOWN) entry.is_dir = RealDirectory(entry.path, st);
    entries.push_back(std::move(entry));
  }
  if (listing != nullptr) ::closedir(listing);
  if (complete) *complete = read_all;
  return entries;
}

}  // namespace

SpareDirectories::SpareDirectories(fs::path dir, size_t max_spares)
    : dir_(std::move(dir)), max_spares_(max_spares) {}

size_t SpareDirectories::size() const {
  std::lock_guard lock(mu_);
  return spares_.size();
}

bool SpareDirectories::TakeInto(const fs::path& path) { return TakeInto(path, /*parents=*/1); }

bool SpareDirectories::TakeInto(const fs::path& path, int parents) {
  std::string spare;
  {
    std::lock_guard lock(mu_);
    if (spares_.empty()) return false;
    spare = std::move(spares_.back());
    spares_.pop_back();
  }
  // Empty when it was kept; a process of the build it came from that outlived it (only possible
  // without cgroups) may have written into it since: then it is nobody's spare. (A listing, not
  // fs::is_empty: a stat and fdopendir's two fcntl fewer, on the scheduler's thread; an
  // unreadable one lists nothing and the rename below says what is wrong.)
  if (!Entries(spare).empty()) {
    RemoveTree(spare);
    return TakeInto(path, parents);
  }
  // NOREPLACE: a rename onto an existing empty directory would silently replace it.
  if (::renameat2(AT_FDCWD, spare.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) {
    return true;
  }
  const int error = errno;
  struct stat st;
  if (error == ENOENT && !RealDirectory(spare, st)) return false;  // the spare is gone: forget it
  // A missing parent (a build's volumes/ before its first volume) comes from a spare too: this
  // one, just looked at, then another for `path`.
  const fs::path parent = path.parent_path();
  if (error == ENOENT && parents > 0 &&
      ::renameat2(AT_FDCWD, spare.c_str(), AT_FDCWD, parent.c_str(), RENAME_NOREPLACE) == 0) {
    return TakeInto(path, 0);
  }
  std::lock_guard lock(mu_);
  spares_.push_back(std::move(spare));
  return false;
}

void SpareDirectories::Recycle(const fs::path& root) {
  struct stat st;
  if (dir_.empty() || !RealDirectory(root, st) || !Prepare()) {
    RemoveTree(root);
    return;
  }
  const bool emptied = Empty(root, /*levels=*/2);  // a build's volumes/<n> and work-<n> too
  Keep(root, emptied);
}

bool SpareDirectories::Empty(const fs::path& dir, int levels) {
  bool complete = false;
  bool all_gone = true;
  for (const Entry& entry : Entries(dir, &complete)) {
    if (levels > 0 && entry.is_dir) {
      const bool emptied = Empty(entry.path, levels - 1);
      all_gone = Keep(entry.path, emptied) && all_gone;
    } else if (entry.is_dir || ::unlink(entry.path.c_str()) != 0) {
      // A file or link (the listing's type) went with one unlink above, without remove_all's
      // try to open it as a directory first; anything else is removed as a tree.
      all_gone = RemoveTree(entry.path) && all_gone;
    }
  }
  return complete && all_gone;
}

bool SpareDirectories::Prepare() {
  if (prepared_) return true;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  struct stat st;
  if (ec || !RealDirectory(dir_, st)) return false;
  reference_ = {st.st_uid, st.st_gid, static_cast<mode_t>(st.st_mode & 07777),
                std::max<int64_t>(st.st_size, 4096), XattrNames(dir_)};
  prepared_ = true;
  for (const Entry& entry : Entries(dir_)) Adopt(entry.path);
  return true;
}

void SpareDirectories::SkipName(const std::string& name) {
  uint64_t n = 0;
  auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), n);
  if (error != std::errc() || end != name.data() + name.size()) return;
  std::lock_guard lock(mu_);
  next_name_ = std::max(next_name_, n + 1);
}

void SpareDirectories::Adopt(const fs::path& spare) {
  SkipName(spare.filename().string());  // new spares are named after the ones taken over
  if (Qualifies(spare, /*emptied=*/false)) {
    std::lock_guard lock(mu_);
    if (spares_.size() + reserved_ < max_spares_) {
      spares_.push_back(spare.string());
      return;
    }
  }
  RemoveTree(spare);
}

bool SpareDirectories::Qualifies(const fs::path& dir, bool emptied) const {
  // A directory Empty just read to its end and cleared is not read again: something writing into
  // it meanwhile could as well write after a second read, and TakeInto looks again anyway.
  struct stat st;
  std::error_code ec;
  return RealDirectory(dir, st) && st.st_uid == reference_.uid && st.st_gid == reference_.gid &&
         (st.st_mode & 07777) == reference_.mode && st.st_size <= reference_.max_size &&
         (emptied || (fs::is_empty(dir, ec) && !ec)) && XattrNames(dir) == reference_.xattr_names;
}

bool SpareDirectories::Keep(const fs::path& dir, bool emptied) {
  if (!Qualifies(dir, emptied)) return RemoveTree(dir);
  // A name is reserved under the lock and the rename done outside it, so that TakeInto on the
  // scheduler's thread never waits for this one's rename.
  for (int attempt = 0; attempt < 4; ++attempt) {
    fs::path spare;
    {
      std::lock_guard lock(mu_);
      if (spares_.size() + reserved_ >= max_spares_) break;
      ++reserved_;
      spare = dir_ / std::to_string(next_name_++);
    }
    bool moved = ::renameat2(AT_FDCWD, dir.c_str(), AT_FDCWD, spare.c_str(), RENAME_NOREPLACE) == 0;
    int error = errno;
    std::lock_guard lock(mu_);
    --reserved_;
    if (moved) {
      spares_.push_back(spare.string());
      return true;
    }
    if (error != EEXIST) break;  // a name an earlier process's spare has: try the next one
  }
  return RemoveTree(dir);
}

}  // namespace baton::runner
