#include "sandbox/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <deque>
#include <string>
#include <thread>

namespace baton::workers::sandbox {
namespace {

// Closes descriptors on a thread of its own, for closes that wait for the kernel (the last
// reference to a mount namespace). Never destroyed: its thread may still run at exit.
class LateCloser {
 public:
  static LateCloser& Get() {
    static LateCloser* closer = new LateCloser();
    return *closer;
  }
  void Close(int fd) {
    std::unique_lock lock(mu_);
    if (fds_.size() >= kMaxWaiting) {  // behind: close here rather than pile up namespaces
      lock.unlock();
      ::close(fd);
      return;
    }
    fds_.push_back(fd);
    if (!started_) {
      started_ = true;
      std::thread([this] { Run(); }).detach();
    }
    ready_.notify_one();
  }

 private:
  static constexpr size_t kMaxWaiting = 64;
  void Run() {
    std::unique_lock lock(mu_);
    for (;;) {
      ready_.wait(lock, [&] { return !fds_.empty(); });
      int fd = fds_.front();
      fds_.pop_front();
      lock.unlock();
      ::close(fd);
      lock.lock();
    }
  }
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<int> fds_;   // GUARDED_BY(mu_)
  bool started_ = false;  // GUARDED_BY(mu_)
};

}  // namespace

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

void ChildProcess::HoldMountNamespace() {
  std::string path = "/proc/" + std::to_string(pid_) + "/ns/mnt";
  std::lock_guard lock(mu_);
  // A sandbox already ended (its init a zombie) has no namespace left to open: nothing to hold.
  if (!reaped_ && mount_ns_ < 0) mount_ns_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
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
  if (mount_ns_ >= 0) LateCloser::Get().Close(mount_ns_);  // the sandbox's last process is gone
  mount_ns_ = -1;
  return ExitCodeOf(status);
}

}  // namespace baton::workers::sandbox
