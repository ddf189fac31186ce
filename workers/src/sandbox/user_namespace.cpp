// CreateUserNamespace, CheckIdmappedMount, ChownIntoRange: see user_namespace.h.
#include "sandbox/user_namespace.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "sandbox/sys_util.h"

namespace baton::workers::sandbox {
namespace {

namespace fs = std::filesystem;

constexpr size_t kHolderStack = 64 * 1024;

// The holder: it only sits in the new namespace until the write end of `*hold` closes. It keeps
// `hold` alone. Its copy of the write end would keep the pipe open forever; so would its copy of
// another thread's holder pipe, made just before this clone: two workers starting at once (their
// sandboxes built on threads of their own) then each held the other's holder, and both waited for
// ever. It shares the worker's memory (see CloneHolder): raw system calls only, none of which
// fails here, so nothing writes the errno it shares with the cloning thread; every signal is
// blocked, so no read is interrupted and no handler runs.
int HoldNamespace(void* arg) {
  const int hold = *static_cast<const int*>(arg);
  if (hold > 0) ::syscall(SYS_close_range, 0u, static_cast<unsigned>(hold) - 1, 0);
  ::syscall(SYS_close_range, static_cast<unsigned>(hold) + 1, ~0U, 0);
  char c;
  ::syscall(SYS_read, hold, &c, 1);
  return 0;
}

// Clones the holder into a new user namespace, sharing this process's memory (CLONE_VM) on
// `stack`, which must stay mapped until it has exited: a copy of the worker's memory (fork) cost
// its page tables' copy and, until the holder exited, a copy-on-write fault and a TLB flush on
// every CPU for each page any of the worker's threads wrote (~1 ms of a `baton run`'s start,
// docs/benchmarks.md).
pid_t CloneHolder(int* hold, sys::ChildStack& stack) {
  if (!stack.ok()) return -1;
  sigset_t all, old;
  ::sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = ::clone(HoldNamespace, stack.top(), CLONE_NEWUSER | CLONE_VM | SIGCHLD, hold);
  int err = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return pid;
}

Status WriteMaps(pid_t pid, uint32_t host_id, uint32_t size) {
  std::string map = "0 " + std::to_string(host_id) + " " + std::to_string(size) + "\n";
  std::string proc = "/proc/" + std::to_string(pid);
  BATON_RETURN_IF_ERROR(sys::WriteSmallFile(proc + "/uid_map", map));
  return sys::WriteSmallFile(proc + "/gid_map", map);
}

}  // namespace

Result<ScopedFd> CreateUserNamespace(uint32_t host_id, uint32_t size) {
  if (size == 0 || uint64_t{host_id} + size > 0xffffffffull || host_id == 0) {
    return InvalidArgument("user namespace range " + std::to_string(host_id) + ":" +
                           std::to_string(size) +
                           " is invalid: give a first host id above 0 and a count above 0 whose "
                           "range ends at or before host id 4294967294, e.g. 100000:65536");
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return sys::ErrnoStatus("creating a pipe", errno);
  ScopedFd hold_read(fds[0]), hold_write(fds[1]);
  int hold = hold_read.get();
  sys::ChildStack stack(kHolderStack);  // declared before the wait for the holder below
  pid_t pid = CloneHolder(&hold, stack);
  if (pid < 0) {
    return sys::ErrnoStatus("creating a user namespace (is /proc/sys/user/max_user_namespaces 0?)",
                            errno, StatusCode::kFailedPrecondition);
  }
  Status mapped = WriteMaps(pid, host_id, size);
  ScopedFd ns(::open(("/proc/" + std::to_string(pid) + "/ns/user").c_str(), O_RDONLY | O_CLOEXEC));
  int open_err = errno;
  hold_write = ScopedFd();  // the holder exits; the descriptor keeps the namespace alive
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
  if (!mapped.ok()) return mapped.WithContext("mapping the task user namespace");
  if (ns.get() < 0) return sys::ErrnoStatus("opening the task user namespace", open_err);
  return ns;
}

Status CheckIdmappedMount(const std::string& dir, int userns_fd) {
  ScopedFd tree(static_cast<int>(
      ::open_tree(AT_FDCWD, dir.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE)));
  if (tree.get() < 0) return sys::ErrnoStatus("cloning the mount of " + dir, errno);
  mount_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.attr_set = MOUNT_ATTR_IDMAP;
  attr.userns_fd = static_cast<uint64_t>(userns_fd);
  if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) != 0) {
    return sys::ErrnoStatus("idmapping a mount of " + dir, errno);
  }
  return Status::Ok();
}

Status ChownIntoRange(const std::string& dir, uint32_t host_id, uint32_t size) {
  auto shift = [&](const fs::path& p) -> Status {
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) return sys::ErrnoStatus("stat " + p.string(), errno);
    uid_t uid = st.st_uid < size ? host_id + st.st_uid : st.st_uid;
    gid_t gid = st.st_gid < size ? host_id + st.st_gid : st.st_gid;
    if (uid == st.st_uid && gid == st.st_gid) return Status::Ok();
    if (::lchown(p.c_str(), uid, gid) != 0) return sys::ErrnoStatus("chown " + p.string(), errno);
    return Status::Ok();
  };
  BATON_RETURN_IF_ERROR(shift(dir));
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    BATON_RETURN_IF_ERROR(shift(it->path()));
  }
  if (ec) return IoError("walking " + dir + ": " + ec.message());
  return Status::Ok();
}

TaskUsers::TaskUsers(const SandboxOptions& options, const std::string& state_dir)
    : host_id_(options.userns_host_id), size_(options.userns_size) {
  auto ns = CreateUserNamespace(host_id_, size_);
  if (!ns.ok()) {
    status_ = ns.status();
    return;
  }
  ns_ = std::move(*ns);
  if (!options.idmapped_mounts) {
    no_idmap_reason_ = "idmapped mounts are turned off";
    return;
  }
  Status idmap = CheckIdmappedMount(state_dir, ns_.get());
  idmap_ = idmap.ok();
  if (!idmap_) no_idmap_reason_ = idmap.message();
}

Status TaskUsers::Apply(const TaskRun& run, PreparedChild* child) const {
  if (run.privileged) return Status::Ok();
  if (!status_.ok()) {
    return FailedPrecondition("cannot run an unprivileged task: " + status_.message() +
                              "; the worker needs user namespaces (root, Linux 5.12 or later)");
  }
  child->plan.userns_fd = ns_.get();
  child->plan.mapped_root = idmap_ ? host_id_ : 0;
  child->plan.set_user = true;  // uid/gid 0 (the namespace's root) unless run.user set them
  for (auto& step : child->plan.steps) {
    if (step.kind == StepKind::kBindBeneath || step.image_root) step.idmap = idmap_;
  }
  if (idmap_) return Status::Ok();
  if (run.rootfs.kind == RootfsSpec::Kind::kDirectory) {  // read-only in the task all the same
    BATON_RETURN_IF_ERROR(ChownIntoRange(run.rootfs.path, host_id_, size_));
  }
  BATON_RETURN_IF_ERROR(ChownIntoRange(run.work_dir, host_id_, size_));
  for (const auto& m : run.mounts) {
    if (m.writable) BATON_RETURN_IF_ERROR(ChownIntoRange(m.host_path, host_id_, size_));
  }
  return Status::Ok();
}

std::string TaskUsers::Describe() const {
  if (!status_.ok()) return "no user namespace: " + status_.message();
  std::string range = std::to_string(host_id_) + "-" + std::to_string(host_id_ + size_ - 1);
  return "unprivileged tasks run as root of a user namespace mapped to host ids " + range +
         (idmap_ ? ", volumes idmapped"
                 : ", writable volumes chowned to " + std::to_string(host_id_) + " (" +
                       no_idmap_reason_ + ")");
}

}  // namespace baton::workers::sandbox
