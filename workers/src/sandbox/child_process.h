// A started task process as the sandboxes hand it out: the sandbox's init (signals go to it and
// it forwards them) or, unsandboxed, the leader of the task's process group (signals go to the
// group, and nothing of the group outlives the leader). Killed and reaped on destruction.
#pragma once

#include <sys/types.h>
#include <sys/wait.h>

#include <mutex>

#include "baton/workers/sandbox.h"

namespace baton::workers::sandbox {

// The exit code a shell would report for a wait status (128 + signal when killed).
// Async-signal-safe: the sandbox's init uses it too.
inline int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

class ChildProcess : public SandboxedProcess {
 public:
  // `group`: `pid` leads its own process group, which signals and the final kill address.
  ChildProcess(pid_t pid, bool group);
  ~ChildProcess() override;
  pid_t pid() const override { return pid_; }
  int exit_fd() const override { return pidfd_; }
  void Signal(int sig) override;
  int Wait() override;

  // Keeps the sandbox's mount namespace open from now on, so that once the sandbox has ended, Wait
  // returns without waiting for the kernel to unmount the task's mounts (its last reference going
  // with the init waits for an RCU grace period, ~0.15 ms a task); they are unmounted on a thread
  // of their own after it. REQUIRES: the sandbox has been built (its start reported).
  void HoldMountNamespace();

 private:
  const pid_t pid_;
  const bool group_;
  int pidfd_ = -1;
  int mount_ns_ = -1;  // the sandbox's, or -1
  std::mutex mu_;
  bool reaped_ = false;  // GUARDED_BY(mu_)
};

}  // namespace baton::workers::sandbox
