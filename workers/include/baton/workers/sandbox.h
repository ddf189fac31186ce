// Sandbox: starts one task process (a TaskRun) isolated from the host, and controls it.
//
// NamespaceSandbox (Linux, root) gives each task new mount, PID, IPC, UTS and network namespaces
// (loopback only when run.network is false; otherwise outbound access through slirp4netns, which
// runs on the host for the task and never leads to the host's loopback: see
// docs/security.md#network), runs it as root of a user namespace mapped to unprivileged host ids
// unless run.privileged, a root (the host's '/', read-only, or a rootfs directory under a
// writable layer of the task's own: SandboxOptions::writable_image_roots), the build's work dir
// read-write at run.work_mount, a private /tmp, its own /proc, a minimal /dev and its own
// hostname. PID 1 inside is a tiny init that forks the task, forwards SIGTERM/SIGINT to everything,
// reaps zombies and, when the task exits, kills what is left and exits with the task's status.
// Unprivileged tasks lose the capabilities that could undo the isolation (CAP_SYS_ADMIN, ...).
//
// The unsandboxed launcher (for --unsafe-no-sandbox) starts the task as the sandbox starts its
// init, cloned into its cgroups and held until `before_start` returned, but in its own process
// group, in the work dir, with nothing isolated. (Not with Boost.Process: a forked child can only
// join its v2 cgroup by writing its pid, which waits for an RCU grace period, 7-15 ms a task.)
//
// Thread-safety: Sandbox::Start may be called from several threads at once. A SandboxedProcess
// is owned by one thread, except Signal(), which may be called from any thread. Start() must be
// called on the thread that will also wait for the process: the sandbox dies with that thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/workers/cgroups.h"
#include "baton/workers/worker.h"

namespace baton::workers {

struct SandboxOptions {
  // A directory the sandbox may use for its own mount points (created if missing).
  std::string state_dir;
  // Host paths hidden inside the sandbox on the host root, even from privileged tasks (an empty
  // read-only tmpfs over a directory, /dev/null over a file), e.g. the worker's data dir, so
  // that one build cannot see another's directories. /root, /home, secrets under /run and
  // /var/lib and SSH host keys are always hidden.
  std::vector<std::string> hidden_paths;
  // Unprivileged tasks run as root of a user namespace mapping their ids 0..userns_size-1 to
  // the host ids userns_host_id.. (the /etc/subuid convention: 100000 and 65536 ids).
  // `privileged: true` tasks run as the host's root instead.
  uint32_t userns_host_id = 100000;
  uint32_t userns_size = 65536;
  // The work dir and volumes are idmapped into that namespace where the kernel and filesystem
  // allow (owners on disk unchanged); otherwise, or when false, writable ones are chowned.
  bool idmapped_mounts = true;
  // A task on a rootfs directory (an image) gets a writable layer of its own over it (overlayfs;
  // the directory itself is never written), removed with the task. Where overlayfs cannot be
  // mounted, or when false, the image's root is read-only and the task's log says so.
  bool writable_image_roots = true;
  // Start making task networks at once, as the sandbox is built (see PrepareNetworks), beside the
  // rest of its start (its user namespace, its probe). It also says which shared root the probe
  // builds for the first task to take: a networked task's when true, a hermetic one's when false.
  bool prepare_networks = false;
  // Networks kept made ahead once a task has taken one (at most 1): 1 for a worker whose next task
  // may be any pipeline's; 0 for one pipeline's run (`baton run`), whose later tasks mostly take
  // the network an earlier one left, so that one made ahead is mostly a stack started and stopped
  // for no task. A task that finds none waits for one made then (a few ms).
  size_t networks_ahead = 1;
  // Make the sandbox of the next task with a network on the host's root ahead, while the tasks
  // before it run (a spare: its namespaces, its copy of the shared root, /tmp, /dev and /proc;
  // see spare_sandbox.h).
  bool spare_sandboxes = true;
};

// The standard streams of the process: file descriptors the caller owns; the sandbox dups them.
struct SandboxStdio {
  int stdin_fd = -1;  // -1: /dev/null
  int stdout_fd = -1;
  int stderr_fd = -1;
};

// A started task. The destructor kills the process (tree) if it is still running and reaps it.
class SandboxedProcess {
 public:
  virtual ~SandboxedProcess() = default;
  // The host pid of the top process (the sandbox's init, or the task itself unsandboxed).
  virtual pid_t pid() const = 0;
  // A descriptor that polls readable once the process has exited (a pidfd).
  virtual int exit_fd() const = 0;
  // Sends `sig` to every process of the task.
  virtual void Signal(int sig) = 0;
  // Waits for the top process; returns its exit code (128+N when killed by signal N) and kills
  // whatever of the task is left. Call once.
  virtual int Wait() = 0;
};

class Sandbox {
 public:
  virtual ~Sandbox() = default;
  virtual IsolationLevel isolation() const = 0;
  // What the isolation amounts to, for the worker's log (e.g. the user namespace's id range).
  virtual std::string Describe() const { return {}; }
  // What `run`'s log should say about its root before it starts (e.g. that its image's root is
  // read-only on this worker, and why), or "".
  virtual std::string RootNotice(const TaskRun& /*run*/) { return {}; }
  // Starts making task networks ahead, before the first task that is not hermetic asks (which
  // would otherwise wait for its stack to come up). A no-op where tasks get no network.
  virtual void PrepareNetworks() {}
  // No task will start any more (a `baton run` whose builds are all done): lets go of the task
  // networks made ahead and kept for later tasks at once, without waiting for their stacks to
  // exit; the sandbox's end reaps what is left. REQUIRES: no Start after it.
  virtual void StopNetworks() {}
  // Finds out whether tasks can run here by starting a probe in the sandbox (a few ms): OK, or
  // why not. May run beside PrepareNetworks. REQUIRES: called once, before any task starts.
  virtual Status Check() { return Status::Ok(); }
  // Starts `run`. The process waits before doing anything until `before_start(pid)` returned OK
  // (use it to move the pid into cgroups). Errors preparing the sandbox, and a task executable
  // that cannot be executed, come back as a non-OK Result, never as an exit code.
  virtual Result<std::unique_ptr<SandboxedProcess>> Start(
      const TaskRun& run, const SandboxStdio& stdio,
      const std::function<Status(pid_t)>& before_start) {
    return StartInCgroups(run, stdio, CgroupEntry{}, before_start);
  }
  // Starts `run` with its first process entering the groups of `cgroups` by itself before it
  // does anything else (see CgroupEntry); then as Start(). A group it cannot enter is an error.
  virtual Result<std::unique_ptr<SandboxedProcess>> StartInCgroups(
      const TaskRun& run, const SandboxStdio& stdio, const CgroupEntry& cgroups,
      const std::function<Status(pid_t)>& before_start) = 0;
};

// Linux namespaces via clone(2); needs root (CAP_SYS_ADMIN).
std::unique_ptr<Sandbox> MakeNamespaceSandbox(SandboxOptions options);
// A clone into the task's cgroups, then exec, in a new process group. Isolates nothing.
std::unique_ptr<Sandbox> MakeUnsandboxedLauncher();

// A namespace sandbox checked by starting a probe in it (Check(), a few ms): ready for tasks, or
// why this machine cannot sandbox them.
Result<std::unique_ptr<Sandbox>> MakeCheckedNamespaceSandbox(SandboxOptions options);

// The default mount point of the work dir inside the sandbox for `run`: run.work_mount, or
// /tmp/build/<8 hex digits derived from run.id>.
std::string WorkMountFor(const TaskRun& run);

}  // namespace baton::workers
