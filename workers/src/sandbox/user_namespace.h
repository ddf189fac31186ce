// The user namespace unprivileged tasks run in, and what makes their volumes theirs.
//
// One namespace per sandbox maps ids 0..size-1 to the host ids host_id..host_id+size-1. Each
// unprivileged task joins it just before exec (setns), so it is root inside and an unprivileged
// user on the host: files of the host's root (/etc/shadow, 0600 tokens) stay unreadable. The same
// namespace idmaps the binds of the work dir and volumes, so the task owns them while on disk
// they stay owned by the server's user; where the filesystem cannot idmap, the writable ones are
// chowned to the mapped root instead. Thread-safe (no shared state).
#pragma once

#include <cstdint>
#include <string>

#include "baton/common/path_beneath.h"
#include "baton/common/status.h"
#include "baton/workers/sandbox.h"
#include "sandbox/child_plan.h"

namespace baton::workers::sandbox {

// Creates the namespace (root only) and returns a descriptor of it (/proc/<pid>/ns/user).
Result<ScopedFd> CreateUserNamespace(uint32_t host_id, uint32_t size);

// Whether a bind of `dir` can be idmapped with `userns_fd` on this kernel and filesystem.
Status CheckIdmappedMount(const std::string& dir, int userns_fd);

// Gives every file under `dir` (and `dir`) whose owner is below `size` the owner host_id+uid
// (same for groups), without following symlinks. For filesystems without idmapped mounts.
Status ChownIntoRange(const std::string& dir, uint32_t host_id, uint32_t size);

// The user side of unprivileged tasks for one sandbox: its namespace, and whether volumes are
// idmapped or chowned. Built once; thread-safe afterwards (const).
class TaskUsers {
 public:
  // Creates the namespace and checks idmapped mounts on `state_dir`. Never fails: an error is
  // kept and reported by Apply (and the worker's probe).
  TaskUsers(const SandboxOptions& options, const std::string& state_dir);

  // Makes `child`, prepared for `run`, an unprivileged task: it joins the namespace before
  // exec as root (or run.user) of it, and its binds are idmapped (or its writable volumes
  // chowned). Does nothing for a privileged run.
  Status Apply(const TaskRun& run, PreparedChild* child) const;

  // Whether unprivileged tasks can run (the namespace exists).
  bool ok() const { return status_.ok(); }
  // The namespace unprivileged tasks join (Apply gives it to them); -1 when !ok().
  int ns_fd() const { return ns_.get(); }

  // What a file owned by uid (gid) N on disk shows as to `run`'s root in an idmapped bind: N plus
  // this (the namespace's first host id when binds are idmapped for an unprivileged task, else 0).
  uint32_t IdShift(const TaskRun& run) const {
    return !run.privileged && status_.ok() && idmap_ ? host_id_ : 0;
  }

  // For the worker's log: "root of a user namespace mapped to host ids 100000-165535, ...".
  std::string Describe() const;

 private:
  uint32_t host_id_;
  uint32_t size_;
  ScopedFd ns_;
  Status status_;
  bool idmap_ = false;
  std::string no_idmap_reason_;
};

}  // namespace baton::workers::sandbox
