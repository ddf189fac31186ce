#include "sandbox/helper_process.h"

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cerrno>

#include "sandbox/sys_util.h"

extern char** environ;

namespace baton::workers::sandbox {
namespace {

namespace asio = boost::asio;

constexpr size_t kStderrKept = 4096;
constexpr int kFirstPassedFd = 3;
// Above any descriptor the helper is given, so that moving them into place cannot clobber one.
constexpr int kScratchFd = 64;
constexpr size_t kMaxPassedFds = 16;
// The stack the cloned child runs on until it execs: a few system calls' worth.
constexpr size_t kChildStack = 64 * 1024;
// The kernel's signal set is 64 bits; glibc's sigset_t is larger.
constexpr size_t kKernelSigsetSize = 8;

// What the cloned child needs, made ready by the parent: the child shares the worker's memory
// (CLONE_VM) while the parent thread waits for its exec, so it may make system calls only (no
// malloc, no locks another thread may hold). It reports a failure back through `err`/`step`.
struct SpawnPlan {
  const char* exe = nullptr;
  char* const* argv = nullptr;
  int stderr_fd = -1;
  const int* fds = nullptr;
  size_t fd_count = 0;
  const sigset_t* mask = nullptr;  // the parent thread's mask, for the helper
  int (*before_exec)(const int* args) = nullptr;
  const int* before_exec_args = nullptr;
  int err = 0;                 // written by the child when it fails
  const char* step = nullptr;  // what failed
};

[[noreturn]] void FailChild(SpawnPlan& plan, const char* step) {
  plan.err = errno;
  plan.step = step;
  ::_exit(127);
}

// A handler the worker installed would run in the worker's memory if a signal came before the
// exec: the child takes the default action instead, as posix_spawn's child does. (glibc's own
// signals 32 and 33 are sent to the worker's threads by thread id, never to this child.)
void ResetSignalHandlers() {
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig == SIGKILL || sig == SIGSTOP || sig == 32 || sig == 33) continue;
    struct sigaction sa;
    if (::sigaction(sig, nullptr, &sa) != 0) continue;
    if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN) continue;
    sa.sa_handler = SIG_DFL;
    sa.sa_flags = 0;
    ::sigaction(sig, &sa, nullptr);
  }
}

// Moves the plan's descriptors into place: /dev/null as stdin and stdout, `stderr_fd` as stderr,
// `fds` as 3, 4, ..., every other descriptor close-on-exec.
void PlaceDescriptors(SpawnPlan& plan) {
  int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null_fd < 0) FailChild(plan, "opening /dev/null");
  std::array<int, kMaxPassedFds> moved{};
  for (size_t i = 0; i < plan.fd_count; ++i) {
    moved[i] = ::fcntl(plan.fds[i], F_DUPFD_CLOEXEC, kScratchFd);
    if (moved[i] < 0) FailChild(plan, "passing descriptors");
  }
  if (::dup2(null_fd, 0) < 0 || ::dup2(null_fd, 1) < 0 || ::dup2(plan.stderr_fd, 2) < 0) {
    FailChild(plan, "setting up stdio");
  }
  for (size_t i = 0; i < plan.fd_count; ++i) {
    if (::dup2(moved[i], kFirstPassedFd + static_cast<int>(i)) < 0) {
      FailChild(plan, "passing descriptors");
    }
  }
  unsigned first_other = kFirstPassedFd + static_cast<unsigned>(plan.fd_count);
  ::syscall(SYS_close_range, first_other, ~0U, CLOSE_RANGE_CLOEXEC);
}

// clone(2) entry point of the helper, until its exec.
int SpawnedChild(void* arg) {
  auto& plan = *static_cast<SpawnPlan*>(arg);
  ResetSignalHandlers();
  if (plan.before_exec) {
    int err = plan.before_exec(plan.before_exec_args);
    if (err != 0) {
      errno = err;
      FailChild(plan, "preparing it");
    }
  }
  PlaceDescriptors(plan);
  // The helper must not outlive the worker, even if the worker is killed (the parent is the
  // HelperHost's thread, which lives as long as the host).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, plan.mask, nullptr, kKernelSigsetSize);
  ::execve(plan.exe, plan.argv, environ);
  FailChild(plan, "exec");
}

struct Spawned {
  pid_t pid = -1;
  int pidfd = -1;
};

// Starts `spec` the way posix_spawn does: clone(CLONE_VM | CLONE_VFORK) runs the child in the
// worker's memory until it execs, instead of fork() copying the worker's page tables (the worker
// is large: dup_mmap, copy-on-write faults and the copy's exit were most of a fork's cost). The
// child's pidfd supervises it. `stack_top` is the caller's, for this child alone.
Result<Spawned> Spawn(const HelperHost::Spec& spec, int stderr_fd, char* stack_top) {
  if (spec.fds.size() > kMaxPassedFds) {
    return InvalidArgument("cannot pass more than 16 descriptors to " + spec.exe);
  }
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(spec.exe.c_str()));
  for (const auto& a : spec.args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  sigset_t all, old;
  ::sigfillset(&all);
  SpawnPlan plan;
  plan.exe = spec.exe.c_str();
  plan.argv = argv.data();
  plan.stderr_fd = stderr_fd;
  plan.fds = spec.fds.data();
  plan.fd_count = spec.fds.size();
  plan.mask = &old;
  plan.before_exec = spec.before_exec;
  plan.before_exec_args = spec.before_exec_args.data();
  // Every signal blocked across the clone (the raw call: glibc's keeps its own two unblocked) so
  // that none is handled in the child before it has reset the handlers.
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, kKernelSigsetSize);
  int pidfd = -1;
  pid_t pid = ::clone(SpawnedChild, stack_top, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD,
                      &plan, &pidfd);
  int clone_err = errno;
  ::syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, kKernelSigsetSize);
  if (pid < 0)
    return FailedPrecondition("cannot start " + spec.exe + ": " + sys::ErrnoText(clone_err));
  if (plan.err != 0) {
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    ::close(pidfd);
    return FailedPrecondition("cannot start " + spec.exe + ": " + plan.step + ": " +
                              sys::ErrnoText(plan.err));
  }
  return Spawned{pid, pidfd};
}

// Reads a helper's stderr on the io_context until EOF and hands it to the helper.
class StderrReader : public std::enable_shared_from_this<StderrReader> {
 public:
  StderrReader(asio::io_context& io, int fd, std::shared_ptr<HelperProcess> helper,
               void (HelperProcess::*sink)(const char*, size_t))
      : stream_(io, fd), helper_(std::move(helper)), sink_(sink) {}
  void ReadMore() {
    auto self = shared_from_this();
    stream_.async_read_some(asio::buffer(buf_), [self](boost::system::error_code ec, size_t n) {
      if (n > 0) ((*self->helper_).*(self->sink_))(self->buf_.data(), n);
      if (!ec) self->ReadMore();
    });
  }

 private:
  asio::posix::stream_descriptor stream_;
  std::shared_ptr<HelperProcess> helper_;
  void (HelperProcess::*sink_)(const char*, size_t);
  std::array<char, 1024> buf_;
};

}  // namespace

bool HelperProcess::WaitExited(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return exited_cv_.wait_for(lock, timeout, [&] { return exit_status_.has_value(); });
}

std::optional<int> HelperProcess::exit_status() const {
  std::lock_guard lock(mu_);
  return exit_status_;
}

std::string HelperProcess::stderr_text() const {
  std::lock_guard lock(mu_);
  return stderr_;
}

void HelperProcess::Signal(int sig) {
  std::lock_guard lock(mu_);
  if (!exit_status_) ::kill(pid_, sig);
}

bool HelperProcess::running() const {
  // Under the lock, Reap cannot run: an exited helper is still a zombie, its pid still its own.
  std::lock_guard lock(mu_);
  if (exit_status_) return false;
  siginfo_t info{};
  int rc;
  do {
    rc = ::waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT);  // WNOWAIT: the host reaps
  } while (rc != 0 && errno == EINTR);
  return rc == 0 && info.si_pid == 0;
}

void HelperProcess::Reap(int pidfd) {
  // Under the lock: Signal() must never see the pid once it is free for someone else.
  std::lock_guard lock(mu_);
  siginfo_t info{};
  int rc;
  do {
    rc = pidfd >= 0 ? ::waitid(P_PIDFD, pidfd, &info, WEXITED)
                    : ::waitid(P_PID, pid_, &info, WEXITED);
  } while (rc != 0 && errno == EINTR);
  // Its exit code, or the number of the signal that killed it.
  exit_status_ = rc == 0 ? info.si_status : -1;
  exited_cv_.notify_all();
}

void HelperProcess::OnStderr(const char* data, size_t size) {
  std::lock_guard lock(mu_);
  stderr_.append(data, std::min(size, kStderrKept - std::min(kStderrKept, stderr_.size())));
}

HelperHost::HelperHost() : io_(std::make_unique<asio::io_context>()) {
  thread_ = std::thread([io = io_.get()] {
    auto work = asio::make_work_guard(*io);
    io->run();
  });
}

HelperHost::~HelperHost() {
  std::vector<std::shared_ptr<HelperProcess>> live;
  {
    std::lock_guard lock(mu_);
    for (auto& weak : helpers_) {
      if (auto helper = weak.lock()) live.push_back(std::move(helper));
    }
  }
  for (auto& helper : live) helper->Signal(SIGKILL);
  for (auto& helper : live) helper->WaitExited(std::chrono::seconds(5));
  io_->stop();
  thread_.join();
}

Result<std::shared_ptr<HelperProcess>> HelperHost::Start(const Spec& spec) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return sys::ErrnoStatus("creating a pipe", errno);
  // Cloned here, on the caller's thread (its parent, for PR_SET_PDEATHSIG), not on the io thread:
  // the stack's start waited for two hand-offs to that thread and back (docs/benchmarks.md).
  auto child_stack = std::make_unique<char[]>(kChildStack);
  auto spawned = Spawn(spec, fds[1], child_stack.get() + kChildStack);
  ::close(fds[1]);
  if (!spawned.ok()) {
    ::close(fds[0]);
    return spawned.status();
  }
  auto helper = std::shared_ptr<HelperProcess>(new HelperProcess(spawned->pid));
  {
    std::lock_guard lock(mu_);
    helpers_.erase(std::remove_if(helpers_.begin(), helpers_.end(),
                                  [](const auto& weak) { return weak.expired(); }),
                   helpers_.end());
    helpers_.push_back(helper);
  }
  // Watched from the io thread, which the caller does not wait for: until it runs, an exit is
  // not yet noticed (the helper stays a zombie, its pid its own), and ~HelperHost waits for it.
  asio::post(*io_, [this, helper, pidfd = spawned->pidfd, stderr_read = fds[0], exe = spec.exe] {
    Watch(helper, pidfd, stderr_read, exe);
  });
  return helper;
}

void HelperHost::Retire(std::shared_ptr<HelperProcess> helper, std::chrono::milliseconds grace) {
  asio::post(*io_, [this, helper = std::move(helper), grace] {
    if (helper->exit_status()) return;
    auto timer = std::make_shared<asio::steady_timer>(*io_, grace);
    // The handler keeps the helper (and so ~HelperHost's reach) until it exits or is killed.
    timer->async_wait([timer, helper](const boost::system::error_code& ec) {
      if (!ec) helper->Signal(SIGKILL);
    });
  });
}

void HelperHost::Watch(const std::shared_ptr<HelperProcess>& helper, int pidfd, int stderr_read,
                       const std::string& exe) {
  // The pidfd turns readable when the helper exits; it is reaped then, here on the io thread.
  auto exit = std::make_shared<asio::posix::stream_descriptor>(*io_);
  boost::system::error_code ec;
  exit->assign(pidfd, ec);
  if (ec) {  // not seen: only without epoll for a pidfd, where nothing else would notice its exit
    ::close(pidfd);
    ::close(stderr_read);
    std::string why = "cannot watch " + exe + ": " + ec.message();
    helper->OnStderr(why.data(), why.size());  // what the stack's early exit reports
    helper->Signal(SIGKILL);
    helper->Reap(-1);
    return;
  }
  exit->async_wait(asio::posix::stream_descriptor::wait_read,
                   [exit, helper](const boost::system::error_code& error) {
                     // Cancelled only when the host stops, after it killed and reaped its helpers.
                     if (!error) helper->Reap(exit->native_handle());
                   });
  auto reader = std::make_shared<StderrReader>(*io_, stderr_read, helper, &HelperProcess::OnStderr);
  reader->ReadMore();
}

}  // namespace baton::workers::sandbox
