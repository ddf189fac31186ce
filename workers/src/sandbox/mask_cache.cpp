#include "sandbox/mask_cache.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>

#include <cerrno>
#include <chrono>
#include <string_view>

#include "sandbox/child_plan.h"
#include "sandbox/sys_util.h"

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

// A change of the mounts, or of a directory on /etc/ssh's way (the paths to mask themselves may
// have changed): everything is worked out again. A directory changed on the way of some paths:
// those are. The clock is read before a changed directory is recorded anew.
MaskCache::Masks MaskCache::Get() {
  std::lock_guard lock(mu_);
  std::optional<std::vector<bool>> stale;
  if (listing_kept_) stale = Changes();
  bool listing_stale = !stale;
  for (size_t i = 0; stale && i < listing_dirs_.size(); ++i) {
    listing_stale = listing_stale || (*stale)[listing_dirs_[i]];
  }
  if (listing_stale) {
    ResolveAll();
    return masks_;
  }
  std::vector<bool> again(candidates_.size());  // all found before any is resolved
  bool any = false;
  for (size_t c = 0; c < candidates_.size(); ++c) {
    again[c] = !candidates_[c].kept;
    for (size_t i : candidates_[c].dirs) again[c] = again[c] || (*stale)[i];
    any = any || again[c];
  }
  if (!any) return masks_;
  SystemTime start = clock_.Now();
  for (size_t c = 0; c < candidates_.size(); ++c) {
    if (again[c]) Resolve(candidates_[c], start, *stale);
  }
  Answer();
  return masks_;
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

// A change of the worker's mounts (the kernel marks an open mountinfo then), or of a directory
// recorded: replaced, mounted over, an entry made, removed or renamed in it, or gone; one
// recorded too soon after a change (not settled) is recorded anew too.
std::optional<std::vector<bool>> MaskCache::Changes() const {
  if (sys::MountsChanged(mounts_.get())) return std::nullopt;
  std::vector<bool> stale(dirs_.size());
  for (size_t i = 0; i < dirs_.size(); ++i) {
    struct statx st;
    stale[i] = !dirs_[i].settled || !Identify(dirs_[i].path, &st) || !S_ISDIR(st.stx_mode) ||
               !dirs_[i].SameAs(st);
  }
  return stale;
}

// The mountinfo is opened and the clock read before anything is looked at: a change made from
// then on is a mark on the mountinfo, a recorded time too recent to keep, or a difference the next
// call sees.
void MaskCache::ResolveAll() {
  dirs_.clear();
  listing_dirs_.clear();
  candidates_.clear();
  mounts_ = ScopedFd(::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC));
  SystemTime start = clock_.Now();
  std::vector<bool> stale;  // none: every directory is recorded now
  listing_kept_ =
      mounts_.get() >= 0 && Record(ssh_dir_, /*is_dir_listed=*/true, start, stale, listing_dirs_);
  for (size_t i : listing_dirs_) listing_kept_ = listing_kept_ && dirs_[i].settled;
  for (std::string& path : MaskCandidates(options_, ssh_dir_.c_str())) {
    Candidate c;
    c.path = std::move(path);
    Resolve(c, start, stale);
    candidates_.push_back(std::move(c));
  }
  Answer();
}

void MaskCache::Resolve(Candidate& c, SystemTime start, std::vector<bool>& stale) {
  ++resolutions_;
  c.dirs.clear();
  c.kept = Record(c.path, /*is_dir_listed=*/false, start, stale, c.dirs);
  c.target = MaskTarget(c.path);
  // With no link on its way, an absolute normal path is where it really is.
  c.kept = c.kept && (c.target.empty() || c.target == c.path);
  for (size_t i : c.dirs) c.kept = c.kept && dirs_[i].settled;
}

// Walks `path` as realpath(3) would, one name at a time from "/", recording each directory a name
// is looked up in; it stops where the resolution does (a name missing, or not a directory).
bool MaskCache::Record(const std::string& path, bool is_dir_listed, SystemTime start,
                       std::vector<bool>& stale, std::vector<size_t>& dirs) {
  if (path.empty() || path[0] != '/' || !RecordDir("/", start, stale, dirs)) return false;
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
    if (last) return !is_dir_listed || RecordDir(at, start, stale, dirs);
    if (!RecordDir(at, start, stale, dirs)) return false;
    begin = end + 1;
  }
}

// A directory recorded before and unchanged keeps its record (another path's record too); a new
// or stale one is recorded now, after `start`.
bool MaskCache::RecordDir(const std::string& path, SystemTime start, std::vector<bool>& stale,
                          std::vector<size_t>& dirs) {
  size_t i = 0;
  while (i < dirs_.size() && dirs_[i].path != path) ++i;
  if (i == dirs_.size() || (i < stale.size() && stale[i])) {
    struct statx st;
    if (!Identify(path, &st) || !S_ISDIR(st.stx_mode) || !KeepsDirectoryTimes(path)) return false;
    DirState now = StateOf(path, st);
    now.settled = TimeOlderThan(now.mtime_sec, now.mtime_nsec, start) &&
                  TimeOlderThan(now.ctime_sec, now.ctime_nsec, start);
    if (i == dirs_.size()) {
      dirs_.push_back(std::move(now));
    } else {
      dirs_[i] = std::move(now);
      stale[i] = false;
    }
  }
  dirs.push_back(i);
  return true;
}

MaskCache::DirState MaskCache::StateOf(const std::string& path, const struct statx& st) {
  DirState d;
  d.path = path;
  d.dev_major = st.stx_dev_major;
  d.dev_minor = st.stx_dev_minor;
  d.mnt_id = st.stx_mnt_id;
  d.ino = st.stx_ino;
  d.mtime_sec = st.stx_mtime.tv_sec;
  d.mtime_nsec = st.stx_mtime.tv_nsec;
  d.ctime_sec = st.stx_ctime.tv_sec;
  d.ctime_nsec = st.stx_ctime.tv_nsec;
  return d;
}

bool MaskCache::DirState::SameAs(const struct statx& st) const {
  return dev_major == st.stx_dev_major && dev_minor == st.stx_dev_minor &&
         mnt_id == st.stx_mnt_id && ino == st.stx_ino && mtime_sec == st.stx_mtime.tv_sec &&
         mtime_nsec == st.stx_mtime.tv_nsec && ctime_sec == st.stx_ctime.tv_sec &&
         ctime_nsec == st.stx_ctime.tv_nsec;
}

void MaskCache::Answer() {
  auto masks = std::make_shared<std::vector<std::string>>();
  for (const Candidate& c : candidates_) {
    if (!c.target.empty()) masks->push_back(c.target);
  }
  masks_ = std::move(masks);
}

}  // namespace baton::workers::sandbox
