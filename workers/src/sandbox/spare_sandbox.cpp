#include "sandbox/spare_sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "sandbox/child_process.h"
#include "sandbox/spawn.h"
#include "sandbox/sys_util.h"

namespace baton::workers::sandbox {
namespace {

// The init's "r" and the descriptor it carries (the task's error pipe), if it has sent them: an
// invalid descriptor while it has not (a spare still being made is never waited for: the task
// builds its sandbox meanwhile, as fast as waiting would be, beside a task that runs).
Result<ScopedFd> ReceiveReady(int sock) {
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  msghdr msg = sys::OneByteMessage(&iov, control, sizeof control);
  ssize_t n;
  while ((n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT)) < 0 && errno == EINTR) {
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return ScopedFd();
  if (n < 0) return sys::ErrnoStatus("waiting for a spare sandbox", errno);
  int fd = -1;
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (n == 1 && c != nullptr && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
      c->cmsg_len == CMSG_LEN(sizeof(int))) {
    std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
  }
  ScopedFd out(fd);
  if (n == 0) return Unavailable("the spare sandbox exited before it was ready");
  if (byte != 'r' || fd < 0) return Unavailable("the spare sandbox sent something unexpected");
  return out;
}

// The CPUs this process may run on.
size_t UsableCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  return static_cast<size_t>(std::max(1, CPU_COUNT(&set)));
}

// How a child that was waited for (its wait `status`) ended: the error it reported on `errors_fd`;
// else, unless `any_exit` (it was told to go: then its exit is no failure), one for an exit other
// than 0 ("`what` exited with N"); else Ok.
Status HowItEnded(const PreparedChild& child, int errors_fd, int status, const char* what,
                  bool any_exit = false) {
  ChildError e;
  if (ReadChildError(errors_fd, &e)) return DescribeChildError(child, e);
  if (any_exit || (WIFEXITED(status) && WEXITSTATUS(status) == 0)) return Status::Ok();
  return FailedPrecondition(std::string(what) + " exited with " +
                            std::to_string(ExitCodeOf(status)));
}

Status SendGo(int sock, const std::vector<int>& fds) {
  char byte = 'g';
  iovec iov{&byte, 1};
  std::vector<char> control(CMSG_SPACE(sizeof(int) * fds.size()));
  msghdr msg = sys::OneByteMessage(&iov, fds.empty() ? nullptr : control.data(),
                                   fds.empty() ? 0 : control.size());
  if (!fds.empty()) {
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n;
  while ((n = ::sendmsg(sock, &msg, MSG_NOSIGNAL)) < 0 && errno == EINTR) {
  }
  if (n != 1) return sys::ErrnoStatus("starting the task in its sandbox", n < 0 ? errno : EIO);
  return Status::Ok();
}

}  // namespace

// One spare: its init's plan and the socket it waits on. The init shares the worker's memory
// (CloneSpare) and reads `plan` and, once told to go, the task's plan `plan.plan.task` points to.
struct SpareSandboxes::Spare::State {
  PreparedChild plan;
  std::shared_ptr<const ScopedFd> root;  // the shared root it copies
  ScopedFd go;                           // the worker's end of the socket
  pid_t pid = 0;                         // written by the clone (CLONE_PARENT_SETTID)
  std::mutex mu;
  bool taken = false;     // GUARDED_BY(mu): a Spare owns the init (and reaps it)
  bool returned = false;  // GUARDED_BY(mu): the clone returned: the init exec'd or exited
  bool dropped = false;   // GUARDED_BY(mu): told to go (stopped, or made on an old root)

  // Tells its init to exit (the end of its socket), ready or not.
  void Drop() {
    std::lock_guard lock(mu);
    dropped = true;
    ::shutdown(go.get(), SHUT_RDWR);
  }
};

SpareSandboxes::SpareSandboxes(RootSource root, int init_fd, int userns_fd, bool probe_first)
    : root_(std::move(root)),
      init_fd_(init_fd),
      userns_fd_(userns_fd),
      probe_first_(probe_first),
      cpus_(UsableCpus()) {}

std::unique_ptr<SpareSandboxes::RunningTask> SpareSandboxes::Count(
    const std::shared_ptr<SpareSandboxes>& spares) {
  spares->TaskStarted();
  return std::make_unique<RunningTask>(spares);
}

SpareSandboxes::RunningTask::~RunningTask() {
  if (auto spares = spares_.lock()) spares->TaskEnded();
}

void SpareSandboxes::TaskStarted() {
  std::lock_guard lock(mu_);
  last_started_alone_ = running_ == 0;
  ++running_;
}

void SpareSandboxes::TaskEnded() {
  std::lock_guard lock(mu_);
  if (running_ > 0) --running_;
  // Woken only when it would make one, not at each task's end for nothing.
  if (WantsSpare()) wake_.notify_one();
}

bool SpareSandboxes::WantsSpare() const {
  return !stopping_ && !current_ && why_not_.empty() && running_ + 1 < cpus_ && last_started_alone_;
}

SpareSandboxes::~SpareSandboxes() {
  Stop();
  std::thread thread;
  {
    std::lock_guard lock(mu_);
    thread = std::move(thread_);
  }
  if (thread.joinable()) thread.join();
}

void SpareSandboxes::Start() {
  std::lock_guard lock(mu_);
  if (started_ || stopping_) return;
  started_ = true;
  // At once, not at the first task: a thread started then came up too late for the second task
  // (W1 1.013, a one-job run 1.013 against this, 60 alternated pairs).
  thread_ = std::thread([this] { Run(); });
}

void SpareSandboxes::Stop() {
  std::lock_guard lock(mu_);
  stopping_ = true;
  // Its init, waiting for a task (or soon), sees the socket end and exits.
  if (current_) current_->Drop();
  wake_.notify_all();
  made_.notify_all();
}

Status SpareSandboxes::AwaitFirst(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::shared_ptr<Spare::State> first;
  {
    std::unique_lock lock(mu_);
    made_.wait_until(lock, deadline,
                     [&] { return stopping_ || current_ || missed_ || !why_not_.empty(); });
    if (!why_not_.empty()) return FailedPrecondition(why_not_);
    if (stopping_) return Cancelled("the sandbox stopped making spares");
    if (missed_ && !current_) return Unavailable("the shared root changed as it was made");
    if (!current_) {
      return Unavailable("no spare sandbox was made within " + std::to_string(timeout.count()) +
                         " ms");
    }
    first = current_;
  }
  // Ready once its "r" is there: looked at, not taken (Take takes it with its descriptor).
  pollfd p{first->go.get(), POLLIN, 0};
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    int n = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return Unavailable("the first spare sandbox was not ready within " +
                         std::to_string(timeout.count()) + " ms");
    }
    break;
  }
  char byte = 0;
  ssize_t got;
  while ((got = ::recv(first->go.get(), &byte, 1, MSG_PEEK | MSG_DONTWAIT)) < 0 && errno == EINTR) {
  }
  if (got == 1 && byte == 'r') return Status::Ok();
  // It exited before it was ready: its thread reaps it and says why.
  std::unique_lock lock(mu_);
  made_.wait_until(lock, deadline, [&] { return stopping_ || !why_not_.empty(); });
  return FailedPrecondition(why_not_.empty() ? "the first spare sandbox exited before it was ready"
                                             : why_not_);
}

std::string SpareSandboxes::why_not() const {
  std::lock_guard lock(mu_);
  return why_not_;
}

bool SpareSandboxes::Fits(const TaskRun& run, const SandboxStdio& stdio,
                          const CgroupEntry& cgroups) {
  // Stdio, the network, the group and the work dir, with room to spare.
  return stdio.stdout_fd >= 0 && stdio.stderr_fd >= 0 &&
         (cgroups.unified_fd >= 0 || cgroups.unified_procs.empty()) &&
         run.mounts.size() + cgroups.v1_tasks.size() + 8 <= kMaxGoFds;
}

void SpareSandboxes::Run() {
  // Woken as a task ends, on the CPU whose supervisor is still reporting that end: as a normal
  // thread this one preempted it there (the report ~0.1 ms later at the 90th percentile of W1's
  // gaps). A batch thread does not preempt on waking: it takes the idle CPU or waits for the
  // report's thread to sleep (W1 0.979, 600 alternated pairs of one binary, docs/benchmarks.md).
  // Its clones inherit the policy: a spare's init sets the normal one again before it clones its
  // task (RunSpareChild).
  sched_param param{};
  ::sched_setscheduler(0, SCHED_BATCH, &param);  // a failure leaves it as it was
  for (;;) {
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [&] { return stopping_ || WantsSpare(); });
      if (stopping_) return;
    }
    MakeOne();
  }
}

Status SpareSandboxes::Probe(PreparedChild& child) {
  int errors[2];
  if (::pipe2(errors, O_CLOEXEC) != 0) return sys::ErrnoStatus("probing the sandbox", errno);
  ScopedFd errors_read(errors[0]), errors_write(errors[1]);
  child.plan.error_fd = errors_write.get();
  pid_t pid = CloneProbe(child.plan);  // back once it executed the small init, or exited
  int clone_err = errno;
  child.plan.error_fd = -1;
  errors_write = ScopedFd();
  if (pid < 0) return sys::ErrnoStatus("cloning the sandbox's probe", clone_err);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return HowItEnded(child, errors_read.get(), status, "the sandbox's probe");
}

void SpareSandboxes::MakeOne() {
  auto fail = [&](const std::string& why) {
    std::lock_guard lock(mu_);
    why_not_ = why;
    current_.reset();
    made_.notify_all();
  };
  // None for now: a masked path went as the root was made (the next try reads the masks again),
  // or a first failure to make it (shared_root.h).
  Result<std::shared_ptr<const ScopedFd>> root = root_();
  for (int tries = 1; tries < 3 && root.ok() && !*root; ++tries) root = root_();
  if (!root.ok()) {
    fail(root.status().message());
    return;
  }
  if (!*root) {  // none still: tried again once a task that starts alone has ended
    std::lock_guard lock(mu_);
    last_started_alone_ = false;
    missed_ = true;
    made_.notify_all();
    return;
  }
  auto state = std::make_shared<Spare::State>();
  state->root = *root;
  int sockets[2], errors[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sockets) != 0) {
    fail(sys::ErrnoText(errno));
    return;
  }
  state->go = ScopedFd(sockets[0]);
  ScopedFd child_go(sockets[1]);
  if (::pipe2(errors, O_CLOEXEC) != 0) {
    fail(sys::ErrnoText(errno));
    return;
  }
  ScopedFd errors_read(errors[0]), errors_write(errors[1]);
  ChildPlan& plan = state->plan.plan;
  PrepareCommonTaskMounts(&state->plan);
  plan.sandboxed = true;
  plan.init_fd = init_fd_;
  plan.userns_fd = userns_fd_;
  plan.shared_root_fd = state->root->get();
  plan.new_root = "/";
  bool probe;
  {
    std::lock_guard lock(mu_);
    probe = std::exchange(probe_first_, false);
  }
  if (probe) {
    Status probed = Probe(state->plan);
    if (!probed.ok()) {
      fail(probed.message());
      return;
    }
  }
  plan.go_fd = child_go.get();
  plan.error_fd = errors_write.get();
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    current_ = state;
    made_.notify_all();
  }
  // This thread waits here until the init has executed its task's small init, or exited.
  pid_t pid = CloneSpare(plan, CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS, &state->pid);
  int clone_err = errno;
  child_go = ScopedFd();
  errors_write = ScopedFd();
  bool reap, dropped;
  {
    std::lock_guard lock(state->mu);
    state->returned = true;
    reap = !state->taken;
    dropped = state->dropped;
  }
  if (pid < 0) {
    fail("cannot clone a spare sandbox: " + sys::ErrnoText(clone_err));
    return;
  }
  if (!reap) return;  // its Spare owns it
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  {
    std::lock_guard lock(mu_);
    if (current_ == state) current_.reset();
  }
  // Exited on its own (a failure to build it, or killed): no more spares; tasks build their own.
  Status exited = HowItEnded(state->plan, errors_read.get(), status, "a spare sandbox", dropped);
  if (!exited.ok()) fail(exited.message());
}

std::unique_ptr<SpareSandboxes::Spare> SpareSandboxes::Take(
    const std::shared_ptr<const ScopedFd>& root) {
  std::shared_ptr<Spare::State> state;
  Result<ScopedFd> errors = ScopedFd();
  {
    std::lock_guard lock(mu_);
    if (!current_ || stopping_) return nullptr;
    if (current_->root != root) {  // the masks changed since: made again on the new root
      current_->Drop();
      return nullptr;
    }
    errors = ReceiveReady(current_->go.get());
    // Not ready yet: left for the next task. Failed: the thread reaps it and says why.
    if (!errors.ok() || errors->get() < 0) return nullptr;
    state = std::move(current_);
    current_.reset();
  }
  {
    std::lock_guard lock(state->mu);
    if (state->returned) return nullptr;  // exited meanwhile (killed): the thread reaped it
    state->taken = true;
  }
  auto process = std::make_unique<ChildProcess>(state->pid, /*group=*/false);
  return std::unique_ptr<Spare>(
      new Spare(std::move(state), std::move(*errors), std::move(process)));
}

SpareSandboxes::Spare::Spare(std::shared_ptr<State> state, ScopedFd errors,
                             std::unique_ptr<ChildProcess> process)
    : state_(std::move(state)), errors_(std::move(errors)), process_(std::move(process)) {}

SpareSandboxes::Spare::~Spare() = default;  // an unstarted init is killed and reaped

Result<std::unique_ptr<SandboxedProcess>> SpareSandboxes::Spare::Start(PreparedChild& child,
                                                                       const SandboxStdio& stdio,
                                                                       const CgroupEntry& cgroups) {
  ChildPlan& t = child.plan;
  std::vector<int> fds;
  std::vector<ScopedFd> trees;  // cloned here, in the worker's mount namespace
  t.go_targets.clear();
  auto give = [&](int fd, int* target) {
    fds.push_back(fd);
    t.go_targets.push_back(target);
  };
  if (stdio.stdin_fd >= 0) give(stdio.stdin_fd, &t.stdin_fd);
  t.stdin_fd = -1;
  give(stdio.stdout_fd, &t.stdout_fd);
  give(stdio.stderr_fd, &t.stderr_fd);
  if (t.netns_fd >= 0) give(t.netns_fd, &t.netns_fd);
  if (cgroups.unified_fd >= 0) give(cgroups.unified_fd, &t.task_cgroup_fd);
  // The v1 groups: the task writes itself into each before it executes (RunTask), through a
  // descriptor the go carries (opened here for a group the entry gives by path only).
  std::vector<ScopedFd> opened;
  AddCgroupEntry(cgroups, child);
  for (size_t i = 0; i < t.cgroup_tasks.size(); ++i) {
    if (t.cgroup_tasks_fds[i] < 0) {
      opened.emplace_back(::open(t.cgroup_tasks[i], O_WRONLY | O_CLOEXEC));
      if (opened.back().get() < 0) return DescribeChildError(child, ChildError{kFailCgroup, errno});
      t.cgroup_tasks_fds[i] = opened.back().get();
    }
    give(t.cgroup_tasks_fds[i], &t.cgroup_tasks_fds[i]);
  }
  t.task_joins_cgroups = !t.cgroup_tasks.empty();
  for (size_t i = 0; i < t.steps.size(); ++i) {
    const SetupStep& s = t.steps[i];
    if (s.kind != StepKind::kBindBeneath) continue;
    ScopedFd tree(CloneTree(s, t.userns_fd));
    if (tree.get() < 0) return DescribeChildError(child, ChildError{static_cast<int>(i), errno});
    give(tree.get(), &s.tree_fd);
    trees.push_back(std::move(tree));
  }
  state_->plan.plan.task = &t;
  // The go wakes the init on this thread's CPU, where it runs once this thread waits below and
  // clones the task (ChildPlan's `cpus`); the task unpins it.
  t.pinned = sys::PinToCallersCpu(state_->pid, &t.cpus);
  BATON_RETURN_IF_ERROR(SendGo(state_->go.get(), fds));
  trees.clear();
  opened.clear();
  ChildError e;
  bool failed = ReadChildError(errors_.get(), &e);
  errors_ = ScopedFd();
  if (failed) {
    process_->Wait();
    return DescribeChildError(child, e);
  }
  process_->HoldMountNamespace();
  return std::unique_ptr<SandboxedProcess>(std::move(process_));
}

}  // namespace baton::workers::sandbox
