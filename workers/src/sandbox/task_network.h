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

#include <memory>
#include <mutex>
#include <string>

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
  // Whether the stack is still up (false once its process has exited and was reaped).
  bool running() const { return !helper_->exit_status().has_value(); }

 private:
  std::shared_ptr<HelperProcess> helper_;
  int exit_fd_;  // write end of slirp4netns's --exit-fd: closing it stops the stack
  std::weak_ptr<HelperHost> host_;  // gone: the host has killed and reaped the stack
};

// A network namespace of its own with its stack up, made ahead for one task (see NetworkPool).
struct ReadyNetwork {
  ScopedFd netns;  // the namespace, owned by the worker's user namespace; the task joins it
  std::unique_ptr<TaskNetwork> stack;
};

class NetworkPool;

// The networks of a sandbox's tasks: each made by the pool ahead of its task (the pool's thread
// and the helper thread only once a task needs a network).
class TaskNetworks {
 public:
  // `state_dir`: where the sandbox keeps its files (the shared resolv.conf goes there).
  explicit TaskNetworks(std::string state_dir);
  // Stops the pool and every stack it holds, and waits until each stack process is gone.
  ~TaskNetworks();
  TaskNetworks(const TaskNetworks&) = delete;
  TaskNetworks& operator=(const TaskNetworks&) = delete;

  // Adds the steps that mount the stack's resolv.conf at /etc/resolv.conf under `new_root`
  // (skipped when the root has no regular file there to mount over).
  Status AddResolvConf(const std::string& rootfs, const std::string& new_root, PreparedChild* out);
  // Starts the pool making networks ahead (no-op without slirp4netns: Take says why).
  void Prepare();
  // A network for task `task_id` alone, its interface configured: the task's init joins
  // `netns` (ChildPlan::netns_fd) and the task's process holds `stack` until it exits.
  Result<ReadyNetwork> Take(const std::string& task_id);

 private:
  std::shared_ptr<HelperHost> Host();
  NetworkPool& Pool();  // made on first use, with the helper thread
  // Runs on the pool's thread: makes a new network namespace and starts its stack, unless
  // `cancel_fd` turns readable first (the pool is going).
  Result<ReadyNetwork> MakeNetwork(int cancel_fd);
  Result<std::unique_ptr<TaskNetwork>> StartStack(int netns_fd, int cancel_fd);

  const std::string state_dir_;
  const std::string slirp4netns_;  // absolute path; empty: not installed
  const ScopedFd worker_netns_;    // the namespace the sandbox was made in
  const std::string worker_netns_error_;
  std::mutex mu_;
  std::shared_ptr<HelperHost> host_;   // GUARDED_BY(mu_); shared only with weak_ptrs
  std::unique_ptr<NetworkPool> pool_;  // GUARDED_BY(mu_); made by the first Take
  bool resolv_conf_written_ = false;   // GUARDED_BY(mu_)
};

// `process` with its network: Wait() and the destructor stop the network after the task.
std::unique_ptr<SandboxedProcess> WithNetwork(std::unique_ptr<SandboxedProcess> process,
                                              std::unique_ptr<TaskNetwork> network);

}  // namespace baton::workers::sandbox
