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
// A directory is kept only when nothing tells it from a new one: a real directory (not a link),
// empty, with the owner, group, mode and extended attribute names the spares' own directory
// has, and no larger than one block. Anything else is removed as before. So a task's work dir
// that its task changed (chmod, an ACL, a user xattr, thousands of entries) is not given to
// another task.
//
// Thread-safe: TakeInto from any thread; Recycle from one thread at a time (the remover's).
#pragma once

#include <sys/stat.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace baton::runner {

class SpareDirectories {
 public:
  // Spares live in `dir`, made on the first Recycle (spares an earlier process left there are
  // taken over then). An empty `dir` keeps none: Recycle only removes.
  explicit SpareDirectories(std::filesystem::path dir, size_t max_spares = 32);
  SpareDirectories(const SpareDirectories&) = delete;
  SpareDirectories& operator=(const SpareDirectories&) = delete;

  // Renames a spare to `path` (which must not exist; a missing parent is taken from a spare
  // first when the grandparent exists) and returns true, or returns false with `path` not made:
  // no spare, `path` exists, more is missing above it, another filesystem. The caller then makes
  // the directory itself.
  bool TakeInto(const std::filesystem::path& path);

  // Removes what is inside the tree `root`, keeping `root` and the directories two levels below
  // it (a build's work-<n>, volumes/ and volumes/<n>) as spares when they qualify (above) and
  // there is room; the rest is removed.
  void Recycle(const std::filesystem::path& root);

  // How many spares are ready.
  size_t size() const;

 private:
  // What a new directory looks like here, from the spares' own directory.
  struct Reference {
    uid_t uid = 0;
    gid_t gid = 0;
    mode_t mode = 0;
    int64_t max_size = 0;
    std::string xattr_names;
  };

  // Makes the spares' directory and takes over what an earlier process left in it.
  bool Prepare();
  bool TakeInto(const std::filesystem::path& path, int parents);
  // Removes what is inside `dir`, keeping the directories `levels` deep below it; true when its
  // whole listing was read and everything in it moved or removed (it is empty: no need to read
  // it again).
  bool Empty(const std::filesystem::path& dir, int levels);
  // `emptied`: Empty said so, and the directory is not listed again to find out.
  bool Qualifies(const std::filesystem::path& dir, bool emptied) const;
  // Keeps the emptied `dir` as a spare, or removes it; true when it is gone from its place.
  bool Keep(const std::filesystem::path& dir, bool emptied);
  void Adopt(const std::filesystem::path& spare);
  // New spares' names are numbers counted past `name` when it is one.
  void SkipName(const std::string& name);

  const std::filesystem::path dir_;
  const size_t max_spares_;
  bool prepared_ = false;  // only the remover's thread reads or writes it
  Reference reference_;    // set by Prepare, then read-only
  mutable std::mutex mu_;
  std::vector<std::string> spares_;  // GUARDED_BY(mu_)
  size_t reserved_ = 0;              // GUARDED_BY(mu_) slots of renames in flight
  uint64_t next_name_ = 0;           // GUARDED_BY(mu_)
};

}  // namespace baton::runner
