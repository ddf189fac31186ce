// The code that runs in the cloned child: system calls only (see child_plan.h for why).
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

#include "sandbox/child_plan.h"
#include "sandbox/child_process.h"
#include "sandbox/sys_util.h"

namespace baton::workers::sandbox {
namespace {

constexpr int kSetupFailedExit = 125;
constexpr int kExecFailedExit = 127;

[[noreturn]] void Fail(const ChildPlan& p, int point, int err) {
  ChildError e{point, err};
  ssize_t n = ::write(p.error_fd, &e, sizeof e);
  (void)n;
  ::_exit(point == kFailExec ? kExecFailedExit : kSetupFailedExit);
}

// Closes every descriptor except the plan's own.
void CloseOtherFds(const ChildPlan& p) {
  int keep[] = {p.stdin_fd,  p.stdout_fd, p.stderr_fd, p.sync_fd,        p.error_fd,
                p.userns_fd, p.netns_fd,  p.init_fd,   p.shared_root_fd, p.go_fd};
  std::sort(std::begin(keep), std::end(keep));
  unsigned int next = 0;
  for (int fd : keep) {
    if (fd < 0 || static_cast<unsigned int>(fd) < next) continue;
    if (static_cast<unsigned int>(fd) > next) ::syscall(SYS_close_range, next, fd - 1, 0);
    next = fd + 1;
  }
  ::syscall(SYS_close_range, next, ~0U, 0);
}

// Moves this (single-threaded) process into each v1 group: writing "0" to `tasks` moves the
// caller's own thread without the global lock that moving another process takes. Through the
// worker's open file where it has one, so before CloseOtherFds.
void JoinCgroups(const ChildPlan& p) {
  for (size_t i = 0; i < p.cgroup_tasks.size(); ++i) {
    int open_fd = i < p.cgroup_tasks_fds.size() ? p.cgroup_tasks_fds[i] : -1;
    int fd = open_fd >= 0 ? open_fd : ::open(p.cgroup_tasks[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0) Fail(p, kFailCgroup, errno);
    if (::write(fd, "0", 1) != 1) Fail(p, kFailCgroup, errno);
    if (fd != open_fd) ::close(fd);
  }
}

int BringUpLoopback() {
  int s = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  ifr.ifr_flags = IFF_UP | IFF_RUNNING;
  int rc = ::ioctl(s, SIOCSIFFLAGS, &ifr);
  int err = errno;
  ::close(s);
  errno = err;
  return rc;
}

// The task's mount namespace as a copy of the worker's shared root: the trees of the host's paths
// it binds are cloned first, while this child still sees the host's paths unmasked (the worker's
// mount namespace: it was cloned without CLONE_NEWNS).
void CopySharedRoot(const ChildPlan& p) {
  for (size_t i = 0; i < p.steps.size(); ++i) {
    const SetupStep& s = p.steps[i];
    if (s.kind != StepKind::kBindBeneath) continue;
    s.tree_fd = CloneTree(s, p.userns_fd);
    if (s.tree_fd < 0) Fail(p, static_cast<int>(i), errno);
  }
  if (::setns(p.shared_root_fd, CLONE_NEWNS) != 0) Fail(p, kFailSharedRoot, errno);
  ::close(p.shared_root_fd);
  // A copy of the shared root, so that nothing the task mounts or unmounts reaches it.
  if (::unshare(CLONE_NEWNS) != 0) Fail(p, kFailSharedRoot, errno);
}

void BuildSandbox(const ChildPlan& p) {
  if (p.shared_root_fd >= 0) CopySharedRoot(p);
  ChildError e = BuildRootHere(p);
  if (e.err != 0) Fail(p, e.point, e.err);
  if (p.hostname && ::sethostname(p.hostname, strlen(p.hostname)) != 0) {
    Fail(p, kFailHostname, errno);
  }
  if (p.loopback_up && BringUpLoopback() != 0) Fail(p, kFailLoopback, errno);
}

// The signals the worker ignored when this process was cloned, from SigIgn in /proc/self/status
// (three system calls for all of them, where rt_sigaction reads one signal a call); every signal
// when it cannot be read.
uint64_t IgnoredSignals() {
  char buf[4096];
  int fd = ::open("/proc/self/status", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ~uint64_t{0};
  // One read: procfs hands the whole file to the first (~1.4 kB); a line missing from it (a
  // short read) only means resetting every signal.
  ssize_t got = ::read(fd, buf, sizeof buf - 1);
  ::close(fd);
  buf[got > 0 ? got : 0] = '\0';
  constexpr char kField[] = "\nSigIgn:\t";
  const char* at = strstr(buf, kField);
  if (at == nullptr) return ~uint64_t{0};
  // Sixteen hex digits; from_chars neither allocates nor locks.
  const char* digits = at + sizeof kField - 1;
  uint64_t mask = 0;
  auto [end, ec] = std::from_chars(digits, buf + (got > 0 ? got : 0), mask, 16);
  return ec == std::errc() && end - digits == 16 ? mask : ~uint64_t{0};
}

// Every signal's disposition back to its default: what a task starts with. A clone with
// CLONE_CLEAR_SIGHAND left only the signals the worker ignores to reset (execve keeps those;
// it resets handled ones itself), usually none; otherwise each signal is reset, one call each.
// The task inherits these from the init (its clone copies them).
//
// Through the system call itself: glibc's sigaction refuses signals 32 and 33 (its own, for
// thread cancellation and set*id), and a worker started with one of them ignored (CI's runner
// started ours so) would hand it on to every task. The kernel's sigaction at SIG_DFL is all
// zeroes, whatever the architecture's layout.
void ResetDispositions(const ChildPlan& p) {
  uint64_t reset = p.handlers_cleared ? IgnoredSignals() : ~uint64_t{0};
  struct {
    void* handler;
    unsigned long flags;
    void* restorer;
    uint64_t mask;
  } dfl{};
  for (int sig = 1; sig < NSIG && reset != 0; ++sig, reset >>= 1) {
    if ((reset & 1) && sig != SIGKILL && sig != SIGSTOP) {
      ::syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask);
    }
  }
}

// The sandbox's init waits for the forwarded signals with handlers of its own when it stays PID
// 1 (no small init to execute).
constexpr int kForwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};

// What the task's process still needs before exec: its dispositions are the defaults the init (or,
// unsandboxed, RunChild) left, but for the init's own handlers; no signal blocked.
void ResetTaskSignals(const ChildPlan& p) {
  if (p.sandboxed && p.init_fd < 0) {
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig : kForwarded) ::sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

// `fd` as the task's descriptor `target`, open across its exec: dup2 clears close-on-exec on the
// copy, but leaves a descriptor already in place as it is.
int PlaceAt(int fd, int target) {
  if (fd == target) return ::fcntl(fd, F_SETFD, 0);
  return ::dup2(fd, target);
}

void SetUpStdio(const ChildPlan& p) {
  if (p.stdin_fd >= 0) {
    if (PlaceAt(p.stdin_fd, 0) < 0) Fail(p, kFailStdio, errno);
  } else {
    // Open across the exec, on 0 as a rule (closed with the worker's other descriptors). With
    // close-on-exec, as before 2026-12-05, a task without input started with no descriptor 0.
    int in = ::open("/dev/null", O_RDONLY);
    if (in < 0 || (in != 0 && ::dup2(in, 0) < 0)) Fail(p, kFailStdio, errno);
    if (in != 0) ::close(in);
  }
  if (PlaceAt(p.stdout_fd, 1) < 0 || PlaceAt(p.stderr_fd, 2) < 0) Fail(p, kFailStdio, errno);
}

// Up to the kernel's last capability: the bounding set has no bit above it to clear.
void DropCapabilities(const ChildPlan& p) {
  for (int cap = 0; cap <= p.last_cap; ++cap) {
    if ((p.keep_caps >> cap) & 1) continue;
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) Fail(p, kFailCaps, errno);
  }
}

// Joining the namespace gives a full capability set (and bounding set) inside it, and no
// capability outside: the mount, PID and network namespaces belong to the host's root, so the
// task cannot change them; capabilities are dropped afterwards, as for any task.
void EnterUserNamespace(const ChildPlan& p) {
  if (::setns(p.userns_fd, CLONE_NEWUSER) != 0) Fail(p, kFailUserns, errno);
}

// The task's network namespace, made for it alone ahead of time, as the host's root (the init
// has not joined the task's user namespace): it belongs to the host's root as a namespace of
// the clone would, so the task gets no capability over it.
void JoinNetwork(const ChildPlan& p) {
  if (::setns(p.netns_fd, CLONE_NEWNET) != 0) Fail(p, kFailNetns, errno);
  ::close(p.netns_fd);
}

// setgroups too: a host group (root's 0) kept as a supplementary group would still open files.
void SwitchUser(const ChildPlan& p) {
  // Raw system calls: glibc's wrappers would signal the threads it believes this cloned child
  // still has (setxid broadcast) and wait for them forever.
  if (::syscall(SYS_setgroups, 1, &p.gid) != 0 ||
      ::syscall(SYS_setresgid, p.gid, p.gid, p.gid) != 0 ||
      ::syscall(SYS_setresuid, p.uid, p.uid, p.uid) != 0) {
    Fail(p, kFailUser, errno);
  }
}

[[noreturn]] void ExecTask(const ChildPlan& p) {
  if (!p.search_path) {
    ::execve(p.exec_path, p.argv.data(), p.envp.data());
    Fail(p, kFailExec, errno);
  }
  char buf[4096];
  int err = ENOENT;
  bool saw_eacces = false;
  for (const char* dir : p.path_dirs) {
    size_t a = strlen(dir), b = strlen(p.exec_path);
    if (a + b + 2 > sizeof buf) continue;
    memcpy(buf, dir, a);
    buf[a] = '/';
    memcpy(buf + a + 1, p.exec_path, b + 1);
    ::execve(buf, p.argv.data(), p.envp.data());
    err = errno;
    if (err == EACCES) saw_eacces = true;
    if (err != ENOENT && err != ENOTDIR && err != EACCES) break;
  }
  Fail(p, kFailExec, saw_eacces && err != ENOEXEC ? EACCES : err);
}

// Out of memory in its cgroup, the task (and what it starts) is the kernel's victim, never the
// sandbox's init, which is a copy of the worker's address space and can look far larger than the
// task (hundreds of MB under ASan). Raising the score needs no capability (lowering the init's
// would need CAP_SYS_RESOURCE, which some hosts withhold); the task cannot lower it again.
void PreferAsOomVictim() {
  int fd = ::open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  (void)!::write(fd, "1000", 4);
  ::close(fd);
}

[[noreturn]] void RunTask(const ChildPlan& p) {
  if (p.pinned) {  // the init (its parent) and the task may go anywhere again (ChildPlan's `cpus`)
    ::sched_setaffinity(::getppid(), sizeof p.cpus, &p.cpus);
    ::sched_setaffinity(0, sizeof p.cpus, &p.cpus);
  }
  if (p.task_joins_cgroups) JoinCgroups(p);
  if (p.sandboxed) {
    ::setsid();
  } else {
    ::setpgid(0, 0);
  }
  SetUpStdio(p);
  ResetTaskSignals(p);
  if (p.sandboxed) PreferAsOomVictim();
  if (p.userns_fd >= 0) EnterUserNamespace(p);
  if (p.drop_caps) DropCapabilities(p);
  if (p.set_user) SwitchUser(p);
  if (::chdir(p.dir) != 0) Fail(p, kFailDir, errno);
  ExecTask(p);
}

void NoOpHandler(int) {}

int RunTaskEntry(void* arg) { RunTask(*static_cast<const ChildPlan*>(arg)); }

// Starts the task the way posix_spawn does: in the init's memory, the init paused until the task
// has exec'd (or failed). A fork would copy the init's page tables, a copy of the whole worker's,
// and fault on each page either side writes next: most of a task's start-up cost when the worker
// is large. The task only makes system calls on its own stack before exec, as after a fork.
pid_t StartTask(const ChildPlan& p) {
  constexpr int kFlags = CLONE_VM | CLONE_VFORK | SIGCHLD;
  constexpr uintptr_t kTaskStack = 64 * 1024;
  // Below this frame, past what clone() itself pushes here while the init waits: nothing else
  // runs on the init's stack until the task has exec'd (its handled signals are blocked).
  constexpr uintptr_t kGap = 16 * 1024;
  const auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  const auto low = reinterpret_cast<uintptr_t>(p.init_stack_low);
  if (p.shares_memory && low != 0 && here > low + kGap + kTaskStack) {
    const uintptr_t top = (here - kGap) & ~uintptr_t{63};
#if defined(__x86_64__)
    if (p.task_cgroup_fd >= 0) {  // a spare's task: born in its group, as Spawn's inits are
      clone_args args;
      memset(&args, 0, sizeof args);
      args.flags = CLONE_VM | CLONE_VFORK | CLONE_INTO_CGROUP;
      args.cgroup = static_cast<uint64_t>(p.task_cgroup_fd);
      args.exit_signal = SIGCHLD;
      args.stack = low;
      args.stack_size = top - low;
      return sys::Clone3OnStack(&args, RunTaskEntry, const_cast<ChildPlan*>(&p));
    }
#endif
    return ::clone(RunTaskEntry, reinterpret_cast<void*>(top), kFlags, const_cast<ChildPlan*>(&p));
  }
  if (p.task_cgroup_fd >= 0) {  // RunSpareChild gives a task a group only where the above can
    errno = EINVAL;
    return -1;
  }
  sys::ChildStack stack(kTaskStack);  // shared with the worker when this init is (shares_memory)
  if (!stack.ok()) return -1;
  return ::clone(RunTaskEntry, stack.top(), kFlags, const_cast<ChildPlan*>(&p));
}

// Becomes the small init (sandbox_init.c), which waits for `task` as the loop of RunInit does,
// the signals it waits for still blocked (they stay pending across the exec). Its descriptors are
// close-on-exec; the error pipe's end closing tells the worker the task has started. On failure
// the error is reported and this init exits, which kills the task with the PID namespace.
// `arg` is the task's pid, or "probe": whether the small init runs (it exits 0 at once) where
// the tasks' inits will execute it.
[[noreturn]] void ExecSmallInit(const ChildPlan& p, char* arg) {
  char name[] = "baton-init";
  char* argv[] = {name, arg, nullptr};
  char* envp[] = {nullptr};
  ::syscall(SYS_execveat, p.init_fd, "", argv, envp, AT_EMPTY_PATH);
  Fail(p, kFailInit, errno);
}

[[noreturn]] void ExecInit(const ChildPlan& p, pid_t task) {
  char pid_text[16] = {};  // to_chars neither allocates nor terminates
  std::to_chars(pid_text, pid_text + sizeof pid_text - 1, task);
  ExecSmallInit(p, pid_text);
}

// PID 1 of the sandbox: runs the task, forwards signals, reaps everything.
[[noreturn]] void RunInit(const ChildPlan& p) {
  // The small init, once executed, names itself.
  if (p.init_fd < 0) ::prctl(PR_SET_NAME, "baton-init", 0, 0, 0);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  for (int sig : kForwarded) sigaddset(&set, sig);
  if (p.init_fd < 0) {  // the small init, executed, would drop these handlers at once
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = NoOpHandler;
    for (int sig : kForwarded) ::sigaction(sig, &sa, nullptr);
  }
  // Exactly these: a child sharing the worker's memory started with every signal blocked.
  ::sigprocmask(SIG_SETMASK, &set, nullptr);
  pid_t task = StartTask(p);
  if (task < 0) Fail(p, kFailFork, errno);
  for (int fd : {p.stdin_fd, p.stdout_fd, p.stderr_fd}) {
    if (fd >= 0) ::close(fd);  // the task's ends of its pipes are the task's alone
  }
  if (p.init_fd >= 0) ExecInit(p, task);
  ::close(p.error_fd);
  int task_status = 0;
  for (;;) {
    siginfo_t info;
    int sig = ::sigwaitinfo(&set, &info);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      ::kill(-1, sig);
      continue;
    }
    bool task_done = false;
    int status;
    pid_t pid;
    while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0) {
      if (pid == task) {
        task_status = status;
        task_done = true;
      }
    }
    if (task_done) break;
  }
  // The task is done: nothing may outlive it.
  ::kill(-1, SIGKILL);
  for (;;) {
    if (::waitpid(-1, nullptr, 0) < 0 && errno != EINTR) break;
  }
  ::_exit(ExitCodeOf(task_status));
}

// Sends "r" and the descriptor `fd` on the socket `sock`. False when the worker is gone.
bool SendReady(int sock, int fd) {
  char byte = 'r';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof control);
  msghdr msg = sys::OneByteMessage(&iov, control, sizeof control);
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n;
  while ((n = ::sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  return n == 1;
}

// Waits for the go: a byte and up to kMaxGoFds descriptors (close-on-exec) into `fds`. The number
// of descriptors; 0 with `*ended` when the worker closed the socket instead; -1 with errno.
ssize_t ReceiveGo(int sock, int* fds, bool* ended) {
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxGoFds)];
  msghdr msg = sys::OneByteMessage(&iov, control, sizeof control);
  ssize_t n;
  while ((n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  *ended = n == 0;
  if (n <= 0) return n < 0 ? -1 : 0;
  size_t count = 0;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t got = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < got && count < kMaxGoFds; ++i) {
      memcpy(&fds[count++], CMSG_DATA(c) + i * sizeof(int), sizeof(int));
    }
  }
  if ((msg.msg_flags & MSG_CTRUNC) != 0 || byte != 'g') {
    errno = EPROTO;
    return -1;
  }
  return static_cast<ssize_t>(count);
}

}  // namespace

int RunChild(void* arg) {
  const ChildPlan& p = *static_cast<const ChildPlan*>(arg);
  // The worker's handlers would run here (in the worker's memory, when shared) and ignored signals
  // stay ignored across exec. Signals that came meanwhile were blocked (shared memory) or meet
  // a copy of the worker.
  ResetDispositions(p);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  JoinCgroups(p);  // through the worker's open files, before they are closed
  CloseOtherFds(p);
  if (!p.sandboxed) ::setpgid(0, 0);
  // A child sharing the worker's memory goes on at once: its parent waits for it (CLONE_VFORK).
  char go = 0;
  ssize_t n = 1;
  while (!p.shares_memory && (n = ::read(p.sync_fd, &go, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) ::_exit(kSetupFailedExit);   // the parent gave up on us
  if (p.sync_fd >= 0) ::close(p.sync_fd);  // none when sharing memory
  if (!p.sandboxed) RunTask(p);
  if (p.netns_fd >= 0) JoinNetwork(p);  // before mounting anything that shows the namespace
  BuildSandbox(p);
  if (p.probe_only) {
    if (p.userns_fd >= 0) EnterUserNamespace(p);  // as a task would, to find out it can
    char probe[] = "probe";
    if (p.init_fd >= 0) ExecSmallInit(p, probe);
    ::_exit(0);
  }
  RunInit(p);
}

int RunProbeChild(void* arg) {
  const ChildPlan& p = *static_cast<const ChildPlan*>(arg);
  ResetDispositions(p);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (p.userns_fd >= 0) EnterUserNamespace(p);
  char probe[] = "probe";
  ExecSmallInit(p, probe);
}

int RunSpareChild(void* arg) {
  const ChildPlan& p = *static_cast<const ChildPlan*>(arg);
  ResetDispositions(p);
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  CloseOtherFds(p);
  // Descriptors 0-2 taken, so that none the task's go brings lands there: the task's stdio is
  // placed on them from the descriptors received (SetUpStdio).
  for (int fd = 0; fd >= 0 && fd < 3;) fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  // What every task gets, made ahead: a copy of the shared root with a /tmp, /dev and /proc of its
  // own (this is PID 1 of a new PID namespace), as RunChild builds them for a task.
  if (::setns(p.shared_root_fd, CLONE_NEWNS) != 0) Fail(p, kFailSharedRoot, errno);
  ::close(p.shared_root_fd);
  if (::unshare(CLONE_NEWNS) != 0) Fail(p, kFailSharedRoot, errno);
  ChildError built = BuildRootHere(p);  // ends in the root ("/")
  if (built.err != 0) Fail(p, built.point, built.err);
  // Ready. The task's errors go through a pipe of this sandbox's own, whose read end the worker
  // takes with the "r": the worker's thread that made this one holds the first until it exits.
  int task_errors[2];
  if (::pipe2(task_errors, O_CLOEXEC) != 0) Fail(p, kFailGo, errno);
  if (!SendReady(p.go_fd, task_errors[0])) ::_exit(kSetupFailedExit);  // the worker is gone
  ::close(task_errors[0]);
  int fds[kMaxGoFds];
  bool ended = false;
  ssize_t got = ReceiveGo(p.go_fd, fds, &ended);
  if (ended) ::_exit(0);  // not needed any more
  ChildPlan& t = *p.task;
  t.error_fd = task_errors[1];
  if (got < 0) Fail(t, kFailGo, errno);
  if (static_cast<size_t>(got) != t.go_targets.size()) Fail(t, kFailGo, EPROTO);
  ::close(p.go_fd);
  for (size_t i = 0; i < t.go_targets.size(); ++i) *t.go_targets[i] = fds[i];
  t.init_fd = p.init_fd;
  t.shares_memory = true;
  t.handlers_cleared = p.handlers_cleared;
  t.init_stack_low = p.init_stack_low;
  if (t.netns_fd >= 0) JoinNetwork(t);
  // The task's own binds, their trees cloned by the worker in its mount namespace.
  for (size_t i = 0; i < t.steps.size(); ++i) {
    if (RunStep(t.steps[i], t) != 0 && !t.steps[i].optional) {
      Fail(t, static_cast<int>(i), errno != 0 ? errno : EIO);
    }
  }
  if (t.hostname && ::sethostname(t.hostname, strlen(t.hostname)) != 0) {
    Fail(t, kFailHostname, errno);
  }
  if (t.loopback_up && BringUpLoopback() != 0) Fail(t, kFailLoopback, errno);
  // The spares' thread is a batch thread (SpareSandboxes::Run) and this init its clone: the task
  // gets the normal policy, as a task that builds its own sandbox does (leaving a batch policy
  // needs no privilege).
  sched_param normal{};
  ::sched_setscheduler(0, SCHED_OTHER, &normal);
  RunInit(t);
}

}  // namespace baton::workers::sandbox
