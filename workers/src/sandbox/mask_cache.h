// MaskCache: the host paths masked for every task (MaskedPaths, child_plan.h), worked out once per
// worker and checked for each task, cheaply and exactly, against what they were worked out from.
//
// Working them out for every task (~21 paths through realpath(3), 53 readlinks, /etc/ssh listed)
// took ~40 us a task, ~1.5 % of W2's CPU; checking them takes ~5-10 us (docs/benchmarks.md,
// helper `masks`). Watching the directories with inotify was exact too but cost `baton run`
// 12-16 ms at its exit (helper `perjob`).
//
// What the answer depends on: the entries of each directory a path's resolution looked a name up
// in (each ancestor of a path with no symbolic link on its way, and /etc/ssh, which is listed),
// and the worker's mounts. An entry made, removed or renamed in a directory changes its mtime and
// ctime (and ctime cannot be set back from user space); a directory replaced, or mounted over, is
// another device or inode. So when the masks are worked out, each such directory's statx
// identity (device, mount, inode, mtime and ctime to the nanosecond) is recorded, and for each
// task only those ~10-15 directories are statx'd again, and /proc/self/mountinfo polled: at any
// difference or error, the paths whose resolution looked in that directory are worked out again
// before the answer (all of them, with the list of host keys, for a directory on /etc/ssh's way or
// a change of the mounts). Not trusted, and so resolved at every call as before: a path with a link
// on its way (its resolution goes through directories not recorded), a relative or not normal one,
// a path through a directory on a filesystem not known to keep its directories' times (procfs,
// sysfs, network filesystems, FUSE, overlayfs: only ext2/3/4, xfs, btrfs, f2fs and tmpfs are); if
// /etc/ssh itself is one of those, nothing is kept.
//
// The racy case (racy-git): a directory changed in the timestamp granule of the resolution (or
// after it started) may change again later with the very same times. So when any recorded mtime
// or ctime is not older than the clock read just before the resolution started minus the granule
// (twice the coarse clock's resolution, the kernel's timestamps' source; 2 s more where a time
// has no nanoseconds, as on filesystems that keep whole seconds), the answer is given but not
// kept: the next call works the paths that looked in it out again. So a path to mask made on the
// host is masked from the next task, as docs/security.md promises.
//
// Thread-safety: Get may be called from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "baton/common/clock.h"
#include "baton/common/path_beneath.h"
#include "baton/workers/sandbox.h"

struct statx;

namespace baton::workers::sandbox {

class MaskCache {
 public:
  using Masks = std::shared_ptr<const std::vector<std::string>>;

  // `clock`: when a resolution starts (a test's seam for the racy case); `ssh_dir`: where the SSH
  // host keys are listed (a test's seam). REQUIRES: `clock` outlives the cache.
  explicit MaskCache(SandboxOptions options, const Clock& clock = RealClock(),
                     std::string ssh_dir = "/etc/ssh");
  MaskCache(const MaskCache&) = delete;
  MaskCache& operator=(const MaskCache&) = delete;

  // MaskedPaths(options) as of now (with the host keys of `ssh_dir`).
  Masks Get();

  // How many paths to mask were resolved so far (tests).
  uint64_t resolutions() const;

 private:
  // What a directory looked a name up in was (statx, not following a link), and whether that may
  // be kept: its times older than the granule before `start`, the clock read before it was.
  struct DirState {
    std::string path;
    uint32_t dev_major = 0, dev_minor = 0;
    uint64_t mnt_id = 0, ino = 0;
    int64_t mtime_sec = 0, ctime_sec = 0;
    uint32_t mtime_nsec = 0, ctime_nsec = 0;
    bool settled = false;
    bool SameAs(const struct statx& st) const;  // what a task's check read now
  };
  struct Candidate {
    std::string path;
    // No link on its way, `dirs` settled: `target` holds while they are unchanged.
    bool kept = false;
    std::string target;        // MaskTarget(path)
    std::vector<size_t> dirs;  // into dirs_: those its resolution looked names up in
  };

  static DirState StateOf(const std::string& path, const struct statx& st);
  // The directories changed since recorded, or not settled; nullopt when the mounts changed.
  std::optional<std::vector<bool>> Changes() const;  // REQUIRES: mu_ held
  void ResolveAll();                                 // REQUIRES: mu_ held
  // Resolves `c` again; `stale`: the directories to record anew (Changes).
  void Resolve(Candidate& c, SystemTime start, std::vector<bool>& stale);  // REQUIRES: mu_ held
  // Records the directories `path`'s resolution looks names up in, into `dirs`; false when its
  // answer may not be kept (see the class comment). `is_dir_listed`: `path` itself is listed.
  bool Record(const std::string& path, bool is_dir_listed, SystemTime start,
              std::vector<bool>& stale, std::vector<size_t>& dirs);  // REQUIRES: mu_ held
  bool RecordDir(const std::string& path, SystemTime start, std::vector<bool>& stale,
                 std::vector<size_t>& dirs);  // REQUIRES: mu_ held
  void Answer();                              // REQUIRES: mu_ held

  const SandboxOptions options_;
  const Clock& clock_;
  const std::string ssh_dir_;
  mutable std::mutex mu_;
  bool listing_kept_ = false;          // GUARDED_BY(mu_): `ssh_dir_`'s way and listing recorded
  std::vector<size_t> listing_dirs_;   // GUARDED_BY(mu_): into dirs_
  ScopedFd mounts_;                    // GUARDED_BY(mu_): /proc/self/mountinfo, polled
  std::vector<DirState> dirs_;         // GUARDED_BY(mu_)
  std::vector<Candidate> candidates_;  // GUARDED_BY(mu_)
  Masks masks_;                        // GUARDED_BY(mu_): the candidates' targets
  uint64_t resolutions_ = 0;           // GUARDED_BY(mu_)
};

}  // namespace baton::workers::sandbox
