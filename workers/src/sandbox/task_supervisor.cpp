#include "sandbox/task_supervisor.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <optional>

#include "sandbox/output_lines.h"
#include "sandbox/sys_util.h"

namespace baton::workers {
namespace {

constexpr size_t kMaxCapturedStdout = 16 * 1024 * 1024;
constexpr size_t kStderrTailBytes = 4096;
// After the task's top process is gone, how long its output may stay open (something escaped
// into the background holding the pipe; only possible unsandboxed without cgroups).
constexpr auto kDrainAfterExit = std::chrono::seconds(2);

// Reading a task's output in pieces worth a hand-over (issue 16, W4). A task printing fast
// writes its pipe a stdio buffer (4 KiB) at a time, and the pump woke for each piece and handed
// it on, waking the executor, the console and the store's writer in turn: 20 MB came in ~2,000
// to 5,000 reads. So the pipe holds 1 MiB, and after a wake that found it less than a quarter
// full the pump leaves it alone for one poll of at most 1 ms: the next read finds what the task
// wrote meanwhile (a line reaches the log at most ~1 ms later). A pipe that stays at 64 KiB
// (the size could not be raised) is never paused: the task would block on it.
constexpr int kOutputPipeBytes = 1 << 20;
constexpr size_t kPauseBelowBytes = kOutputPipeBytes / 4;
constexpr int kReadPauseMs = 1;
// The most one wake reads from one pipe, so the other pipe and a cancel are seen in between
// and no more than four batches (the executor recycles four texts) are on their way at once.
constexpr size_t kMaxReadPerWake = kOutputPipeBytes / 4;

struct OwnedFd {
  int fd = -1;
  OwnedFd() = default;
  OwnedFd(const OwnedFd&) = delete;
  ~OwnedFd() { Close(); }
  void Close() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }
};

Status OpenPipe(OwnedFd* read_end, OwnedFd* write_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return sys::ErrnoStatus("creating a pipe", errno);
  read_end->fd = fds[0];
  write_end->fd = fds[1];
  return Status::Ok();
}

// A task's output pipe, enlarged where the system allows (F_SETPIPE_SZ fails past
// /proc/sys/fs/pipe-max-size or a user's pipe quota; the pipe then keeps its size). The read end
// is non-blocking: the pump reads until the pipe is empty.
Status OpenOutputPipe(OwnedFd* read_end, OwnedFd* write_end) {
  BATON_RETURN_IF_ERROR(OpenPipe(read_end, write_end));
  ::fcntl(read_end->fd, F_SETPIPE_SZ, kOutputPipeBytes);
  ::fcntl(read_end->fd, F_SETFL, O_NONBLOCK);
  return Status::Ok();
}

bool MayPause(int fd) { return ::fcntl(fd, F_GETPIPE_SZ) >= kOutputPipeBytes; }

}  // namespace

// The poll loop of one running task.
class TaskSupervisor::Pump {
 public:
  Pump(TaskSupervisor& sup, SandboxedProcess& process, TaskCgroup* cgroup, TaskResult& result)
      : sup_(sup),
        process_(process),
        cgroup_(cgroup),
        result_(result),
        out_lines_(*sup.sink_, OutputStream::kStdout),
        err_lines_(*sup.sink_, OutputStream::kStderr),
        err_tail_(kStderrTailBytes) {}

  OwnedFd out, err, in;
  std::string in_data;

  int Run() {
    size_t in_off = 0;
    if (in.fd >= 0) {
      ::fcntl(in.fd, F_SETFL, O_NONBLOCK);
      if (in_data.empty()) in.Close();
    }
    out_.may_pause = out.fd >= 0 && MayPause(out.fd);
    err_.may_pause = err.fd >= 0 && MayPause(err.fd);
    while (!(exited_ && out.fd < 0 && err.fd < 0)) {
      pollfd fds[5];
      int n = 0;
      int i_out = Add(fds, n, out_.paused ? -1 : out.fd, POLLIN);
      int i_err = Add(fds, n, err_.paused ? -1 : err.fd, POLLIN);
      int i_in = Add(fds, n, in.fd, POLLOUT);
      int i_cancel = Add(fds, n, term_sent_ ? -1 : sup_.cancel_fd_, POLLIN);
      int i_exit = Add(fds, n, exited_ ? -1 : process_.exit_fd(), POLLIN);
      int timeout = TimeoutMs();
      if (out_.paused || err_.paused) {
        timeout = timeout < 0 ? kReadPauseMs : std::min(timeout, kReadPauseMs);
      }
      if (::poll(fds, n, timeout) < 0 && errno != EINTR) break;
      out_.paused = err_.paused = false;  // a pause lasts one poll
      if (Ready(fds, i_cancel)) Terminate();
      CheckDeadlines();
      if (Ready(fds, i_exit)) OnExit();
      if (Ready(fds, i_out)) ReadFrom(out, out_, true);
      if (Ready(fds, i_err)) ReadFrom(err, err_, false);
      if (Ready(fds, i_in)) WriteStdin(in_off);
      if (exited_ && drain_deadline_ && sup_.ctx_.clock->SteadyNow() >= *drain_deadline_) {
        System("output was still open after the task exited; stopped reading it");
        break;
      }
    }
    auto now = sup_.ctx_.clock->Now();
    out_lines_.Finish(now);
    err_lines_.Finish(now);
    result_.stderr_tail = err_tail_.Text();
    return exit_code_;
  }

 private:
  struct OutputPacing {
    bool may_pause = false;  // the pipe holds kOutputPipeBytes
    bool paused = false;     // left out of the next poll
  };

  static int Add(pollfd* fds, int& n, int fd, short events) {
    if (fd < 0) return -1;
    fds[n] = pollfd{fd, events, 0};
    return n++;
  }
  static bool Ready(const pollfd* fds, int i) { return i >= 0 && fds[i].revents != 0; }

  int TimeoutMs() const {
    std::optional<SteadyTime> next = kill_deadline_;
    if (drain_deadline_ && (!next || *drain_deadline_ < *next)) next = drain_deadline_;
    if (!next) return -1;
    auto left = std::chrono::ceil<std::chrono::milliseconds>(*next - sup_.ctx_.clock->SteadyNow());
    return static_cast<int>(std::max<int64_t>(0, left.count()));
  }

  void System(const std::string& line) {
    sup_.sink_->OnLine(sup_.ctx_.clock->Now(), OutputStream::kSystem, line);
  }

  void Terminate() {
    uint64_t v;
    ssize_t r = ::read(sup_.cancel_fd_, &v, sizeof v);
    (void)r;
    term_sent_ = true;
    if (exited_) return;
    process_.Signal(SIGTERM);
    if (cgroup_ && sup_.ctx_.sandbox->isolation() == IsolationLevel::kNone) {
      cgroup_->SignalAll(SIGTERM);  // reaches processes that left the process group
    }
    kill_deadline_ =
        sup_.ctx_.clock->SteadyNow() + std::chrono::milliseconds(sup_.grace_ms_.load());
  }

  void CheckDeadlines() {
    if (!kill_deadline_ || sup_.ctx_.clock->SteadyNow() < *kill_deadline_) return;
    kill_deadline_.reset();
    process_.Signal(SIGKILL);
    if (cgroup_) cgroup_->KillAll();
  }

  void OnExit() {
    exit_code_ = process_.Wait();
    exited_ = true;
    kill_deadline_.reset();
    if (cgroup_) cgroup_->KillAll();  // whatever escaped the process group (unsandboxed)
    drain_deadline_ = sup_.ctx_.clock->SteadyNow() + kDrainAfterExit;
  }

  // Reads what the pipe holds (up to kMaxReadPerWake), a buffer at a time.
  void ReadFrom(OwnedFd& fd, OutputPacing& pace, bool is_stdout) {
    size_t taken = 0;
    while (taken < kMaxReadPerWake) {
      ssize_t n = ::read(fd.fd, buf_, sizeof buf_);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) break;
      if (n <= 0) {
        fd.Close();
        return;
      }
      Deliver(std::string_view(buf_, n), is_stdout);
      taken += n;
      if (static_cast<size_t>(n) < sizeof buf_) break;  // the pipe is empty now
    }
    pace.paused = pace.may_pause && !exited_ && taken < kPauseBelowBytes;
  }

  void Deliver(std::string_view data, bool is_stdout) {
    auto now = sup_.ctx_.clock->Now();
    if (!is_stdout) {
      err_tail_.Feed(data);
      err_lines_.Feed(now, data);
    } else if (sup_.run_.capture_stdout) {
      Capture(data);
    } else {
      out_lines_.Feed(now, data);
    }
  }

  void Capture(std::string_view data) {
    size_t room = kMaxCapturedStdout - result_.stdout_data.size();
    if (data.size() > room && !capture_truncated_) {
      capture_truncated_ = true;
      System("stdout is larger than 16 MiB; the rest was dropped");
    }
    result_.stdout_data.append(data.substr(0, std::min(room, data.size())));
  }

  void WriteStdin(size_t& off) {
    ssize_t n = ::write(in.fd, in_data.data() + off, in_data.size() - off);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (n < 0) {  // EPIPE: the task does not read its stdin
      in.Close();
      return;
    }
    off += n;
    if (off == in_data.size()) in.Close();
  }

  TaskSupervisor& sup_;
  SandboxedProcess& process_;
  TaskCgroup* cgroup_;
  TaskResult& result_;
  LineSplitter out_lines_, err_lines_;
  StreamTail err_tail_;
  OutputPacing out_, err_;
  bool exited_ = false;
  bool term_sent_ = false;
  bool capture_truncated_ = false;
  int exit_code_ = -1;
  std::optional<SteadyTime> kill_deadline_, drain_deadline_;
  char buf_[64 * 1024];
};

TaskSupervisor::TaskSupervisor(SupervisorContext ctx, TaskRun run, std::shared_ptr<OutputSink> sink)
    : ctx_(std::move(ctx)), run_(std::move(run)), sink_(std::move(sink)) {
  cancel_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
}

TaskSupervisor::~TaskSupervisor() {
  if (cancel_fd_ >= 0) ::close(cancel_fd_);
}

void TaskSupervisor::Cancel(Duration grace) {
  grace_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(grace).count();
  cancel_requested_ = true;
  uint64_t one = 1;
  ssize_t r = ::write(cancel_fd_, &one, sizeof one);
  (void)r;
}

Result<std::unique_ptr<TaskCgroup>> TaskSupervisor::MakeCgroup() {
  if (!ctx_.cgroups || !ctx_.cgroups->any()) return std::unique_ptr<TaskCgroup>();
  auto cg = TaskCgroup::Create(*ctx_.cgroups, run_.id, run_.limits, ctx_.default_max_pids);
  if (cg.ok()) return cg;
  bool limits = run_.limits.memory_bytes || run_.limits.cpu_shares || run_.limits.max_pids;
  if (ctx_.on_cgroup_failure) ctx_.on_cgroup_failure(cg.status());
  if (limits) {
    sink_->OnLine(ctx_.clock->Now(), OutputStream::kSystem,
                  "container limits are not enforced: " + cg.status().message());
  }
  return std::unique_ptr<TaskCgroup>();
}

TaskResult TaskSupervisor::Run() {
  TaskResult result;
  SteadyTime start = ctx_.clock->SteadyNow();
  sys::SigpipeBlock sigpipe;  // writing to a closed stdin gives EPIPE
  result.error = Start(result);
  result.elapsed = ctx_.clock->SteadyNow() - start;
  return result;
}

Status TaskSupervisor::Start(TaskResult& result) {
  if (cancel_requested()) return Cancelled("task " + run_.id + " was cancelled before it started");
  if (ctx_.sandbox->isolation() == IsolationLevel::kNone) {
    sink_->OnLine(ctx_.clock->Now(), OutputStream::kSystem,
                  "WARNING: running without a sandbox (--unsafe-no-sandbox): this task can see "
                  "and change the whole machine");
  }
  if (run_.privileged && ctx_.sandbox->isolation() != IsolationLevel::kNone) {
    sink_->OnLine(ctx_.clock->Now(), OutputStream::kSystem,
                  "privileged: this task runs as the host's root user (privileged: true), not in "
                  "a user namespace; only the masked paths are hidden from it");
  }
  if (std::string notice = ctx_.sandbox->RootNotice(run_); !notice.empty()) {
    sink_->OnLine(ctx_.clock->Now(), OutputStream::kSystem, notice);
  }
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<TaskCgroup> cgroup, MakeCgroup());
  OwnedFd out_r, out_w, err_r, err_w, in_r, in_w;
  BATON_RETURN_IF_ERROR(OpenOutputPipe(&out_r, &out_w));
  BATON_RETURN_IF_ERROR(OpenOutputPipe(&err_r, &err_w));
  if (run_.stdin_data) BATON_RETURN_IF_ERROR(OpenPipe(&in_r, &in_w));
  SandboxStdio stdio{in_r.fd, out_w.fd, err_w.fd};
  CgroupEntry entry = cgroup ? cgroup->Entry() : CgroupEntry{};
  BATON_ASSIGN_OR_RETURN(std::unique_ptr<SandboxedProcess> process,
                         ctx_.sandbox->StartInCgroups(run_, stdio, entry, nullptr));
  in_r.Close();
  out_w.Close();
  err_w.Close();
  Pump pump(*this, *process, cgroup.get(), result);
  std::swap(pump.out.fd, out_r.fd);
  std::swap(pump.err.fd, err_r.fd);
  std::swap(pump.in.fd, in_w.fd);
  if (run_.stdin_data) pump.in_data = *run_.stdin_data;
  result.exit_code = pump.Run();
  result.oom_killed = cgroup && cgroup->OomKilled();
  if (result.oom_killed) {
    sink_->OnLine(ctx_.clock->Now(), OutputStream::kSystem,
                  "the task was killed: out of memory (limit " +
                      std::to_string(run_.limits.memory_bytes.value_or(0)) + " bytes)");
  }
  // The process goes at the end of this scope; the groups after it, with the supervisor or with
  // whoever takes them (TakeCgroup).
  cgroup_ = std::move(cgroup);
  return Status::Ok();
}

}  // namespace baton::workers
