// The network of a task that is not hermetic: its own network namespace (as every task has),
// made by the worker ahead of the task (NetworkPool) and served by a user-mode network stack on
// the host, slirp4netns, that gives it outbound TCP/UDP through the host's sockets. The task's
// init joins the namespace (setns) as the host's root before it builds the sandbox, so the
// namespace belongs to the worker's user namespace as one made by the clone would. The task cannot
// reach the host's loopback services (Baton's API, a database on 127.0.0.1): its 127.0.0.1 is its
// own, and slirp4netns runs with
// --disable-host-loopback, so the gateway 10.0.2.2 does not lead to the host's loopback either.
// The host's other addresses are reachable like any other host's. Its DNS is slirp4netns's
// forwarder at 10.0.2.3, named in an /etc/resolv.conf mounted over the root's.
//
// Why slirp4netns and not pasta (both in Debian 12): pasta gives the task a copy of the host's
// address, so the task cannot reach the host at its own external address (where a task finds
// Baton), and it forwards the host's loopback ports into the task by default.
//
// Thread-safety: TaskNetworks may be used from several threads at once; a TaskNetwork belongs to
// the thread that runs its task.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "baton/common/path_beneath.h"
#include "baton/common/status.h"
#include "baton/workers/sandbox.h"
#include "sandbox/child_plan.h"
#include "sandbox/helper_process.h"

namespace baton::workers::sandbox {

// The stack of one task; destroying it stops the stack. It does not wait for the process to be
// gone: a stack takes 15-30 ms to exit (the kernel removing its tap device), time the task's
// result need not wait for. Its host kills it if it has not exited 2 s later, and waits for it
// when the host goes.
class TaskNetwork {
 public:
  TaskNetwork(std::shared_ptr<HelperProcess> helper, int exit_fd, std::weak_ptr<HelperHost> host);
  ~TaskNetwork();
  TaskNetwork(const TaskNetwork&) = delete;
  TaskNetwork& operator=(const TaskNetwork&) = delete;
  // Whether the stack is still up (false as soon as its process has exited).
  bool running() const { return helper_->running(); }

 private:
  std::shared_ptr<HelperProcess> helper_;
  int exit_fd_;  // write end of slirp4netns's --exit-fd: closing it stops the stack
  std::weak_ptr<HelperHost> host_;  // gone: the host has killed and reaped the stack
};

// The socket counts of a network namespace (/proc/net/sockstat), opened while in it: read later
// from anywhere, they are still that namespace's.
class SocketCounts {
 public:
  SocketCounts() = default;
  // The counts of the calling thread's network namespace.
  static SocketCounts OfThisThread();
  // Takes the counts now, with the namespace's stack up and no task in it, as the namespace's own
  // (slirp4netns keeps a socket of the namespace open). Unreadable: AsSettled() stays false.
  void Settle();
  // Whether the namespace holds no socket beyond its own (of any family, an orphaned TCP socket
  // included) and no TCP connection in TIME_WAIT; false when that cannot be read.
  bool AsSettled() const;

 private:
  struct Counts {
    long used = -1;  // sockets of any family
    long tw = -1;    // TCP connections in TIME_WAIT
  };
  static SocketCounts Open(const std::string& sockstat);
  std::optional<Counts> Read() const;

  ScopedFd sockstat_;
  std::optional<Counts> settled_;
};

// A network namespace of its own with its stack up, made ahead for a task (see NetworkPool), or a
// hermetic task's with only its loopback (no stack); a later task of the same pipeline may get it
// once that task has ended (see NetworkShelf).
struct ReadyNetwork {
  ScopedFd netns;  // the namespace, owned by the worker's user namespace; the task joins it
  std::unique_ptr<TaskNetwork> stack;  // null: a hermetic task's namespace
  SocketCounts sockets;                // what a task left in the namespace
  // Whether its stack still runs (a hermetic task's namespace has none to lose).
  bool up() const { return !stack || stack->running(); }
};

class NetworkPool;
class NetworkShelf;

// The networks of a sandbox's tasks: each made by the pool ahead of its task (the pool's thread
// and the helper thread only once a task needs a network), or one an earlier task of the same
// scope left as new (the shelf).
class TaskNetworks {
 public:
  // `state_dir`: where the sandbox keeps its files (the shared resolv.conf goes there).
  // `prepare`: start making networks ahead at once (as Prepare()).
  // `ahead`: networks kept ready once the first is taken (SandboxOptions::networks_ahead; at
  // most 1).
  explicit TaskNetworks(std::string state_dir, bool prepare = false, size_t ahead = 1);
  // Stops the pool and every stack it holds, and waits until each stack process is gone.
  ~TaskNetworks();
  TaskNetworks(const TaskNetworks&) = delete;
  TaskNetworks& operator=(const TaskNetworks&) = delete;

  // Adds the steps that mount the stack's resolv.conf at /etc/resolv.conf under `new_root`
  // (skipped when the root has no regular file there to mount over).
  Status AddResolvConf(const std::string& rootfs, const std::string& new_root, PreparedChild* out);
  // The file those steps mount for a root at `rootfs`; "" when they would mount none.
  Result<std::string> ResolvConfFor(const std::string& rootfs);
  // Starts the pool making networks ahead, the first one even with `ahead` 0 (no-op without
  // slirp4netns: Take says why).
  void Prepare();
  // No task will take a network any more: stops making them ahead (cancelling the one in the
  // making) and stops the stacks of those made ahead or shelved, without waiting for any of them
  // to exit (the destructor reaps what is left). Lent networks are dropped when their tasks end.
  void Stop();
  // A network for task `task_id` alone while it runs, its interface configured: one of `scope`
  // from the shelf, else one from the pool. The task's init joins `netns` (ChildPlan::netns_fd)
  // and Lend keeps the network until the task has exited.
  Result<ReadyNetwork> Take(const std::string& task_id, const std::string& scope);
  // A hermetic task's namespace that a task of `scope` left as new, if any (none for an empty
  // scope). Hermetic and other tasks' networks never meet: the shelf keeps them apart.
  std::optional<ReadyNetwork> TakeHermetic(const std::string& scope);
  // A new network namespace with nothing in it, for a hermetic task (its init brings `lo` up), to
  // lend (Lend) and shelve after it. Made by the calling thread, which steps into it only to open
  // it and back; owned by the worker's user namespace, as one made by the sandbox's clone.
  Result<ReadyNetwork> NewHermetic();
  // `process` with its network: once the task has exited (Wait(), or the process dropped), the
  // network goes back on the shelf for a later task of `scope` if it is left as new, else its
  // stack stops. An empty scope (a privileged task's, a one-off build's): never shelved.
  std::unique_ptr<SandboxedProcess> Lend(std::unique_ptr<SandboxedProcess> process,
                                         ReadyNetwork network, std::string scope);
  // The shelf's scope of a hermetic task of `scope`.
  static std::string HermeticScope(const std::string& scope);

  // The sandbox's probe joins the namespace of the first network made ahead (Prepare) instead of
  // making one of its own: one network namespace fewer a worker's start (made, then torn down on
  // the kernel's cleanup worker). That namespace is made as every task's is, and the probe's init
  // joins it as a task's does. The pool settles that network's socket counts, and so lets a task
  // have it, only once the probe is done (ReleaseProbeNamespace): nothing the probe opened is
  // counted as the network's own.
  // That namespace, once made (waiting for the pool to make it); -1 when no network is being
  // made ahead or the first one is already settled: the probe then makes its own.
  ScopedFd TakeProbeNamespace();
  // The probe has exited (its PID namespace with it). REQUIRES: after TakeProbeNamespace.
  void ReleaseProbeNamespace();

 private:
  std::shared_ptr<HelperHost> Host();
  NetworkPool& Pool();  // made on first use
  // Runs on the pool's thread: makes a new network namespace and starts its stack, unless
  // `cancel_fd` turns readable first (the pool is going).
  // A new namespace, no stack, its socket counts not settled; `inside` (may be null) runs in it.
  Result<ReadyNetwork> NewNamespace(void (*inside)());
  Result<ReadyNetwork> MakeNetwork(int cancel_fd);
  Result<std::unique_ptr<TaskNetwork>> StartStack(int netns_fd, int cancel_fd);
  // The pool's thread, for the first network of a prepared pool: offers its namespace (-1: making
  // it failed) to the probe.
  void OfferToProbe(int netns_fd);
  // The pool's thread, before settling a network: waits until the probe, if it took this
  // network's namespace, is done. False: it did not finish in time (the network is not settled).
  bool ProbeDone();
  // No network will be made for the probe to join (the pool is stopping).
  void NoneForProbe();

  const std::string state_dir_;
  const size_t ahead_;
  const std::string slirp4netns_;  // absolute path; empty: not installed
  const ScopedFd worker_netns_;    // the namespace the sandbox was made in
  const std::string worker_netns_error_;
  std::mutex mu_;
  std::shared_ptr<HelperHost> host_;           // GUARDED_BY(mu_); shared only with weak_ptrs
  std::shared_ptr<NetworkPool> pool_;          // GUARDED_BY(mu_); made by the first Take;
                                               // lent networks hold it weakly
  const std::shared_ptr<NetworkShelf> shelf_;  // lent networks hold it weakly
  bool resolv_conf_written_ = false;           // GUARDED_BY(mu_)
  // The first network's namespace and the probe: kNone (no network made ahead yet), kPending
  // (Prepare: one is being made), kOffered (probe_netns_ holds it), kTaken (the probe is in it),
  // kDone (released, settled or failed: later probes make their own).
  enum class ProbeSlot { kNone, kPending, kOffered, kTaken, kDone };
  std::mutex probe_mu_;
  std::condition_variable probe_changed_;
  ProbeSlot probe_slot_ = ProbeSlot::kNone;  // GUARDED_BY(probe_mu_)
  ScopedFd probe_netns_;                     // GUARDED_BY(probe_mu_)
};

}  // namespace baton::workers::sandbox
