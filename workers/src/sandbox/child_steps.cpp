// The setup steps of a sandbox's plan (child_plan.h), run in the cloned child: system calls only.
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/fsuid.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "sandbox/child_plan.h"

namespace baton::workers::sandbox {
namespace {

// A copy of `path` in `buf` to cut into components; false (errno ENAMETOOLONG) if it is too long.
bool CopyPath(const char* path, char (&buf)[4096]) {
  size_t n = strlen(path);
  if (n >= sizeof buf) {
    errno = ENAMETOOLONG;
    return false;
  }
  memcpy(buf, path, n + 1);
  return true;
}

int MkdirAll(const char* path) {
  // Most targets' parents exist (/dev/shm in the new /dev): one call, not one per component.
  if (::mkdir(path, 0755) == 0 || errno == EEXIST) return 0;
  if (errno != ENOENT) return -1;
  char buf[4096];
  if (!CopyPath(path, buf)) return -1;
  for (char* c = buf + 1; *c; ++c) {
    if (*c != '/') continue;
    *c = '\0';
    if (::mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
    *c = '/';
  }
  if (::mkdir(buf, 0755) != 0 && errno != EEXIST) return -1;
  return 0;
}

// One path component inside `dir`, never through a symlink, never above `dir`.
int OpenComponent(int dir, const char* name, int flags) {
  open_how how;
  memset(&how, 0, sizeof how);
  how.flags = static_cast<uint64_t>(flags) | O_CLOEXEC;  // a trailing symlink: ELOOP
  how.mode = (flags & O_CREAT) ? 0644 : 0;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, dir, name, &how, sizeof how));
}

// Opens `rel` inside `root` as an O_PATH descriptor, creating missing directories (and the
// last component as a file unless `is_dir`). -1 with errno, e.g. ELOOP for a symlink.
int OpenMountPoint(const char* root, const char* rel, bool is_dir, uid_t fs_id) {
  char buf[4096];
  if (!CopyPath(rel, buf)) return -1;
  int at = ::open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
  // Inside an idmapped mount only ids of its namespace can create files: make them as its root
  // (the host's root has no id there; its own fsuid would fail with EOVERFLOW).
  if (fs_id != 0) {
    ::syscall(SYS_setfsgid, fs_id);
    ::syscall(SYS_setfsuid, fs_id);
  }
  char* part = buf;
  while (at >= 0 && *part) {
    char* end = strchr(part, '/');
    bool last = end == nullptr;
    if (end) *end = '\0';
    if (*part && strcmp(part, ".") != 0) {
      bool dir = !last || is_dir;
      int fd = OpenComponent(at, part, O_PATH | (dir ? O_DIRECTORY : 0));
      if (fd < 0 && errno == ENOENT) {
        int made = dir ? ::mkdirat(at, part, 0755) : OpenComponent(at, part, O_CREAT | O_WRONLY);
        if (!dir && made >= 0) ::close(made);
        if (made >= 0 || errno == EEXIST)
          fd = OpenComponent(at, part, O_PATH | (dir ? O_DIRECTORY : 0));
      }
      int err = errno;
      ::close(at);
      errno = err;
      at = fd;
    }
    if (last) break;
    part = end + 1;
  }
  if (fs_id != 0) {
    int err = errno;
    ::syscall(SYS_setfsuid, 0);  // gives back the file capabilities the switch took
    ::syscall(SYS_setfsgid, 0);
    errno = err;
  }
  return at;
}

// A detached recursive copy of the tree at `source` with `attr_set` (MOUNT_ATTR_*; with
// MOUNT_ATTR_IDMAP, idmapped with `userns_fd`). -1 with errno.
int CloneTreeWith(const char* source, uint64_t attr_set, int userns_fd) {
  int tree = static_cast<int>(
      ::open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE));
  if (tree < 0) return -1;
  mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = attr_set;
  if (attr_set & MOUNT_ATTR_IDMAP) attr.userns_fd = static_cast<uint64_t>(userns_fd);
  if (attr_set != 0 &&
      ::mount_setattr(tree, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) {
    int err = errno;
    ::close(tree);
    errno = err;
    return -1;
  }
  return tree;
}

}  // namespace

int CloneTree(const SetupStep& s, int userns_fd) {
  uint64_t attr_set = 0;
  if (s.flags & MS_RDONLY) attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  // The task's root owns what the server's root owns on disk.
  if (s.idmap) attr_set |= MOUNT_ATTR_IDMAP;
  return CloneTreeWith(s.source, attr_set, userns_fd);
}

namespace {

// A detached copy of the tree at `s.source` (or the one cloned before, s.tree_fd), attached at
// the mount point.
int BindBeneath(const SetupStep& s, int userns_fd, uid_t mapped_root, const char* new_root) {
  // Mount points inside the (idmapped) work mount are made as the namespace's root; those in the
  // new root (the work mount itself, /tmp/build/get) as the host's root, which may search an
  // image's 0700 rootfs directory.
  uid_t fs_id = s.idmap && strcmp(s.beneath, new_root) != 0 ? mapped_root : 0;
  int tree = s.tree_fd >= 0 ? s.tree_fd : CloneTree(s, userns_fd);
  s.tree_fd = -1;
  if (tree < 0) return -1;
  int target = OpenMountPoint(s.beneath, s.target, s.target_is_dir, fs_id);
  int rc = -1;
  if (target >= 0) {
    rc = ::move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
  }
  int err = errno;
  if (target >= 0) ::close(target);
  ::close(tree);
  errno = err;
  return rc;
}

// The recursive bind of `s.source` at `s.target`, idmapped with the task's namespace.
int IdmappedBind(const SetupStep& s, int userns_fd) {
  int tree = CloneTreeWith(s.source, MOUNT_ATTR_IDMAP, userns_fd);
  if (tree < 0) return -1;
  int rc = ::move_mount(tree, "", AT_FDCWD, s.target, MOVE_MOUNT_F_EMPTY_PATH);
  int err = errno;
  ::close(tree);
  errno = err;
  return rc;
}

int ReadOnlyTree(const char* target) {
  mount_attr attr;
  memset(&attr, 0, sizeof attr);
  attr.attr_set = MOUNT_ATTR_RDONLY;
  return ::mount_setattr(AT_FDCWD, target, AT_RECURSIVE, &attr, sizeof attr);
}

}  // namespace

int RunStep(const SetupStep& s, const ChildPlan& p) {
  switch (s.kind) {
    case StepKind::kMount:
      if (s.idmap) return IdmappedBind(s, p.userns_fd);
      return ::mount(s.source, s.target, s.fstype, s.flags, s.data);
    case StepKind::kMkdirAll:
      return MkdirAll(s.target);
    case StepKind::kTouch: {
      int fd = ::open(s.target, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
      if (fd < 0) return -1;
      ::close(fd);
      return 0;
    }
    case StepKind::kSymlink:
      return ::symlink(s.source, s.target);
    case StepKind::kBindBeneath:
      return BindBeneath(s, p.userns_fd, p.mapped_root, p.new_root);
    case StepKind::kReadOnlyTree:
      return ReadOnlyTree(s.target);
  }
  return 0;
}

namespace {

int PivotInto(const char* new_root) {
  if (::chdir(new_root) != 0) return -1;
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return -1;
  if (::umount2(".", MNT_DETACH) != 0) return -1;
  return ::chdir("/");
}

}  // namespace

ChildError BuildRootHere(const ChildPlan& p) {
  for (size_t i = 0; i < p.steps.size(); ++i) {
    if (RunStep(p.steps[i], p) != 0 && !p.steps[i].optional) {
      return {static_cast<int>(i), errno != 0 ? errno : EIO};
    }
  }
  if (p.shared_root_fd >= 0) return {0, ::chdir("/") == 0 ? 0 : errno};
  if (PivotInto(p.new_root) != 0) return {kFailPivot, errno != 0 ? errno : EIO};
  return {0, 0};
}

}  // namespace baton::workers::sandbox
