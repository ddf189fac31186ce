// SpareDirectories: emptied directories of finished builds, kept to become the next builds'
// directories by a rename instead of being removed and made again.
//
// Why: on ext4 without a journal (the benchmark VM) a mkdir looks at every inode of its group
// freed in the last seconds (`recently_deleted`, a buffer lookup each) before it takes one, so
// it costs more the more directories were removed just before: each build removed two (its own
// and its task's work dir) and made two on the scheduler's thread, and in W3 those mkdirs were
// about half of that thread's time (docs/benchmarks.md, "lanes"). A rename allocates no inode
// and a kept directory frees none (no discard either).
//
// A finished build's directory is kept whole when the directories in it qualify (a "tree": the
// build's directory with its volumes/, volumes/<n> and work-<n> in it, each emptied), so that the
// next build takes all of them with one rename (TakeTreeInto) instead of one rename each, and
// its steps find theirs already there (TakeInto answers from the tree without a system call).
// A directory of a taken tree that its build did not ask for is kept on its own when the build
// ends, so a tree holds the directories of the last build that used it.
//
// A directory is kept only when nothing tells it from a new one: a real directory (not a link),
// empty, with the owner, group, mode and extended attribute names the spares' own directory
// has, and no larger than one block. Anything else is removed as before. So a task's work dir
// that its task changed (chmod, an ACL, a user xattr, thousands of entries) is not given to
// another task. A spare found changed when it is taken is removed instead: a tree by its
// directories' stamps (inode and change time when kept; listed where timestamps are coarse), a
// directory on its own by a listing (docs/security.md).
//
// Thread-safe: TakeInto and TakeTreeInto from any thread; Recycle from one thread at a time (the
// remover's).
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <string>
#include <vector>

namespace baton::runner {

class SpareDirectories {
 public:
  // Spares live in `dir`, made on the first Recycle (spares an earlier process left there are
  // taken over then). An empty `dir` keeps none: Recycle only removes.
  // `listed_when_taken`: trees are listed when taken even where their stamps would do (tests of
  // the way taken where timestamps are coarse).
  explicit SpareDirectories(std::filesystem::path dir, size_t max_spares = 32,
                            bool listed_when_taken = false);
  SpareDirectories(const SpareDirectories&) = delete;
  SpareDirectories& operator=(const SpareDirectories&) = delete;

  // Renames a spare to `path` (which must not exist; a missing parent is taken from a spare
  // first when the grandparent exists) and returns true, or returns false with `path` not made:
  // no spare, `path` exists, more is missing above it, another filesystem. The caller then makes
  // the directory itself.
  // A directory of a tree taken into place by TakeTreeInto is handed out once without a system
  // call: true, it is there.
  bool TakeInto(const std::filesystem::path& path);

  // For a build's own directory: renames a kept tree to `path` (which must not exist; its parent
  // must) and returns true; the directories in it are handed out by TakeInto. Without a tree, as
  // TakeInto.
  bool TakeTreeInto(const std::filesystem::path& path);

  // Removes what is inside the tree `root`, keeping `root` and the directories two levels below
  // it (a build's work-<n>, volumes/ and volumes/<n>) as spares when they qualify (above) and
  // there is room: `root` with those in it as one tree when all of them qualify, else each
  // qualifying one on its own; the rest is removed.
  void Recycle(const std::filesystem::path& root);

  // How many spares are ready: directories on their own, and trees.
  size_t size() const;
  size_t trees() const;

 private:
  // What a new directory looks like here, from the spares' own directory.
  struct Reference {
    uid_t uid = 0;
    gid_t gid = 0;
    mode_t mode = 0;
    int64_t max_size = 0;
    std::string xattr_names;
    // A change right after a stat always moves the change time here (spare_directories.cpp):
    // a tree is taken on its stamps; else its directories are listed.
    bool fine_change_times = false;
  };

  // A kept build directory and the directories kept in it, relative to it, each listed after
  // those inside it.
  // A kept directory as its lstat found it when it was kept: any change to it since (an entry
  // made or removed in it, its mode, owner or extended attributes) moves its change time.
  struct Stamp {
    ino_t ino = 0;
    struct timespec ctime {};
  };
  struct Tree {
    std::string path;
    Stamp stamp;  // of `path`, taken there
    std::vector<std::string> dirs;
    std::vector<Stamp> stamps;  // of `dirs`, in their order
  };

  // Makes the spares' directory and takes over what an earlier process left in it.
  bool Prepare();
  bool TakeInto(const std::filesystem::path& path, int parents);
  // Empties `root`/`rel`, leaving in it the directories `levels` deep below it that qualify and
  // are not `unused`, added to `kept` (relative to `root`; the others are kept on their own);
  // true when its whole listing was read and every entry in it was removed or left as a
  // qualifying directory (no need to read it again).
  bool EmptyTree(const std::filesystem::path& root, const std::string& rel, int levels,
                 const std::vector<std::string>& unused, Tree& kept);
  // Keeps `root` with the directories `kept` in it as a tree when `clean` (EmptyTree's answer)
  // and it qualifies, else each on its own (KeepEach); true when `root` is gone from its place.
  bool KeepTree(const std::filesystem::path& root, Tree kept, bool clean);
  // Keeps each of the directories `inside` (relative to `root`), then `dir`, on its own; true
  // when `dir` is gone from its place.
  bool KeepEach(const std::filesystem::path& root, const std::vector<std::string>& inside,
                const std::filesystem::path& dir, bool emptied);
  // Renames `dir` into the spares' directory as a spare, or as `tree` when given; false when
  // there is no room or it could not be moved.
  bool MoveIn(const std::filesystem::path& dir, Tree* tree);
  // True when each directory of the tree is the one kept, unchanged since (its stamp).
  bool Unchanged(const Tree& tree) const;
  static bool Same(const std::filesystem::path& dir, const Stamp& stamp);
  // True when each directory of the tree holds nothing but the tree's directories below it.
  static bool HoldsOnlyItsDirectories(const Tree& tree);
  // Hands out a directory of a tree taken into place; true when `path` is one.
  bool TakeFromTree(const std::filesystem::path& path);
  // `emptied`: EmptyTree said so, and the directory is not listed again to find out. `stamp`
  // (if given) is set from the lstat that looked.
  bool Qualifies(const std::filesystem::path& dir, bool emptied, Stamp* stamp = nullptr) const;
  // Keeps the emptied `dir` as a spare, or removes it; true when it is gone from its place.
  bool Keep(const std::filesystem::path& dir, bool emptied);
  void Adopt(const std::filesystem::path& spare);
  // New spares' names are numbers counted past `name` when it is one.
  void SkipName(const std::string& name);

  const std::filesystem::path dir_;
  const size_t max_spares_;
  const bool listed_when_taken_;
  bool prepared_ = false;  // only the remover's thread reads or writes it
  Reference reference_;    // set by Prepare, then read-only
  mutable std::mutex mu_;
  std::vector<std::string> spares_;  // GUARDED_BY(mu_)
  std::vector<Tree> trees_;          // GUARDED_BY(mu_)
  // Trees taken into place, by their place: the directories in them not handed out yet.
  std::map<std::string, std::vector<std::string>> in_place_;  // GUARDED_BY(mu_)
  size_t reserved_ = 0;     // GUARDED_BY(mu_) slots of renames in flight
  uint64_t next_name_ = 0;  // GUARDED_BY(mu_)
};

}  // namespace baton::runner
