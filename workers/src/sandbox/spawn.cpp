// Spawn (spawn.h): clone a prepared child into its cgroups, let it go once the caller has
// placed it, and report setup or exec errors from the error pipe.
#include "sandbox/spawn.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sandbox/child_process.h"
#include "sandbox/sys_util.h"

namespace baton::workers::sandbox {
namespace {

constexpr size_t kChildStack = 256 * 1024;

// Stacks of inits that shared the worker's memory, kept for the next: each is free again once its
// clone returned (the child executed the small init or exited), and a kept one costs neither a
// mmap and munmap (a TLB shootdown on every core running the worker) nor faults on fresh pages.
class StackPool {
 public:
  static std::unique_ptr<sys::ChildStack> Take() {
    {
      std::lock_guard lock(mu());
      if (!free().empty()) {
        std::unique_ptr<sys::ChildStack> stack = std::move(free().back());
        free().pop_back();
        return stack;
      }
    }
    auto stack = std::make_unique<sys::ChildStack>(kChildStack);
    if (!stack->ok()) return nullptr;
    return stack;
  }
  // REQUIRES: no child runs on `stack` any more.
  static void Give(std::unique_ptr<sys::ChildStack> stack) {
    stack->Unpoison();
    std::lock_guard lock(mu());
    if (free().size() < kKept) free().push_back(std::move(stack));
  }

 private:
  static constexpr size_t kKept = 4;  // W3 runs two at once
  static std::mutex& mu() {
    static auto* m = new std::mutex();  // never destroyed: a task may start while the process exits
    return *m;
  }
  static std::vector<std::unique_ptr<sys::ChildStack>>& free() {
    static auto* stacks = new std::vector<std::unique_ptr<sys::ChildStack>>();  // never destroyed
    return *stacks;
  }
};

struct Pipe {
  int read = -1;
  int write = -1;
  Status Open() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return sys::ErrnoStatus("creating a pipe", errno);
    read = fds[0];
    write = fds[1];
    return Status::Ok();
  }
  void CloseRead() {
    if (read >= 0) ::close(read);
    read = -1;
  }
  void CloseWrite() {
    if (write >= 0) ::close(write);
    write = -1;
  }
  void Close() {
    CloseRead();
    CloseWrite();
  }
};

pid_t CloneChild(PreparedChild& child, int flags) {
  sys::ChildStack stack(kChildStack);
  if (!stack.ok()) return -1;
  child.plan.handlers_cleared = false;  // clone(2) cannot: the child resets every signal
  return ::clone(sandbox::RunChild, stack.top(), flags | SIGCHLD, &child.plan);
}

// clone3 with CLONE_INTO_CGROUP: the child is born in the v2 group. Like fork, the child goes
// on with a copy of this stack. -1 with errno when the kernel cannot (old kernel, v1 only).
pid_t CloneIntoCgroup(PreparedChild& child, int flags, int cgroup_fd) {
  clone_args args;
  std::memset(&args, 0, sizeof args);
  // Every kernel with CLONE_INTO_CGROUP (5.7) has CLONE_CLEAR_SIGHAND (5.5).
  args.flags = static_cast<uint64_t>(flags) | CLONE_INTO_CGROUP | CLONE_CLEAR_SIGHAND;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(cgroup_fd);
  child.plan.handlers_cleared = true;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) ::_exit(sandbox::RunChild(&child.plan));  // RunChild never returns
  return static_cast<pid_t>(pid);
}

// Whether the child can share this process's memory instead of being a copy of it: it must
// become the small init before the worker's thread goes on (CLONE_VFORK), so nothing may have to
// run between the clone and the start (`before_start`, a move into the v2 group by pid).
bool CanShareMemory(const PreparedChild& child, const CgroupEntry& cgroups,
                    const std::function<Status(pid_t)>& before_start) {
#if defined(__x86_64__)
  return child.plan.init_fd >= 0 && !before_start &&
         (cgroups.unified_fd >= 0 || cgroups.unified_procs.empty());
#else
  return false;
#endif
}

// Clones `fn(plan)` as posix_spawn clones a child (CLONE_VM | CLONE_VFORK, `args`' flags and
// more): nothing of the worker is copied (its page tables, then a fault on each page either side
// writes), and this thread waits until the child has executed something or exited. The child
// runs on a stack of the pool with every signal blocked and the worker's handlers reset. -1 with
// errno when the kernel cannot.
pid_t CloneOnPooledStack(clone_args& args, ChildPlan& plan, int (*fn)(void*)) {
#if defined(__x86_64__)
  // The child leaves this stack before the clone returns: it executed the init or exited.
  std::unique_ptr<sys::ChildStack> stack = StackPool::Take();
  if (!stack) return -1;
  plan.init_stack_low = stack->base();
  // The kernel resets the worker's handlers in the child's copy of them (CLONE_CLEAR_SIGHAND), so
  // that the child need only reset the signals the worker ignores.
  args.flags |= CLONE_VM | CLONE_VFORK | CLONE_CLEAR_SIGHAND;
  plan.handlers_cleared = true;
  args.exit_signal = SIGCHLD;
  args.stack = reinterpret_cast<uint64_t>(stack->base());
  args.stack_size = stack->size();
  // As posix_spawn: no handler of the worker may run in the child (in the worker's memory); it
  // starts with every signal blocked until its init chooses which to wait for.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = sys::Clone3OnStack(&args, fn, &plan);
  int err = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  StackPool::Give(std::move(stack));
  errno = err;
  return pid;
#else
  (void)args;
  (void)plan;
  (void)fn;
  errno = ENOSYS;
  return -1;
#endif
}

// Clones the sandbox's init sharing the worker's memory (CloneOnPooledStack): this thread waits
// until the init has built the sandbox, started the task and executed the small init, or failed.
pid_t CloneSharingMemory(PreparedChild& child, int flags, const CgroupEntry& cgroups) {
  clone_args args;
  std::memset(&args, 0, sizeof args);
  args.flags = static_cast<uint64_t>(flags);
  if (cgroups.unified_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroups.unified_fd);
  }
  return CloneOnPooledStack(args, child.plan, sandbox::RunChild);
}

// Clones the child into `cgroups`' v2 group, directly when the kernel can, else by moving it.
Result<pid_t> CloneInto(PreparedChild& child, int flags, const CgroupEntry& cgroups) {
  if (cgroups.unified_fd >= 0) {
    pid_t pid = CloneIntoCgroup(child, flags, cgroups.unified_fd);
    if (pid >= 0 || (errno != ENOSYS && errno != EINVAL && errno != EOPNOTSUPP)) return pid;
  }
  pid_t pid = CloneChild(child, flags);
  if (pid < 0 || cgroups.unified_procs.empty()) return pid;
  Status moved = sys::WriteSmallFile(cgroups.unified_procs, std::to_string(pid));
  if (moved.ok()) return pid;
  ::kill(pid, SIGKILL);  // it waits on the sync pipe and has run nothing
  ::waitpid(pid, nullptr, 0);
  return moved;
}

}  // namespace

void AddCgroupEntry(const CgroupEntry& cgroups, PreparedChild& child) {
  for (size_t i = 0; i < cgroups.v1_tasks.size(); ++i) {
    const std::string& tasks = cgroups.v1_tasks[i];
    child.plan.cgroup_tasks.push_back(child.strings.Keep(tasks));
    child.plan.cgroup_tasks_fds.push_back(i < cgroups.v1_tasks_fds.size() ? cgroups.v1_tasks_fds[i]
                                                                          : -1);
    child.cgroup_description += (child.cgroup_description.empty() ? "" : ", ") + tasks;
  }
}

Result<std::unique_ptr<SandboxedProcess>> Spawn(PreparedChild& child, int flags,
                                                const SandboxStdio& stdio,
                                                const CgroupEntry& cgroups,
                                                const std::function<Status(pid_t)>& before_start) {
  Pipe sync, errors;
  BATON_RETURN_IF_ERROR(errors.Open());
  child.plan.stdin_fd = stdio.stdin_fd;
  child.plan.stdout_fd = stdio.stdout_fd;
  child.plan.stderr_fd = stdio.stderr_fd;
  child.plan.error_fd = errors.write;
  AddCgroupEntry(cgroups, child);
  Result<pid_t> cloned = -1;
  if (CanShareMemory(child, cgroups, before_start)) {
    // No sync pipe: this thread waits until the child has gone its way (CLONE_VFORK).
    child.plan.shares_memory = true;
    cloned = CloneSharingMemory(child, flags, cgroups);
    if (*cloned < 0 && (errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
      child.plan.shares_memory = false;  // an older kernel: a copy of the worker, as before
    }
  }
  if (!child.plan.shares_memory) {
    if (Status s = sync.Open(); !s.ok()) {
      errors.Close();
      return s;
    }
    child.plan.sync_fd = sync.read;
    cloned = CloneInto(child, flags, cgroups);
  }
  int clone_err = errno;
  sync.CloseRead();
  errors.CloseWrite();
  if (!cloned.ok() || *cloned < 0) {
    sync.Close();
    errors.Close();
    if (!cloned.ok()) return cloned.status();
    return sys::ErrnoStatus("sandbox setup failed: clone", clone_err,
                            StatusCode::kFailedPrecondition);
  }
  pid_t pid = *cloned;
  if (!child.plan.sandboxed) ::setpgid(pid, pid);
  auto process = std::make_unique<sandbox::ChildProcess>(pid, !child.plan.sandboxed);
  Status placed = before_start ? before_start(pid) : Status::Ok();
  // A child sharing memory does not wait for the byte: it has run by now. A copy of the worker
  // that failed before it read the byte (joining its cgroups) has closed its end: EPIPE, not a
  // SIGPIPE, and its error pipe says why.
  if (placed.ok() && !child.plan.shares_memory) {
    sys::SigpipeBlock no_sigpipe;
    if (::write(sync.write, "g", 1) != 1 && errno != EPIPE) {
      placed = sys::ErrnoStatus("starting the sandbox", errno);
    }
  }
  sync.CloseWrite();
  ChildError e;
  bool failed = placed.ok() && ReadChildError(errors.read, &e);
  errors.CloseRead();
  if (!placed.ok()) return placed;  // `process` kills and reaps the child
  if (failed) {
    process->Wait();
    return sandbox::DescribeChildError(child, e);
  }
  if (child.plan.sandboxed) process->HoldMountNamespace();
  return std::unique_ptr<SandboxedProcess>(std::move(process));
}

pid_t CloneSpare(ChildPlan& plan, int flags, pid_t* pid) {
  clone_args args;
  std::memset(&args, 0, sizeof args);
  args.flags = static_cast<uint64_t>(flags) | CLONE_PARENT_SETTID;
  args.parent_tid = reinterpret_cast<uint64_t>(pid);
  plan.shares_memory = true;
  return CloneOnPooledStack(args, plan, sandbox::RunSpareChild);
}

pid_t CloneProbe(ChildPlan& plan) {
  clone_args args;
  std::memset(&args, 0, sizeof args);
  args.flags = CLONE_NEWPID;
  plan.shares_memory = true;
  return CloneOnPooledStack(args, plan, sandbox::RunProbeChild);
}

bool ReadChildError(int fd, ChildError* e) {
  size_t got = 0;
  auto* buf = reinterpret_cast<char*>(e);
  while (got < sizeof *e) {
    ssize_t n = ::read(fd, buf + got, sizeof *e - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += n;
  }
  return got == sizeof *e;
}

}  // namespace baton::workers::sandbox
