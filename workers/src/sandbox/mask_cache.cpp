#include "sandbox/mask_cache.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include <cerrno>
#include <chrono>
#include <string_view>

#include "sandbox/child_plan.h"

namespace baton::workers::sandbox {
namespace {

using std::chrono::nanoseconds;
using std::chrono::seconds;

constexpr unsigned kIdentity = STATX_TYPE | STATX_INO | STATX_MTIME | STATX_CTIME | STATX_MNT_ID;

// Filesystems that update a directory's mtime and ctime at every entry made, removed or renamed
// in it, from this kernel's clock, and keep them. Not procfs, sysfs or cgroupfs (made up on
// reading), network or FUSE filesystems (changed elsewhere), overlayfs (a lower layer changed
// beneath it goes unnoticed).
bool KeepsDirectoryTimes(const std::string& path) {
  struct statfs fs;
  if (::statfs(path.c_str(), &fs) != 0) return false;
  switch (static_cast<unsigned long>(fs.f_type)) {
    case EXT4_SUPER_MAGIC:  // ext2 and ext3 too
    case XFS_SUPER_MAGIC:
    case BTRFS_SUPER_MAGIC:
    case F2FS_SUPER_MAGIC:
    case TMPFS_MAGIC:
      return true;
    default:
      return false;
  }
}

// The coarse clock's resolution (a tick): the kernel's file times come from it, up to a tick
// behind the precise clock the resolution's start is read from.
nanoseconds CoarseResolution() {
  static const nanoseconds resolution = [] {
    timespec res{};
    if (::clock_getres(CLOCK_REALTIME_COARSE, &res) != 0) return nanoseconds(seconds(1));
    return seconds(res.tv_sec) + nanoseconds(res.tv_nsec);
  }();
  return resolution;
}

// Whether the time `sec`.`nsec` is older than `start` by more than its granule: twice the coarse
// clock's resolution, and 2 s more when it has no nanoseconds (a filesystem of whole seconds).
bool TimeOlderThan(int64_t sec, uint32_t nsec, SystemTime start) {
  nanoseconds granule = 2 * CoarseResolution() + (nsec == 0 ? seconds(2) : seconds(0));
  auto time = SystemTime(
      std::chrono::duration_cast<SystemTime::duration>(seconds(sec) + nanoseconds(nsec)));
  return time < start - granule;
}

}  // namespace

MaskCache::MaskCache(SandboxOptions options, const Clock& clock, std::string ssh_dir)
    : options_(std::move(options)), clock_(clock), ssh_dir_(std::move(ssh_dir)) {}

MaskCache::Masks MaskCache::Get() {
  std::lock_guard lock(mu_);
  if (!kept_ || Changed()) Resolve();
  return Answer();
}

uint64_t MaskCache::resolutions() const {
  std::lock_guard lock(mu_);
  return resolutions_;
}

namespace {

// `path`'s identity, not following a link; false on an error or a field the kernel did not fill.
bool Identify(const std::string& path, struct statx* st) {
  return ::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, kIdentity, st) == 0 &&
         (st->stx_mask & kIdentity) == kIdentity;
}

}  // namespace

// A change of the worker's mounts (the kernel marks an open mountinfo then), or of any directory
// recorded: replaced, mounted over, an entry made, removed or renamed in it, or gone.
bool MaskCache::Changed() const {
  pollfd p{mounts_.get(), POLLPRI, 0};
  if (::poll(&p, 1, 0) != 0) return true;
  for (const DirState& was : dirs_) {
    struct statx st;
    if (!Identify(was.path, &st) || !S_ISDIR(st.stx_mode)) return true;
    if (!(StateOf(was.path, st) == was)) return true;
  }
  return false;
}

// The mountinfo is opened and the clock read before anything is looked at: a change made from
// then on is a mark on the mountinfo, a recorded time too recent to keep, or a difference the next
// call sees.
void MaskCache::Resolve() {
  ++resolutions_;
  dirs_.clear();
  candidates_.clear();
  masks_.reset();
  mounts_ = ScopedFd(::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC));
  SystemTime start = clock_.Now();
  bool trusted = mounts_.get() >= 0 && Record(ssh_dir_, /*is_dir_listed=*/true);
  bool all_kept = true;
  for (std::string& path : MaskCandidates(options_, ssh_dir_.c_str())) {
    Candidate c;
    c.kept = Record(path, /*is_dir_listed=*/false);
    if (c.kept) {
      c.target = MaskTarget(path);
      // With no link on its way, an absolute normal path is where it really is.
      c.kept = c.target.empty() || c.target == path;
    }
    all_kept = all_kept && c.kept;
    c.path = std::move(path);
    candidates_.push_back(std::move(c));
  }
  kept_ = trusted && OlderThan(start);
  if (!all_kept) return;
  auto masks = std::make_shared<std::vector<std::string>>();
  for (const Candidate& c : candidates_) {
    if (!c.target.empty()) masks->push_back(c.target);
  }
  masks_ = std::move(masks);
}

// Walks `path` as realpath(3) would, one name at a time from "/", recording each directory a name
// is looked up in; it stops where the resolution does (a name missing, or not a directory).
bool MaskCache::Record(const std::string& path, bool is_dir_listed) {
  if (path.empty() || path[0] != '/' || !RecordDir("/")) return false;
  for (size_t begin = 1;;) {
    size_t end = path.find('/', begin);
    if (end == std::string::npos) end = path.size();
    std::string_view name(path.data() + begin, end - begin);
    // Not normal ("//", a trailing "/", "." or ".."): resolved at every call.
    if (name.empty() || name == "." || name == "..") return false;
    std::string at = path.substr(0, end);
    struct statx st;
    if (::statx(AT_FDCWD, at.c_str(), AT_SYMLINK_NOFOLLOW, STATX_TYPE, &st) != 0) {
      return errno == ENOENT;  // made later: an entry made in the directory recorded last
    }
    if (S_ISLNK(st.stx_mode)) return false;  // resolved through directories not recorded
    bool last = end == path.size();
    if (!S_ISDIR(st.stx_mode)) return true;  // a file, or on the way: the resolution ends here
    if (last) return !is_dir_listed || RecordDir(at);
    if (!RecordDir(at)) return false;
    begin = end + 1;
  }
}

bool MaskCache::RecordDir(const std::string& path) {
  for (const DirState& d : dirs_) {
    if (d.path == path) return true;
  }
  struct statx st;
  if (!Identify(path, &st) || !S_ISDIR(st.stx_mode) || !KeepsDirectoryTimes(path)) return false;
  dirs_.push_back(StateOf(path, st));
  return true;
}

MaskCache::DirState MaskCache::StateOf(const std::string& path, const struct statx& st) {
  return {path,
          st.stx_dev_major,
          st.stx_dev_minor,
          st.stx_mnt_id,
          st.stx_ino,
          st.stx_mtime.tv_sec,
          st.stx_ctime.tv_sec,
          st.stx_mtime.tv_nsec,
          st.stx_ctime.tv_nsec};
}

bool MaskCache::OlderThan(SystemTime start) const {
  for (const DirState& d : dirs_) {
    if (!TimeOlderThan(d.mtime_sec, d.mtime_nsec, start) ||
        !TimeOlderThan(d.ctime_sec, d.ctime_nsec, start)) {
      return false;
    }
  }
  return true;
}

MaskCache::Masks MaskCache::Answer() const {
  if (masks_) return masks_;
  auto masks = std::make_shared<std::vector<std::string>>();
  for (const Candidate& c : candidates_) {
    std::string target = c.kept ? c.target : MaskTarget(c.path);
    if (!target.empty()) masks->push_back(std::move(target));
  }
  return masks;
}

}  // namespace baton::workers::sandbox
