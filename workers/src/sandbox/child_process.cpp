#include "sandbox/child_process.h"

#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace baton::workers::sandbox {

ChildProcess::ChildProcess(pid_t pid, bool group) : pid_(pid), group_(group) {
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

ChildProcess::~ChildProcess() {
  if (!reaped_) {
    Signal(SIGKILL);
    Wait();
  }
  if (pidfd_ >= 0) ::close(pidfd_);
}

void ChildProcess::Signal(int sig) {
  std::lock_guard lock(mu_);
  if (reaped_) return;  // the pid (or group id) may belong to someone else by now
  if (group_) {
    ::kill(-pid_, sig);
  } else if (pidfd_ < 0 || ::syscall(SYS_pidfd_send_signal, pidfd_, sig, nullptr, 0) != 0) {
    ::kill(pid_, sig);
  }
}

int ChildProcess::Wait() {
  siginfo_t info;
  while (::waitid(P_PID, pid_, &info, WEXITED | WNOWAIT) != 0 && errno == EINTR) {
  }
  std::lock_guard lock(mu_);
  if (group_) ::kill(-pid_, SIGKILL);  // nothing of the task may outlive it
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  return ExitCodeOf(status);
}

}  // namespace baton::workers::sandbox
