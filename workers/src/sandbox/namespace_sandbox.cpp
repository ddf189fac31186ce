// NamespaceSandbox and the unsandboxed launcher: prepare a ChildPlan, clone, let the child go once
// the caller has placed it (cgroups), and report setup/exec errors from the error pipe.
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>

#include "baton/workers/sandbox.h"
#include "sandbox/child_plan.h"
#include "sandbox/child_process.h"
#include "sandbox/image_layer.h"
#include "sandbox/init_image.h"
#include "sandbox/shared_root.h"
#include "sandbox/sys_util.h"
#include "sandbox/task_network.h"
#include "sandbox/user_namespace.h"

namespace baton::workers {
namespace {

namespace fs = std::filesystem;
using sandbox::ChildError;
using sandbox::PreparedChild;

constexpr size_t kChildStack = 256 * 1024;

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
  void Close() {
    if (read >= 0) ::close(read);
    if (write >= 0) ::close(write);
    read = write = -1;
  }
};

// Reads a ChildError if the child reported one before closing the pipe (exec or exit).
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

pid_t CloneChild(PreparedChild& child, int flags) {
  sys::ChildStack stack(kChildStack);
  if (!stack.ok()) return -1;
  return ::clone(sandbox::RunChild, stack.top(), flags | SIGCHLD, &child.plan);
}

// clone3 with CLONE_INTO_CGROUP: the child is born in the v2 group. Like fork, the child goes
// on with a copy of this stack. -1 with errno when the kernel cannot (old kernel, v1 only).
pid_t CloneIntoCgroup(PreparedChild& child, int flags, int cgroup_fd) {
  clone_args args;
  std::memset(&args, 0, sizeof args);
  args.flags = static_cast<uint64_t>(flags) | CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = static_cast<uint64_t>(cgroup_fd);
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) ::_exit(sandbox::RunChild(&child.plan));  // RunChild never returns
  return static_cast<pid_t>(pid);
}

#if defined(__x86_64__)
// clone3 with the child on `args->stack`, running fn(arg) and exiting with its result: what glibc's
// clone() does for clone(2), for clone3, which glibc 2.36 does not wrap. In assembly because a
// child sharing this memory must never return through the C++ frames of its parent.
pid_t Clone3OnStack(clone_args* args, int (*fn)(void*), void* arg) {
  register long fn_reg asm("r12") = reinterpret_cast<long>(fn);
  register long arg_reg asm("r13") = reinterpret_cast<long>(arg);
  long ret;
  asm volatile(
      "syscall\n\t"
      "test %%rax, %%rax\n\t"
      "jnz 1f\n\t"
      "xor %%ebp, %%ebp\n\t"  // the child, on its own stack
      "mov %%r13, %%rdi\n\t"
      "call *%%r12\n\t"
      "mov %%eax, %%edi\n\t"
      "mov $60, %%eax\n\t"  // exit
      "syscall\n\t"
      "hlt\n\t"
      "1:\n\t"
      : "=a"(ret)
      : "0"(SYS_clone3), "D"(args), "S"(sizeof *args), "r"(fn_reg), "r"(arg_reg)
      : "rcx", "r11", "memory");
  if (ret < 0) {
    errno = static_cast<int>(-ret);
    return -1;
  }
  return static_cast<pid_t>(ret);
}
#endif

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

// Clones the sandbox's init as posix_spawn clones a child (CLONE_VM | CLONE_VFORK): nothing of the
// worker is copied (its page tables, then a fault on each page either side writes), and this
// thread waits until the init has built the sandbox, started the task and executed the small
// init, or failed. -1 with errno when the kernel cannot.
pid_t CloneSharingMemory(PreparedChild& child, int flags, const CgroupEntry& cgroups) {
#if defined(__x86_64__)
  // The child leaves this stack before the clone returns: it executed the init or exited.
  sys::ChildStack stack(kChildStack);
  if (!stack.ok()) return -1;
  clone_args args;
  std::memset(&args, 0, sizeof args);
  args.flags = static_cast<uint64_t>(flags) | CLONE_VM | CLONE_VFORK;
  if (cgroups.unified_fd >= 0) {
    args.flags |= CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(cgroups.unified_fd);
  }
  args.exit_signal = SIGCHLD;
  args.stack = reinterpret_cast<uint64_t>(stack.base());
  args.stack_size = stack.size();
  // As posix_spawn: no handler of the worker may run in the child (in the worker's memory) before
  // it has reset them all; it starts with every signal blocked.
  sigset_t all, old;
  sigfillset(&all);
  ::pthread_sigmask(SIG_SETMASK, &all, &old);
  pid_t pid = Clone3OnStack(&args, sandbox::RunChild, &child.plan);
  int err = errno;
  ::pthread_sigmask(SIG_SETMASK, &old, nullptr);
  errno = err;
  return pid;
#else
  errno = ENOSYS;
  return -1;
#endif
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

void AddCgroupEntry(const CgroupEntry& cgroups, PreparedChild& child) {
  for (const auto& tasks : cgroups.v1_tasks) {
    child.plan.cgroup_tasks.push_back(child.strings.Keep(tasks));
    child.cgroup_description += (child.cgroup_description.empty() ? "" : ", ") + tasks;
  }
}

Result<std::unique_ptr<SandboxedProcess>> Spawn(PreparedChild& child, int flags,
                                                const SandboxStdio& stdio,
                                                const CgroupEntry& cgroups,
                                                const std::function<Status(pid_t)>& before_start) {
  Pipe sync, errors;
  BATON_RETURN_IF_ERROR(sync.Open());
  if (Status s = errors.Open(); !s.ok()) {
    sync.Close();
    return s;
  }
  child.plan.stdin_fd = stdio.stdin_fd;
  child.plan.stdout_fd = stdio.stdout_fd;
  child.plan.stderr_fd = stdio.stderr_fd;
  child.plan.sync_fd = sync.read;
  child.plan.error_fd = errors.write;
  AddCgroupEntry(cgroups, child);
  Result<pid_t> cloned = -1;
  if (CanShareMemory(child, cgroups, before_start)) {
    child.plan.shares_memory = true;
    cloned = CloneSharingMemory(child, flags, cgroups);
    if (*cloned < 0 && (errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
      child.plan.shares_memory = false;  // an older kernel: a copy of the worker, as before
    }
  }
  if (!child.plan.shares_memory) cloned = CloneInto(child, flags, cgroups);
  int clone_err = errno;
  ::close(sync.read);
  ::close(errors.write);
  if (!cloned.ok() || *cloned < 0) {
    ::close(sync.write);
    ::close(errors.read);
    if (!cloned.ok()) return cloned.status();
    return sys::ErrnoStatus("sandbox setup failed: clone", clone_err,
                            StatusCode::kFailedPrecondition);
  }
  pid_t pid = *cloned;
  if (!child.plan.sandboxed) ::setpgid(pid, pid);
  auto process = std::make_unique<sandbox::ChildProcess>(pid, !child.plan.sandboxed);
  Status placed = before_start ? before_start(pid) : Status::Ok();
  // A child sharing memory does not wait for the byte: it has run by now.
  if (placed.ok() && !child.plan.shares_memory && ::write(sync.write, "g", 1) != 1) {
    placed = sys::ErrnoStatus("starting the sandbox", errno);
  }
  ::close(sync.write);
  ChildError e;
  bool failed = placed.ok() && ReadChildError(errors.read, &e);
  ::close(errors.read);
  if (!placed.ok()) return placed;  // `process` kills and reaps the child
  if (failed) {
    process->Wait();
    return sandbox::DescribeChildError(child, e);
  }
  if (child.plan.sandboxed) process->HoldMountNamespace();
  return std::unique_ptr<SandboxedProcess>(std::move(process));
}

std::string DefaultHostname(const std::string& id) {
  std::string out;
  for (char c : id) out += isalnum(static_cast<unsigned char>(c)) ? c : '-';
  if (out.size() > 63) out.resize(63);
  return out.empty() ? "baton" : out;
}

class NamespaceSandbox : public Sandbox {
 public:
  explicit NamespaceSandbox(SandboxOptions options)
      : options_(std::move(options)),
        new_root_(MakeRoot(options_)),
        layers_dir_(options_.state_dir + "/layers"),
        networks_(options_.state_dir,
                  options_.prepare_networks),  // first: the longest to get ready
        users_(options_, new_root_),
        shared_roots_(new_root_),
        init_(sandbox::InitImage::Load()) {}
  IsolationLevel isolation() const override { return IsolationLevel::kNamespaces; }

  Result<std::unique_ptr<SandboxedProcess>> StartInCgroups(
      const TaskRun& run, const SandboxStdio& stdio, const CgroupEntry& cgroups,
      const std::function<Status(pid_t)>& before_start) override {
    bool layered = run.rootfs.kind == RootfsSpec::Kind::kDirectory && ImageLayers().ok();
    return StartChild(run, stdio, cgroups, before_start, /*probe=*/false, layered);
  }

  // `layered`: a rootfs directory gets a writable layer (see image_layer.h).
  Result<std::unique_ptr<SandboxedProcess>> StartChild(
      const TaskRun& run, const SandboxStdio& stdio, const CgroupEntry& cgroups,
      const std::function<Status(pid_t)>& before_start, bool probe, bool layered) {
    auto child = std::make_unique<PreparedChild>();
    child->plan.sandboxed = true;
    child->plan.probe_only = probe;
    child->plan.init_fd = init_.fd();
    std::string work_mount = WorkMountFor(run);
    bool host = run.rootfs.kind == RootfsSpec::Kind::kHost;
    BATON_RETURN_IF_ERROR(
        sandbox::PrepareTask(run, work_mount, host ? "/" : run.rootfs.path, child.get()));
    std::unique_ptr<sandbox::ImageLayer> layer;
    if (layered && !host) {
      BATON_ASSIGN_OR_RETURN(layer, sandbox::ImageLayer::Create(layers_dir_, run.id));
    }
    // Held until the child has copied it (Spawn returns).
    std::shared_ptr<const ScopedFd> shared_root;
    if (host && !run.privileged) {
      BATON_ASSIGN_OR_RETURN(shared_root, SharedRootFor(run));
    }
    if (shared_root) {
      BATON_RETURN_IF_ERROR(sandbox::PrepareTaskMounts(run, work_mount, child.get()));
      child->plan.shared_root_fd = shared_root->get();
      child->plan.new_root = "/";
    } else {
      BATON_RETURN_IF_ERROR(sandbox::PrepareMounts(run, options_, new_root_, work_mount,
                                                   layer ? &layer->paths() : nullptr, child.get()));
      child->plan.new_root = child->strings.Keep(new_root_);
    }
    BATON_RETURN_IF_ERROR(users_.Apply(run, child.get()));  // chowns an image when not idmapped
    if (layer) BATON_RETURN_IF_ERROR(layer->MatchRoot(run.rootfs.path, users_.IdShift(run)));
    child->plan.hostname =
        child->strings.Keep(run.hostname.empty() ? DefaultHostname(run.id) : run.hostname);
    child->plan.loopback_up = true;
    // In a copy of the shared root, the child joins and copies that mount namespace instead.
    int flags =
        (shared_root ? 0 : CLONE_NEWNS) | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET;
    // The tasks that may use this task's network after it: a privileged task could reconfigure
    // it, so its network is never shelved.
    std::string scope = run.privileged ? "" : run.network_scope;
    if (!run.network) {
      // Hermetic: a namespace with only its loopback, a new one or one a hermetic task of the
      // same pipeline left as new.
      // One to keep for the scope's next task is made here, not by the clone, so that it can be
      // opened before anything runs in it.
      std::optional<sandbox::ReadyNetwork> bare = networks_.TakeHermetic(scope);
      if (!bare && !scope.empty()) {
        BATON_ASSIGN_OR_RETURN(sandbox::ReadyNetwork made, networks_.NewHermetic());
        bare.emplace(std::move(made));
      }
      if (bare) {
        child->plan.netns_fd = bare->netns.get();
        flags &= ~CLONE_NEWNET;
      }
      BATON_ASSIGN_OR_RETURN(auto process, Spawn(*child, flags, stdio, cgroups, before_start));
      if (bare) {
        process = networks_.Lend(std::move(process), std::move(*bare),
                                 sandbox::TaskNetworks::HermeticScope(scope));
      }
      return Layered(std::move(process), std::move(layer));
    }
    // Not hermetic: the task joins a network namespace made ahead, its stack already up: a new
    // one, or one a task of the same pipeline left as new.
    if (!shared_root) {  // else it is in the shared root
      BATON_RETURN_IF_ERROR(
          networks_.AddResolvConf(host ? "/" : run.rootfs.path, new_root_, child.get()));
    }
    BATON_ASSIGN_OR_RETURN(auto network, networks_.Take(run.id, scope));
    child->plan.netns_fd = network.netns.get();
    // If the start fails, `network` is dropped, never given to another task.
    BATON_ASSIGN_OR_RETURN(auto process,
                           Spawn(*child, flags & ~CLONE_NEWNET, stdio, cgroups, before_start));
    return Layered(networks_.Lend(std::move(process), std::move(network), std::move(scope)),
                   std::move(layer));
  }

  std::string Describe() const override {
    Status layers = ImageLayers();
    std::string no_shared_root = shared_roots_.why_not();
    return users_.Describe() +
           (no_shared_root.empty()
                ? ""
                : "; each task builds its root (no shared root: " + no_shared_root + ")") +
           (layers.ok() ? "; images get a writable layer per task (overlayfs)"
                        : "; images are read-only: " + layers.message()) +
           (init_.fd() >= 0
                ? ""
                : "; each sandbox's init is a copy of the worker (" + init_.why_not() + ")");
  }

  bool UsesInitImage() const { return init_.fd() >= 0; }
  // Each sandbox's init stays a copy of the worker from now on (the small one cannot run here).
  // REQUIRES: no task started yet.
  void DropInitImage(const std::string& why) { init_ = sandbox::InitImage::Unavailable(why); }

  void PrepareNetworks() override { networks_.Prepare(); }
  void StopNetworks() override { networks_.Stop(); }

  // The probe goes through the sandbox the tasks will use: one user namespace, made once.
  Status Check() override {
    if (::geteuid() != 0) {
      return FailedPrecondition("namespaces and mounts need root (running as uid " +
                                std::to_string(::geteuid()) + ")");
    }
    std::error_code ec;
    std::string work = options_.state_dir + "/probe-work";
    fs::create_directories(work, ec);
    if (ec) return IoError("creating " + work + ": " + ec.message());
    TaskRun run;
    run.id = "probe";
    run.path = "/bin/true";
    run.work_dir = work;
    run.network = false;
    auto started = StartChild(run, SandboxStdio{}, CgroupEntry{}, nullptr, /*probe=*/true,
                              /*layered=*/false);
    if (!started.ok() && UsesInitImage()) {  // e.g. a policy against executing memfds
      DropInitImage(started.status().message());
      started = StartChild(run, SandboxStdio{}, CgroupEntry{}, nullptr, /*probe=*/true,
                           /*layered=*/false);
    }
    if (!started.ok()) return started.status();
    int code = (*started)->Wait();
    if (code != 0)
      return FailedPrecondition("the sandbox probe exited with " + std::to_string(code));
    return Status::Ok();
  }

  std::string RootNotice(const TaskRun& run) override {
    if (run.rootfs.kind != RootfsSpec::Kind::kDirectory) return {};
    Status layers = ImageLayers();
    if (layers.ok()) return {};
    return "this task's image is read-only (no writable layer: " + layers.message() +
           "); write under the task's directory or /tmp instead";
  }

 private:
  // The shared root (shared_root.h) an unprivileged task on the host's root copies; nullptr when
  // there is none (the task builds its root itself).
  Result<std::shared_ptr<const ScopedFd>> SharedRootFor(const TaskRun& run) {
    std::string resolv_conf;
    if (run.network) {
      BATON_ASSIGN_OR_RETURN(resolv_conf, networks_.ResolvConfFor("/"));
    }
    auto root = shared_roots_.Get(sandbox::MaskedPaths(options_), resolv_conf);
    if (root.ok()) return root;
    return std::shared_ptr<const ScopedFd>();
  }

  static std::unique_ptr<SandboxedProcess> Layered(std::unique_ptr<SandboxedProcess> process,
                                                   std::unique_ptr<sandbox::ImageLayer> layer) {
    if (!layer) return process;
    return sandbox::WithLayer(std::move(process), std::move(layer));
  }

  // Whether tasks on images get a writable layer: found out once, by building a sandbox with one
  // over an empty rootfs, as a task would (unprivileged where this worker can).
  Status ImageLayers() const {
    std::call_once(layers_checked_, [&] {
      if (!options_.writable_image_roots) {
        layers_status_ = FailedPrecondition("writable image roots are turned off on this worker");
        return;
      }
      layers_status_ = ProbeImageLayer();
    });
    return layers_status_;
  }

  Status ProbeImageLayer() const {
    std::string dir = options_.state_dir + "/layer-probe";
    std::error_code ec;
    fs::create_directories(dir + "/rootfs", ec);
    fs::create_directories(dir + "/work", ec);
    if (ec) return IoError("creating " + dir + ": " + ec.message());
    TaskRun run;
    run.id = "layer-probe";
    run.path = "/bin/true";
    run.work_dir = dir + "/work";
    run.network = false;
    run.privileged = !users_.ok();
    run.rootfs = {RootfsSpec::Kind::kDirectory, dir + "/rootfs"};
    auto* self = const_cast<NamespaceSandbox*>(this);  // StartChild changes nothing it shares
    auto started = self->StartChild(run, SandboxStdio{}, CgroupEntry{}, nullptr, /*probe=*/true,
                                    /*layered=*/true);
    Status status = started.ok() ? Status::Ok() : started.status();
    if (started.ok() && (*started)->Wait() != 0) {
      status = FailedPrecondition("the overlayfs probe failed");
    }
    fs::remove_all(dir, ec);
    if (status.ok()) return status;
    return FailedPrecondition(
        "overlayfs cannot be mounted here (" + status.message() +
        "): needs Linux 5.19 or later with overlay (modprobe overlay) on the worker's filesystem");
  }

  static std::string MakeRoot(const SandboxOptions& options) {
    std::string root = options.state_dir + "/root";
    std::error_code ec;
    fs::create_directories(root, ec);
    return root;
  }

  SandboxOptions options_;
  std::string new_root_;
  std::string layers_dir_;  // tasks' writable layers over their images
  sandbox::TaskNetworks networks_;
  sandbox::TaskUsers users_;           // unprivileged tasks' user namespace
  sandbox::SharedRoots shared_roots_;  // unprivileged tasks' roots on the host's root
  sandbox::InitImage init_;            // what each sandbox's init becomes once its task has started
  mutable std::once_flag layers_checked_;
  mutable Status layers_status_;  // written once, under layers_checked_
};

}  // namespace

std::unique_ptr<Sandbox> MakeNamespaceSandbox(SandboxOptions options) {
  return std::make_unique<NamespaceSandbox>(std::move(options));
}

Result<std::unique_ptr<Sandbox>> MakeCheckedNamespaceSandbox(SandboxOptions options) {
  auto sandbox = MakeNamespaceSandbox(std::move(options));
  BATON_RETURN_IF_ERROR(sandbox->Check());
  return sandbox;
}

std::string WorkMountFor(const TaskRun& run) {
  if (!run.work_mount.empty()) return run.work_mount;
  uint32_t h = 2166136261u;  // FNV-1a
  for (unsigned char c : run.id) h = (h ^ c) * 16777619u;
  char buf[9];
  std::snprintf(buf, sizeof buf, "%08x", h);
  return std::string("/tmp/build/") + buf;
}

}  // namespace baton::workers
