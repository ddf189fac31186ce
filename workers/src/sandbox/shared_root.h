// SharedRoots: the part of a task's root that is the same for every unprivileged task on the
// host's root, made once per worker as a mount namespace that each such task copies.
//
// Building a task's root from nothing took ~45 mount steps and a pivot_root per task (the host's
// root bound read-only, the masks, a /dev with its devices), ~0.6 ms of a sandboxed `true`'s
// ~2.5 ms (docs/benchmarks.md, branch `mounts`). Here that root is made once: a thread of the
// worker unshares its mount namespace, builds it (PrepareSharedRoot) and pivots into it; the
// namespace outlives the thread through a descriptor. A task's init joins it and unshares at once
// (its own copy: nothing it mounts or unmounts reaches the shared one or another task), then adds
// what is the task's own: /tmp, /dev/shm, /dev/pts, /proc, its work dir and volumes.
//
// What the tasks share is read-only: the host's root (as before), the masks' empty tmpfs (as
// before, now across tasks) and /dev's tmpfs (now read-only: the devices in it are bound from the
// host's /dev and writable as before). Privileged tasks, which could remount those writable, and
// tasks on an image never use a shared root. The masked paths are checked for each task
// (mask_cache.h), and a namespace made for others is made again; so is every one once the worker's
// mounts have changed (the host mounted or unmounted something; docs/security.md), and one whose
// own mounts have: the kernel detaches a mask from every namespace once the host removes or
// renames the file or directory it covers, so a masked path made again under the same name (a
// data dir made anew, a host key rotated by a rename) would be seen unmasked.
//
// Thread-safety: Get may be called from any thread.
#pragma once

#include <sys/types.h>

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "baton/common/path_beneath.h"
#include "baton/common/status.h"

namespace baton::workers::sandbox {

class SharedRoots {
 public:
  // What a root masks and binds (see Get).
  struct Spec {
    std::vector<std::string> masked;
    std::string resolv_conf;
  };
  // `build_dir`: an empty directory where each shared root is built before the pivot.
  // `prepare`: a root to start making at once, on a thread of its own, so that the owner goes on
  // meanwhile (the sandbox's start makes its user namespace); a Get of it waits for it.
  explicit SharedRoots(std::string build_dir, std::optional<Spec> prepare = std::nullopt);
  // Waits for the root being prepared.
  ~SharedRoots();
  SharedRoots(const SharedRoots&) = delete;
  SharedRoots& operator=(const SharedRoots&) = delete;

  // The mount namespace of a root masking `masked` and binding `resolv_conf` ("": none) at
  // /etc/resolv.conf. Made on the first call with these, again when `masked` changes. An error
  // when it cannot be made (the task then builds its root itself); after two in a row, every
  // call fails the same way without trying again. One that failed because a path of `masked`
  // was gone (removed since the caller read the masks) is not counted: the next call, with the
  // masks read again, tries again.
  Result<std::shared_ptr<const ScopedFd>> Get(const std::vector<std::string>& masked,
                                              const std::string& resolv_conf);

  // Why shared roots are not used here; empty while they are.
  std::string why_not() const;

 private:
  struct Entry {
    std::vector<std::string> masked;
    std::string resolv_conf;
    std::shared_ptr<const ScopedFd> ns;
    // The root's own /proc/<thread>/mountinfo, polled: a mount of it detached or added since.
    ScopedFd mounts;
    // What each path of `masked` was on the host (device, inode) just before the root was made.
    // A masked path renamed away takes its mask with it (nothing marks `mounts`), and one made
    // again in its place is another inode the root would show unmasked.
    std::vector<std::pair<dev_t, ino_t>> identities;
  };
  struct Built {
    ScopedFd ns;
    ScopedFd mounts;  // Entry::mounts
  };
  // `here`: on the calling thread, which is left in the root's mount namespace (Prepare's);
  // else on a thread of its own.
  Result<std::shared_ptr<const ScopedFd>> GetLocked(const std::vector<std::string>& masked,
                                                    const std::string& resolv_conf,
                                                    bool here);  // REQUIRES: mu_ held
  Result<Built> Build(const std::vector<std::string>& masked, const std::string& resolv_conf,
                      bool here) const;
  static bool RootMountsChanged(const Entry& entry);
  // Each path's (device, inode) now; a path that cannot be read is {0, 0}, never equal to a
  // path's (no file has inode 0).
  static std::vector<std::pair<dev_t, ino_t>> Identities(const std::vector<std::string>& paths);
  bool HostMountsChanged();  // REQUIRES: mu_ held

  const std::string build_dir_;
  mutable std::mutex mu_;
  std::vector<Entry> entries_;  // GUARDED_BY(mu_): one per resolv_conf
  // The worker's /proc/self/mountinfo, polled for a change of its mounts; GUARDED_BY(mu_).
  ScopedFd mounts_;
  Status failed_;          // GUARDED_BY(mu_)
  int failures_ = 0;       // GUARDED_BY(mu_): builds failed in a row
  std::thread preparing_;  // making the constructor's `prepare`; joined by the destructor
};

}  // namespace baton::workers::sandbox
