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

// At most this many directories in a tree besides its own; a build's further ones are kept on
// their own (a build with many tasks).
constexpr size_t kMaxTreeDirs = 16;

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

bool SameTime(const struct timespec& a, const struct timespec& b) {
  return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

// True when `path` is gone (or was never there).
bool RemoveTree(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);  // never follows a link; what cannot be removed is left, as before
  return !ec;
}

// Whether a change to a directory right after a stat read its change time always moves that time:
// the kernel's timestamps are fine-grained once read (multigrain: Linux 6.13 on, for ext4, xfs,
// btrfs and tmpfs). With coarse ones a change within the same clock tick (1-10 ms) keeps it. Tried
// on `dir` itself three times: a chmod to its own mode changes nothing but its change time.
bool FineGrainedChangeTimes(const fs::path& dir) {
  for (int i = 0; i < 3; ++i) {
    struct stat before, after;
    if (!RealDirectory(dir, before) || ::chmod(dir.c_str(), before.st_mode & 07777) != 0 ||
        !RealDirectory(dir, after) || SameTime(before.st_ctim, after.st_ctim)) {
      return false;
    }
  }
  return true;
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

SpareDirectories::SpareDirectories(fs::path dir, size_t max_spares, bool listed_when_taken)
    : dir_(std::move(dir)), max_spares_(max_spares), listed_when_taken_(listed_when_taken) {}

size_t SpareDirectories::size() const {
  std::lock_guard lock(mu_);
  return spares_.size();
}

size_t SpareDirectories::trees() const {
  std::lock_guard lock(mu_);
  return trees_.size();
}

bool SpareDirectories::TakeInto(const fs::path& path) {
  return TakeFromTree(path) || TakeInto(path, /*parents=*/1);
}

bool SpareDirectories::TakeFromTree(const fs::path& path) {
  std::lock_guard lock(mu_);
  if (in_place_.empty()) return false;
  // The tree's place is the parent (work-<n>, volumes/) or the grandparent (volumes/<n>).
  fs::path root = path.parent_path();
  std::string rel = path.filename().string();
  for (int level = 0; level < 2 && root.has_relative_path(); ++level) {
    auto tree = in_place_.find(root.string());
    if (tree != in_place_.end()) {
      std::vector<std::string>& dirs = tree->second;
      auto dir = std::find(dirs.begin(), dirs.end(), rel);
      if (dir == dirs.end()) return false;
      dirs.erase(dir);   // handed out once: asked again, it is a directory like any other
      if (level == 1) {  // volumes/<n>: its volumes/ is used too
        const std::string parent = rel.substr(0, rel.find('/'));
        dirs.erase(std::remove(dirs.begin(), dirs.end(), parent), dirs.end());
      }
      return true;
    }
    rel = root.filename().string() + "/" + rel;
    root = root.parent_path();
  }
  return false;
}

bool SpareDirectories::TakeTreeInto(const fs::path& path) {
  Tree tree;
  {
    std::lock_guard lock(mu_);
    if (!trees_.empty()) {
      tree = std::move(trees_.back());
      trees_.pop_back();
    }
  }
  if (tree.path.empty()) return TakeInto(path, /*parents=*/1);
  if (!Unchanged(tree)) {  // as TakeInto's look at a spare, for each directory of the tree
    RemoveTree(tree.path);
    return TakeTreeInto(path);
  }
  if (::renameat2(AT_FDCWD, tree.path.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) == 0) {
    std::lock_guard lock(mu_);
    in_place_[path.string()] = std::move(tree.dirs);
    return true;
  }
  struct stat st;
  if (errno == ENOENT && !RealDirectory(tree.path, st)) return false;  // gone: forget it
  std::lock_guard lock(mu_);
  trees_.push_back(std::move(tree));
  return false;
}

bool SpareDirectories::Same(const fs::path& dir, const Stamp& stamp) {
  struct stat st;
  return RealDirectory(dir, st) && st.st_ino == stamp.ino && SameTime(st.st_ctim, stamp.ctime);
}

bool SpareDirectories::Unchanged(const Tree& tree) const {
  if (!reference_.fine_change_times) return HoldsOnlyItsDirectories(tree);
  // Each of its directories is the one kept, unchanged since: nothing was made or removed in it
  // and neither its mode, owner nor extended attributes changed, or its change time would have
  // moved (after the stat that stamped it, the next change has a later time). So no directory of
  // the tree is listed again.
  if (!Same(tree.path, tree.stamp)) return false;
  for (size_t i = 0; i < tree.dirs.size(); ++i) {
    if (!Same(tree.path / fs::path(tree.dirs[i]), tree.stamps[i])) return false;
  }
  return true;
}

bool SpareDirectories::HoldsOnlyItsDirectories(const Tree& tree) {
  // Each of its directories holds nothing but the tree's directories below it, and all of them
  // are there.
  auto holds_only_the_tree = [&tree](const std::string& rel) {
    bool complete = false;
    for (const Entry& entry :
         Entries(rel.empty() ? fs::path(tree.path) : tree.path / fs::path(rel), &complete)) {
      const std::string name = entry.path.filename().string();
      const std::string sub = rel.empty() ? name : rel + "/" + name;
      if (!entry.is_dir || std::find(tree.dirs.begin(), tree.dirs.end(), sub) == tree.dirs.end()) {
        return false;
      }
    }
    return complete;
  };
  return holds_only_the_tree("") &&
         std::all_of(tree.dirs.begin(), tree.dirs.end(), holds_only_the_tree);
}

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
  // Directories of a tree taken here that its build never asked for.
  std::vector<std::string> unused;
  {
    std::lock_guard lock(mu_);
    if (auto tree = in_place_.find(root.string()); tree != in_place_.end()) {
      unused = std::move(tree->second);
      in_place_.erase(tree);
    }
  }
  struct stat st;
  if (dir_.empty() || !RealDirectory(root, st) || !Prepare()) {
    RemoveTree(root);
    return;
  }
  Tree kept;
  // A build's volumes/<n> and work-<n> too.
  const bool clean = EmptyTree(root, /*rel=*/"", /*levels=*/2, unused, kept);
  KeepTree(root, std::move(kept), clean);
}

bool SpareDirectories::EmptyTree(const fs::path& root, const std::string& rel, int levels,
                                 const std::vector<std::string>& unused, Tree& kept) {
  bool complete = false;
  bool all_gone = true;
  for (const Entry& entry : Entries(rel.empty() ? root : root / rel, &complete)) {
    if (levels > 0 && entry.is_dir) {
      const std::string name = entry.path.filename().string();
      const std::string sub = rel.empty() ? name : rel + "/" + name;
      Tree inside;
      const bool clean = EmptyTree(root, sub, levels - 1, unused, inside);
      Stamp stamp;
      // One its build did not use goes on its own: a tree holds what the last build used.
      if (clean && kept.dirs.size() + inside.dirs.size() < kMaxTreeDirs &&
          std::find(unused.begin(), unused.end(), sub) == unused.end() &&
          Qualifies(entry.path, /*emptied=*/true, &stamp)) {
        kept.dirs.insert(kept.dirs.end(), inside.dirs.begin(), inside.dirs.end());
        kept.stamps.insert(kept.stamps.end(), inside.stamps.begin(), inside.stamps.end());
        kept.dirs.push_back(sub);
        kept.stamps.push_back(stamp);
        continue;
      }
      all_gone = KeepEach(root, inside.dirs, entry.path, clean) && all_gone;
    } else if (entry.is_dir || ::unlink(entry.path.c_str()) != 0) {
      // A file or link (the listing's type) went with one unlink above, without remove_all's
      // try to open it as a directory first; anything else is removed as a tree.
      all_gone = RemoveTree(entry.path) && all_gone;
    }
  }
  return complete && all_gone;
}

bool SpareDirectories::KeepEach(const fs::path& root, const std::vector<std::string>& inside,
                                const fs::path& dir, bool emptied) {
  for (const std::string& rel : inside) emptied = Keep(root / rel, /*emptied=*/true) && emptied;
  return Keep(dir, emptied);
}

bool SpareDirectories::KeepTree(const fs::path& root, Tree kept, bool clean) {
  if (!clean || kept.dirs.empty() || !Qualifies(root, /*emptied=*/true)) {
    return KeepEach(root, kept.dirs, root, clean);
  }
  if (MoveIn(root, &kept)) return true;
  return RemoveTree(root);
}

bool SpareDirectories::Prepare() {
  if (prepared_) return true;
  std::error_code ec;
  fs::create_directories(dir_, ec);
  struct stat st;
  if (ec || !RealDirectory(dir_, st)) return false;
  reference_ = {st.st_uid,
                st.st_gid,
                static_cast<mode_t>(st.st_mode & 07777),
                std::max<int64_t>(st.st_size, 4096),
                XattrNames(dir_),
                !listed_when_taken_ && FineGrainedChangeTimes(dir_)};
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
    if (spares_.size() + trees_.size() + reserved_ < max_spares_) {
      spares_.push_back(spare.string());
      return;
    }
  }
  RemoveTree(spare);
}

bool SpareDirectories::Qualifies(const fs::path& dir, bool emptied, Stamp* stamp) const {
  // A directory Empty just read to its end and cleared is not read again: something writing into
  // it meanwhile could as well write after a second read, and TakeInto looks again anyway.
  struct stat st;
  std::error_code ec;
  if (!RealDirectory(dir, st) || st.st_uid != reference_.uid || st.st_gid != reference_.gid ||
      (st.st_mode & 07777) != reference_.mode || st.st_size > reference_.max_size ||
      (!emptied && (!fs::is_empty(dir, ec) || ec)) || XattrNames(dir) != reference_.xattr_names) {
    return false;
  }
  if (stamp) *stamp = {st.st_ino, st.st_ctim};
  return true;
}

bool SpareDirectories::Keep(const fs::path& dir, bool emptied) {
  if (Qualifies(dir, emptied) && MoveIn(dir, /*tree=*/nullptr)) return true;
  return RemoveTree(dir);
}

bool SpareDirectories::MoveIn(const fs::path& dir, Tree* tree) {
  // A name is reserved under the lock and the rename done outside it, so that TakeInto on the
  // scheduler's thread never waits for this one's rename.
  for (int attempt = 0; attempt < 4; ++attempt) {
    fs::path spare;
    {
      std::lock_guard lock(mu_);
      if (spares_.size() + trees_.size() + reserved_ >= max_spares_) return false;
      ++reserved_;
      spare = dir_ / std::to_string(next_name_++);
    }
    const bool moved =
        ::renameat2(AT_FDCWD, dir.c_str(), AT_FDCWD, spare.c_str(), RENAME_NOREPLACE) == 0;
    const int error = errno;
    struct stat st;  // the rename moved a tree's change time: stamped here, in its new place
    const bool stamped = moved && tree != nullptr && RealDirectory(spare, st);
    if (moved && tree != nullptr && !stamped) {  // cannot be looked at in its new place: not kept
      RemoveTree(spare);
      std::lock_guard lock(mu_);
      --reserved_;
      return false;
    }
    std::lock_guard lock(mu_);
    --reserved_;
    if (stamped) {
      tree->path = spare.string();
      tree->stamp = {st.st_ino, st.st_ctim};
      trees_.push_back(std::move(*tree));
      return true;
    }
    if (moved) {
      spares_.push_back(spare.string());
      return true;
    }
    if (error != EEXIST) return false;  // a name an earlier process's spare has: try the next one
  }
  return false;
}

}  // namespace baton::runner
