// ChildPlan: everything the freshly cloned sandbox process needs, prepared by the parent.
//
// The child of clone(2) in a multi-threaded program may only make system calls (no malloc, no
// locks: another thread may have held them at clone time). So the parent turns a TaskRun into
// plain C strings and syscall arguments here, and the child (RunChild) executes them. The child
// reports a failure as a ChildError {point, errno} on the error pipe; the parent turns it into a
// message using the descriptions kept alongside the plan.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "baton/common/status.h"
#include "baton/workers/sandbox.h"
#include "baton/workers/worker.h"

namespace baton::workers::sandbox {

// kBindBeneath: bind `source` (a host path) at `target`, a relative path resolved inside the
// directory `beneath` without following symlinks or leaving it (mount points are created as
// needed); MS_RDONLY in `flags` makes the whole tree read-only.
// kReadOnlyTree: make the mount at `target` and every mount beneath it read-only, each keeping
// its other flags (one mount_setattr instead of a remount per mount).
enum class StepKind { kMount, kMkdirAll, kTouch, kSymlink, kBindBeneath, kReadOnlyTree };

struct SetupStep {
  StepKind kind = StepKind::kMount;
  const char* source = nullptr;
  const char* target = nullptr;
  const char* fstype = nullptr;
  unsigned long flags = 0;
  const char* data = nullptr;
  bool optional = false;          // failure is ignored (e.g. /dev/pts)
  const char* beneath = nullptr;  // kBindBeneath: the directory `target` is relative to
  bool target_is_dir = true;      // kBindBeneath: create a directory (else a file) if missing
  bool idmap = false;             // kBindBeneath, image_root: idmap the bind with userns_fd
  bool image_root = false;        // kMount: the recursive bind of an image's rootfs directory
  // kBindBeneath in a copy of a shared root (ChildPlan::shared_root_fd): the tree, cloned while
  // the child is still in the worker's mount namespace (where the host's paths are unmasked).
  // The child's own descriptor; written by the child only.
  mutable int tree_fd = -1;
};

// Failure points outside the setup steps (steps report their index, >= 0).
enum FailPoint : int {
  kFailHostname = -2,
  kFailLoopback = -3,
  kFailPivot = -4,
  kFailFork = -5,
  kFailStdio = -6,
  kFailUser = -7,
  kFailDir = -8,
  kFailExec = -9,
  kFailCaps = -10,
  kFailCgroup = -11,
  kFailUserns = -12,
  kFailNetns = -13,
  kFailInit = -14,        // executing the small init (init_image.h)
  kFailSharedRoot = -15,  // joining and copying the shared root's mount namespace
  kFailGo = -16,          // a spare's init receiving its task's descriptors
};

struct ChildError {
  int point = 0;
  int err = 0;
};

struct ChildPlan {
  int stdin_fd = -1;  // -1: /dev/null
  int stdout_fd = -1;
  int stderr_fd = -1;
  int sync_fd = -1;         // read end; the parent writes one byte when the child may go on
  int error_fd = -1;        // write end, close-on-exec; ChildError on failure
  bool sandboxed = true;    // false: no setup, no init; own process group
  bool probe_only = false;  // build the sandbox, then exit 0 without running anything
  // The small init (InitImage) that PID 1 becomes once the task has started; -1: PID 1 stays the
  // copy of the worker it was cloned as and waits for the task itself. A probe executes it too.
  int init_fd = -1;
  // Whether the child was cloned sharing the worker's memory (CLONE_VM | CLONE_VFORK): it must
  // then execute init_fd (or exit) before the worker's thread goes on.
  bool shares_memory = false;
  // Whether the clone reset the worker's signal handlers to their defaults (CLONE_CLEAR_SIGHAND):
  // the child then resets only the signals the worker ignores. Set by the cloning code.
  bool handlers_cleared = false;
  // With shares_memory: the lowest address of the init's stack. The task is cloned onto the part
  // of it below the init's frames (the init waits, CLONE_VFORK, until the task has exec'd)
  // instead of onto a stack mapped and unmapped for it. Null: a stack of its own.
  char* init_stack_low = nullptr;
  std::vector<const char*> cgroup_tasks;  // v1 `tasks` files the child writes "0" to, first
  std::vector<int> cgroup_tasks_fds;      // parallel: those files open (the worker's), -1: by path
  std::vector<SetupStep> steps;
  // The worker's shared root (shared_root.h), a mount namespace the child copies for the task;
  // the steps then add the task's own mounts to the copy and there is no pivot_root. -1: the
  // clone copies the worker's mount namespace and the steps build the root at new_root.
  int shared_root_fd = -1;
  const char* new_root = nullptr;
  const char* hostname = nullptr;
  bool loopback_up = false;
  bool drop_caps = false;
  uint64_t keep_caps = 0;
  int last_cap = 63;  // the kernel's highest capability (cap_last_cap): none above it to drop
  // The network namespace made ahead for the task (see NetworkPool) that the sandbox's init joins
  // before building the sandbox; -1: the clone made one (CLONE_NEWNET).
  int netns_fd = -1;
  // The user namespace the task joins before exec (unprivileged tasks), -1: none (privileged).
  int userns_fd = -1;
  // The host id of that namespace's root: idmapped mount points are made with it as fsuid.
  uid_t mapped_root = 0;
  bool set_user = false;
  uid_t uid = 0;
  gid_t gid = 0;
  const char* dir = nullptr;
  const char* exec_path = nullptr;
  bool search_path = false;  // exec_path has no '/': try each of path_dirs
  std::vector<const char*> path_dirs;
  std::vector<char*> argv;  // null-terminated
  std::vector<char*> envp;  // null-terminated

  // A spare sandbox's init (spare_sandbox.h, RunSpareChild): the socket it reports ready on and
  // then waits on for its task; -1 for any other child.
  int go_fd = -1;
  // With go_fd: the task's plan, which the worker fills before it sends the go (shared memory).
  ChildPlan* task = nullptr;
  // A task's plan given to a spare: where each descriptor the go carries goes, in order (the
  // fields of this plan that name the task's stdio, network, group and trees).
  std::vector<int*> go_targets;
  // The task's v2 group, which the init clones the task into (a spare's task); -1: the init's.
  int task_cgroup_fd = -1;
  // The task joins the v1 groups (cgroup_tasks) itself before it executes (a spare's task: its
  // init, made before the groups were known, is in none of them); else the init joins them.
  bool task_joins_cgroups = false;
  // Where a spare's init and its task start. A woken or new process goes to an idle CPU when
  // there is one, and waking an idle CPU of these VMs takes ~0.2 ms (docs/benchmarks.md,
  // eighteenth stop), while the worker's thread that sends the go waits for the task's start,
  // and the init for the task's exec. So the worker pins the init to its own CPU before the go
  // (the init wakes there, and the task it clones starts there), and the task gives the init and
  // itself `cpus`, the init's affinity before, as the first thing it does. Only a spare's: tasks
  // side by side (which build their own sandboxes) find no idle CPU to save a wake of, and pay
  // the system calls (W3 1.009, 3 of 16 faster, when every init pinned itself).
  cpu_set_t cpus{};
  bool pinned = false;  // the init is pinned; `cpus` holds its affinity before
};

// The most descriptors a go carries (the kernel's SCM_MAX_FD).
constexpr size_t kMaxGoFds = 253;

// Owns the strings a ChildPlan points into, and the description of each step for messages.
class PlanStrings {
 public:
  const char* Keep(std::string s) {
    strings_.push_back(std::move(s));
    return strings_.back().c_str();
  }
  char* KeepMutable(std::string s) {
    strings_.push_back(std::move(s));
    return strings_.back().data();
  }

 private:
  std::deque<std::string> strings_;  // a deque never moves its elements
};

struct PreparedChild {
  ChildPlan plan;
  PlanStrings strings;
  std::vector<std::string> step_descriptions;  // parallel to plan.steps
  std::string exec_description;                // the task's path as the user wrote it
  std::string dir_description;
  std::string user_description;
  std::string cgroup_description;
};

// Fills the task part of `out` (user, dir, env, argv, exec path) for `run`; `work_mount` is where
// the work dir appears to the task and `rootfs` is the host path of its root ("/" for the host).
Status PrepareTask(const TaskRun& run, const std::string& work_mount, const std::string& rootfs,
                   PreparedChild* out);

struct ImageLayerPaths;

// The host paths masked for every task (see docs/security.md), as they resolve now: MaskTarget of
// each of MaskCandidates(options) that has one.
std::vector<std::string> MaskedPaths(const SandboxOptions& options);
// The paths to mask as given: the fixed list, `options`' hidden paths and the SSH host keys
// (ssh_host_*_key) found in `ssh_dir` now.
std::vector<std::string> MaskCandidates(const SandboxOptions& options,
                                        const char* ssh_dir = "/etc/ssh");
// Where `candidate` is masked: the path it really is (realpath(3)), or "" when it is not masked
// (it does not resolve, or is "/" or under a path every sandbox replaces: /proc, /dev, /tmp).
std::string MaskTarget(const std::string& candidate);

// The mount steps of a shared root (shared_root.h) at `new_root`: the host's root read-only with
// `masked` covered, and a read-only /dev with its devices, the mount points of /dev/shm and
// /dev/pts and its links; with `resolv_conf`, that file bound read-only at /etc/resolv.conf.
void PrepareSharedRoot(const std::vector<std::string>& masked, const std::string& resolv_conf,
                       const std::string& new_root, PreparedChild* out);

// The mount steps a task adds to its copy of a shared root: /tmp, /dev/shm, /dev/pts, /proc, its
// work dir at `work_mount` and its volumes. REQUIRES: `run` is on the host's root.
Status PrepareTaskMounts(const TaskRun& run, const std::string& work_mount, PreparedChild* out);

// PrepareTaskMounts in two parts: what every task gets a new one of (/tmp, /dev/shm, /dev/pts,
// /proc), which a spare sandbox builds ahead, and the task's own binds (its work dir at
// `work_mount`, its volumes: kBindBeneath steps only), added when the task is known.
void PrepareCommonTaskMounts(PreparedChild* out);
Status PrepareTaskBinds(const TaskRun& run, const std::string& work_mount, PreparedChild* out);

// Adds the mount steps that build the sandbox's filesystem for `run` under `new_root`. With a
// `layer`, a rootfs directory is the lower layer of an overlay the task may write (see
// image_layer.h); without, it is read-only as the host's root is.
Status PrepareMounts(const TaskRun& run, const SandboxOptions& options, const std::string& new_root,
                     const std::string& work_mount, const ImageLayerPaths* layer,
                     PreparedChild* out);

// The message for a ChildError reported by the child.
Status DescribeChildError(const PreparedChild& child, const ChildError& e);

// clone(2) entry point. `arg` is a ChildPlan*. Never returns.
int RunChild(void* arg);

// The entry point of a spare sandbox's init (spare_sandbox.h). `arg` is its ChildPlan*, whose
// steps build what every task gets (a copy of the shared root, /tmp, /dev, /proc). It then sends
// "r" with the read end of an error pipe of its own on go_fd, and waits there for its task's
// descriptors (go_targets), or the end of the socket (it exits 0). Never returns.
int RunSpareChild(void* arg);

// The entry point of the worker's start-up probe beside its first spare (SpareSandboxes): PID 1
// of a PID namespace of its own, as a task's init is, it joins the tasks' user namespace
// (userns_fd), as a task does, and executes the small init (init_fd), which exits 0 at once: what
// the probe's own sandbox checked beyond the sandbox the spare builds. Never returns.
int RunProbeChild(void* arg);

// A detached copy of the tree at `s.source`, read-only if asked (MS_RDONLY in s.flags), idmapped
// with `userns_fd` if s.idmap: what a kBindBeneath step mounts. -1 with errno.
int CloneTree(const SetupStep& s, int userns_fd);
// Runs one setup step of `p` (child_steps.cpp): 0, or -1 with errno.
int RunStep(const SetupStep& s, const ChildPlan& p);

// Runs `p`'s steps, then pivots into p.new_root, in the calling thread, which must be in a mount
// namespace of its own (shared_root.cpp makes one for the shared root). `err` is 0 when done.
ChildError BuildRootHere(const ChildPlan& p);

}  // namespace baton::workers::sandbox
