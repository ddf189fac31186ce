#include "sandbox/shared_root.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "sandbox/child_plan.h"
#include "sandbox/sys_util.h"

namespace baton::workers::sandbox {

SharedRoots::SharedRoots(std::string build_dir, std::optional<Spec> prepare)
    : build_dir_(std::move(build_dir)),
      mounts_(::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC)) {
  if (!prepare) return;
  // This thread is left in the root's namespace, and ends there: one thread start instead of two.
  preparing_ = std::thread([this, spec = std::move(*prepare)] {
    std::lock_guard lock(mu_);
    (void)GetLocked(spec.masked, spec.resolv_conf, /*here=*/true);  // a failure is Get's to report
  });
}

SharedRoots::~SharedRoots() {
  if (preparing_.joinable()) preparing_.join();
}

// The kernel marks an open mountinfo when its namespace's mounts change; opening it anew clears
// the mark. Without it, every shared root is made for one task only.
bool SharedRoots::HostMountsChanged() {
  if (!sys::MountsChanged(mounts_.get())) return false;
  mounts_ = ScopedFd(::open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC));
  return true;
}

Result<std::shared_ptr<const ScopedFd>> SharedRoots::Get(const std::vector<std::string>& masked,
                                                         const std::string& resolv_conf) {
  std::lock_guard lock(mu_);
  return GetLocked(masked, resolv_conf, /*here=*/false);
}

Result<std::shared_ptr<const ScopedFd>> SharedRoots::GetLocked(
    const std::vector<std::string>& masked, const std::string& resolv_conf, bool here) {
  if (!failed_.ok()) return failed_;
  if (HostMountsChanged()) entries_.clear();
  auto it = entries_.begin();
  while (it != entries_.end() && it->resolv_conf != resolv_conf) ++it;
  std::vector<std::pair<dev_t, ino_t>> identities = Identities(masked);  // before any build
  if (it != entries_.end() && it->masked == masked && !RootMountsChanged(*it) &&
      it->identities == identities) {
    return it->ns;
  }
  Result<Built> made = Build(masked, resolv_conf, here);
  if (!made.ok()) {
    // The root this call came to replace goes too: it may be one whose masks the host detached,
    // and polling its mountinfo above took the kernel's mark of that, so the next call would
    // find it unchanged and hand it out.
    if (it != entries_.end()) entries_.erase(it);
    // A masked path removed after the caller read the masks fails the build: this call fails
    // (the task builds its own root) and the next, with the masks read again, builds the root.
    // Any other failure is for good once it happens twice in a row (remounting /dev read-only
    // failed once in ~45 workers with EBUSY, and the next build passed).
    bool all_there = std::all_of(masked.begin(), masked.end(),
                                 [](const std::string& path) { return sys::PathExists(path); });
    if (all_there && ++failures_ >= 2) failed_ = made.status();
    return made.status();
  }
  failures_ = 0;
  // A task still starting in the one replaced holds it until its init has copied it.
  auto ns = std::make_shared<const ScopedFd>(std::move(made->ns));
  Entry entry{masked, resolv_conf, ns, std::move(made->mounts), std::move(identities)};
  if (it == entries_.end()) {
    entries_.push_back(std::move(entry));
  } else {
    *it = std::move(entry);
  }
  return ns;
}

std::vector<std::pair<dev_t, ino_t>> SharedRoots::Identities(
    const std::vector<std::string>& paths) {
  std::vector<std::pair<dev_t, ino_t>> out;
  out.reserve(paths.size());
  for (const auto& path : paths) {
    struct stat st;
    out.emplace_back(0, 0);
    if (::lstat(path.c_str(), &st) == 0) out.back() = {st.st_dev, st.st_ino};
  }
  return out;
}

// Nothing mounts or unmounts in a shared root once made (a task's init copies it before it
// mounts anything, and its mounts are private); the host's removal or rename of what a mask
// covers detaches that mask, which the kernel marks on the root's mountinfo.
bool SharedRoots::RootMountsChanged(const Entry& entry) {
  return sys::MountsChanged(entry.mounts.get());
}

std::string SharedRoots::why_not() const {
  std::lock_guard lock(mu_);
  return failed_.ok() ? "" : failed_.message();
}

// On a thread of its own: unshare and pivot_root change only the calling thread's mount namespace
// and root, and the thread's go with it; the namespace stays, held by the descriptor.
Result<SharedRoots::Built> SharedRoots::Build(const std::vector<std::string>& masked,
                                              const std::string& resolv_conf, bool here) const {
  PreparedChild root;
  PrepareSharedRoot(masked, resolv_conf, build_dir_, &root);
  root.plan.new_root = root.strings.Keep(build_dir_);
  ScopedFd ns;
  ScopedFd mounts;
  int unshare_err = 0;
  ChildError e;
  auto build = [&] {
    if (::unshare(CLONE_NEWNS) != 0) {
      unshare_err = errno;
      return;  // still in the worker's namespace: nothing may be mounted or unmounted
    }
    ns = ScopedFd(::open("/proc/thread-self/ns/mnt", O_RDONLY | O_CLOEXEC));
    ScopedFd proc(::open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (ns.get() < 0 || proc.get() < 0) {
      e = {kFailSharedRoot, errno};
      return;
    }
    e = BuildRootHere(root.plan);
    if (e.err != 0) return;
    // Opened once the root is built: it holds the thread's root, the new one, not the host's
    // tree the pivot detached (which would otherwise be freed only when the worker ends).
    mounts = ScopedFd(::openat(proc.get(), "thread-self/mountinfo", O_RDONLY | O_CLOEXEC));
    if (mounts.get() < 0) e = {kFailSharedRoot, errno};
  };
  if (here) {
    build();
  } else {
    std::thread builder(build);
    builder.join();
  }
  if (unshare_err != 0) {
    return sys::ErrnoStatus("creating the shared root's mount namespace", unshare_err,
                            StatusCode::kFailedPrecondition);
  }
  if (e.err != 0) return DescribeChildError(root, e);
  return Built{std::move(ns), std::move(mounts)};
}

}  // namespace baton::workers::sandbox
