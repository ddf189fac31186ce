#include "sandbox/helper_process.h"

#include <fcntl.h>
#include <linux/close_range.h>
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
#include <boost/process/args.hpp>
#include <boost/process/async.hpp>
#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <cerrno>
#include <future>

#include "sandbox/sys_util.h"

namespace baton::workers::sandbox {
namespace {

namespace asio = boost::asio;
namespace bp = boost::process;

constexpr size_t kStderrKept = 4096;
constexpr int kFirstPassedFd = 3;
// Above any descriptor the helper is given, so that moving them into place cannot clobber one.
constexpr int kScratchFd = 64;

// Sets up the forked child before exec: /dev/null as stdin and stdout, `stderr_fd` as stderr,
// `fds` as 3, 4, ..., every other descriptor close-on-exec, and death with the io thread.
// Runs between fork and exec of a multi-threaded process: system calls only.
struct ChildDescriptors : bp::extend::handler {
  int stderr_fd = -1;
  std::vector<int> fds;

  template <typename Executor>
  void on_exec_setup(Executor& exec) const {
    int null_fd = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0) Fail(exec, "opening /dev/null");
    std::array<int, 16> moved{};
    if (fds.size() > moved.size()) Fail(exec, "passing descriptors");
    for (size_t i = 0; i < fds.size(); ++i) {
      moved[i] = ::fcntl(fds[i], F_DUPFD_CLOEXEC, kScratchFd);
      if (moved[i] < 0) Fail(exec, "passing descriptors");
    }
    if (::dup2(null_fd, 0) < 0 || ::dup2(null_fd, 1) < 0 || ::dup2(stderr_fd, 2) < 0) {
      Fail(exec, "setting up stdio");
    }
    for (size_t i = 0; i < fds.size(); ++i) {
      if (::dup2(moved[i], kFirstPassedFd + static_cast<int>(i)) < 0) {
        Fail(exec, "passing descriptors");
      }
    }
    unsigned first_other = kFirstPassedFd + static_cast<unsigned>(fds.size());
    ::syscall(SYS_close_range, first_other, ~0U, CLOSE_RANGE_CLOEXEC);
    // The helper must not outlive the worker, even if the worker is killed.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  }

  // In the parent, when the launch failed: the child has exited already (see Fail); reap it.
  template <typename Executor>
  void on_error(Executor& exec, const std::error_code&) const {
    if (exec.pid > 0) ::waitpid(exec.pid, nullptr, 0);
  }

  // Boost.Process's set_error only reports the error to the parent; the child must not go on.
  template <typename Executor>
  [[noreturn]] static void Fail(Executor& exec, const char* what) {
    exec.set_error(std::error_code(errno, std::system_category()), what);
    ::_exit(127);
  }
};

// Boost.Process's SIGCHLD handler (an asio signal_set) is installed without SA_RESTART, so every
// SIGCHLD (each task's exit too) would interrupt blocking system calls on any thread of the
// worker with EINTR. Keep the handler; ask the kernel to restart those calls instead.
void MakeSigchldRestartSyscalls() {
  struct sigaction sa;
  if (::sigaction(SIGCHLD, nullptr, &sa) != 0) return;
  if (sa.sa_handler == SIG_DFL || sa.sa_handler == SIG_IGN || (sa.sa_flags & SA_RESTART)) return;
  sa.sa_flags |= SA_RESTART;
  ::sigaction(SIGCHLD, &sa, nullptr);
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

void HelperProcess::OnExit(int status) {
  std::lock_guard lock(mu_);
  exit_status_ = status;
  exited_cv_.notify_all();
}

void HelperProcess::OnStderr(const char* data, size_t size) {
  std::lock_guard lock(mu_);
  stderr_.append(data, std::min(size, kStderrKept - std::min(kStderrKept, stderr_.size())));
}

struct HelperHost::Launch {
  const Spec* spec = nullptr;
  int stderr_read = -1;
  int stderr_write = -1;
  std::shared_ptr<HelperProcess> helper;
  Status status;
};

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
  Launch launch;
  launch.spec = &spec;
  launch.stderr_read = fds[0];
  launch.stderr_write = fds[1];
  std::promise<void> done;
  asio::post(*io_, [&] {
    StartOnIoThread(launch);
    done.set_value();
  });
  done.get_future().wait();
  ::close(launch.stderr_write);
  if (!launch.status.ok()) {
    ::close(launch.stderr_read);
    return launch.status;
  }
  std::lock_guard lock(mu_);
  helpers_.erase(std::remove_if(helpers_.begin(), helpers_.end(),
                                [](const auto& weak) { return weak.expired(); }),
                 helpers_.end());
  helpers_.push_back(launch.helper);
  return launch.helper;
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

void HelperHost::StartOnIoThread(Launch& launch) {
  ChildDescriptors descriptors;
  descriptors.stderr_fd = launch.stderr_write;
  descriptors.fds = launch.spec->fds;
  // on_exit may run before the child object is even returned (a helper that dies at once): it
  // reports into `slot`, which the helper takes over below.
  auto slot = std::make_shared<std::shared_ptr<HelperProcess>>();
  auto early_exit = std::make_shared<std::optional<int>>();
  std::error_code ec;
  bp::child child(
      bp::exe = launch.spec->exe, bp::args = launch.spec->args, *io_,
      bp::on_exit =
          [slot, early_exit](int status, const std::error_code&) {
            if (*slot) {
              (*slot)->OnExit(status);
            } else {
              *early_exit = status;
            }
          },
      descriptors, ec);
  MakeSigchldRestartSyscalls();
  if (ec) {
    launch.status = FailedPrecondition("cannot start " + launch.spec->exe + ": " + ec.message());
    return;
  }
  auto helper = std::shared_ptr<HelperProcess>(new HelperProcess(child.id()));
  child.detach();  // supervised by on_exit from now on; ~child must not kill it
  *slot = helper;
  if (*early_exit) helper->OnExit(**early_exit);
  auto reader =
      std::make_shared<StderrReader>(*io_, launch.stderr_read, helper, &HelperProcess::OnStderr);
  launch.stderr_read = -1;  // the reader owns it now
  reader->ReadMore();
  launch.helper = std::move(helper);
}

}  // namespace baton::workers::sandbox
