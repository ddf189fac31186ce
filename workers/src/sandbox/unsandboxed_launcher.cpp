// The launcher of --unsafe-no-sandbox: the task as a plain host process, started with
// Boost.Process, in its own process group and in its cgroups before it runs anything of its own.
#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process/child.hpp>
#include <boost/process/exe.hpp>
#include <boost/process/extend.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "baton/workers/sandbox.h"
#include "sandbox/child_plan.h"
#include "sandbox/child_process.h"
#include "sandbox/sys_util.h"

namespace baton::workers {
namespace {

namespace bp = boost::process;
namespace fs = std::filesystem;
using sandbox::ChildError;
using sandbox::PreparedChild;

// Where the forked child failed. Boost.Process passes only the error's value from the child to
// the parent, so the failure point rides in it above errno (which stays below kPointUnit).
constexpr int kPointUnit = 1 << 16;
enum LaunchPoint : int { kAtExec = 0, kAtCgroup, kAtStdio, kAtUser, kAtDir };

ChildError DecodeChildError(int value) {
  int err = value % kPointUnit;
  switch (value / kPointUnit) {
    case kAtCgroup:
      return ChildError{sandbox::kFailCgroup, err};
    case kAtStdio:
      return ChildError{sandbox::kFailStdio, err};
    case kAtUser:
      return ChildError{sandbox::kFailUser, err};
    case kAtDir:
      return ChildError{sandbox::kFailDir, err};
    default:  // Boost.Process's own execve failure
      return ChildError{sandbox::kFailExec, err};
  }
}

// Sets up the forked child before exec, as the sandbox's child does for itself: the plan's
// argv, environment and user, its own process group, its cgroups first, stdio, default signals,
// the work dir. Runs between fork and exec of a multi-threaded process: system calls only.
struct TaskSetup : bp::extend::handler {
  const sandbox::ChildPlan* plan = nullptr;
  const char* exe = nullptr;
  int unified_fd = -1;
  const char* unified_procs = nullptr;

  template <typename Executor>
  void on_setup(Executor& exec) const {
    exec.exe = exe;
    exec.cmd_line = plan->argv.data();
    exec.env = const_cast<char**>(plan->envp.data());
  }

  template <typename Executor>
  void on_exec_setup(Executor& exec) const {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::setpgid(0, 0);
    JoinCgroups(exec);
    int in = plan->stdin_fd >= 0 ? plan->stdin_fd : ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in < 0 || ::dup2(in, 0) < 0 || ::dup2(plan->stdout_fd, 1) < 0 ||
        ::dup2(plan->stderr_fd, 2) < 0) {
      Fail(exec, kAtStdio);
    }
    struct sigaction dfl;
    std::memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (plan->set_user &&
        (::setgroups(1, &plan->gid) != 0 || ::setgid(plan->gid) != 0 || ::setuid(plan->uid) != 0)) {
      Fail(exec, kAtUser);
    }
    if (::chdir(plan->dir) != 0) Fail(exec, kAtDir);
    ::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);  // the worker's descriptors
  }

  // In the parent, when the launch failed: the child has exited (see Fail); reap it.
  template <typename Executor>
  void on_error(Executor& exec, const std::error_code&) const {
    if (exec.pid > 0) ::waitpid(exec.pid, nullptr, 0);
  }

  // Writing "0" moves the writer itself (no global lock, unlike moving another process).
  template <typename Executor>
  void JoinCgroups(Executor& exec) const {
    int fd = unified_fd >= 0 ? ::openat(unified_fd, "cgroup.procs", O_WRONLY | O_CLOEXEC)
             : unified_procs ? ::open(unified_procs, O_WRONLY | O_CLOEXEC)
                             : -2;
    if (fd == -1 || (fd >= 0 && ::write(fd, "0", 1) != 1)) Fail(exec, kAtCgroup);
    if (fd >= 0) ::close(fd);
    for (const char* tasks : plan->cgroup_tasks) {
      fd = ::open(tasks, O_WRONLY | O_CLOEXEC);
      if (fd < 0 || ::write(fd, "0", 1) != 1) Fail(exec, kAtCgroup);
      ::close(fd);
    }
  }

  // Boost.Process's set_error only reports the error to the parent; the child must not go on.
  template <typename Executor>
  [[noreturn]] static void Fail(Executor& exec, LaunchPoint point) {
    exec.set_error(std::error_code(point * kPointUnit + errno, std::system_category()), "");
    ::_exit(127);
  }
};

// The executable execve will be given: the plan's path, or the first match in its PATH
// directories (relative ones taken from the task's dir). An error as the child would report it.
Result<std::string> ResolveExecutable(const PreparedChild& child) {
  const sandbox::ChildPlan& p = child.plan;
  if (!p.search_path) return std::string(p.exec_path);
  int err = ENOENT;
  for (const char* dir : p.path_dirs) {
    std::string base = dir[0] == '/' ? dir : std::string(p.dir) + "/" + dir;
    std::string candidate = base + "/" + p.exec_path;
    struct stat st;
    if (::stat(candidate.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    err = EACCES;
  }
  return sandbox::DescribeChildError(child, ChildError{sandbox::kFailExec, err});
}

class UnsandboxedLauncher : public Sandbox {
 public:
  IsolationLevel isolation() const override { return IsolationLevel::kNone; }

  Result<std::unique_ptr<SandboxedProcess>> StartInCgroups(
      const TaskRun& original, const SandboxStdio& stdio, const CgroupEntry& cgroups,
      const std::function<Status(pid_t)>& before_start) override {
    TaskRun run = original;
    if (run.work_dir.empty()) return InvalidArgument("task has no work dir");
    // Paths the task was told about (under the work mount) are the work dir itself here.
    std::string mount = WorkMountFor(run);
    if (sys::IsSameOrUnder(run.dir, mount)) run.dir = run.work_dir + run.dir.substr(mount.size());
    BATON_RETURN_IF_ERROR(LinkVolumes(run));
    PreparedChild child;
    child.plan.sandboxed = false;
    BATON_RETURN_IF_ERROR(sandbox::PrepareTask(run, run.work_dir, "/", &child));
    child.plan.stdin_fd = stdio.stdin_fd;
    child.plan.stdout_fd = stdio.stdout_fd;
    child.plan.stderr_fd = stdio.stderr_fd;
    for (const auto& tasks : cgroups.v1_tasks) {
      child.plan.cgroup_tasks.push_back(child.strings.Keep(tasks));
      child.cgroup_description += (child.cgroup_description.empty() ? "" : ", ") + tasks;
    }
    if (!cgroups.unified_procs.empty()) {
      child.cgroup_description +=
          (child.cgroup_description.empty() ? "" : ", ") + cgroups.unified_procs;
    }
    BATON_ASSIGN_OR_RETURN(std::string exe, ResolveExecutable(child));
    TaskSetup setup;
    setup.plan = &child.plan;
    setup.exe = exe.c_str();
    setup.unified_fd = cgroups.unified_fd;
    setup.unified_procs = cgroups.unified_procs.empty() ? nullptr : cgroups.unified_procs.c_str();
    std::error_code ec;
    bp::child launched(bp::exe = exe, setup, ec);
    if (ec) {
      return sandbox::DescribeChildError(child, DecodeChildError(ec.value()));
    }
    pid_t pid = launched.id();
    launched.detach();  // the ChildProcess waits for it from now on
    auto process = std::make_unique<sandbox::ChildProcess>(pid, /*group=*/true);
    // Nothing to hold the task back here: it runs already (fork and exec are one step in
    // Boost.Process), so `before_start` comes right after the exec.
    if (before_start) BATON_RETURN_IF_ERROR(before_start(pid));
    return std::unique_ptr<SandboxedProcess>(std::move(process));
  }

 private:
  // Without mounts, volumes under the work dir become symlinks.
  static Status LinkVolumes(const TaskRun& run) {
    for (const auto& m : run.mounts) {
      if (!m.sandbox_path.empty() && m.sandbox_path[0] == '/') {
        return FailedPrecondition("volume " + m.host_path + " needs a mount at " + m.sandbox_path +
                                  ", which is impossible without a sandbox");
      }
      fs::path link = fs::path(run.work_dir) / m.sandbox_path;
      std::error_code ec;
      if (fs::exists(fs::symlink_status(link, ec))) continue;
      fs::create_directories(link.parent_path(), ec);
      fs::create_symlink(m.host_path, link, ec);
      if (ec) return IoError("linking volume " + link.string() + ": " + ec.message());
    }
    return Status::Ok();
  }
};

}  // namespace

std::unique_ptr<Sandbox> MakeUnsandboxedLauncher() {
  return std::make_unique<UnsandboxedLauncher>();
}

}  // namespace baton::workers
