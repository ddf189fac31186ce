// Issue 16, what a task starts with: the sandbox's child makes as few system calls as it can
// between the clone and the task's exec (capabilities dropped only up to the kernel's last one,
// signal dispositions reset by the kernel where it can), and the task still starts with the
// bounding set of its kind and every signal at its default, none blocked. The task here is `cat`
// of its own /proc/self/status: it sets no disposition of its own, so it shows what it started
// with (an ignored signal and the blocked mask survive exec). Real sandboxes (root).
#include <linux/capability.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "fakes/test_env.h"
#include "workers/task_test_util.h"

namespace baton::testing {
namespace {

using workers::TaskRun;

// Docker's default set, which an unprivileged task keeps (task_plan.cpp).
uint64_t DefaultCapabilities() {
  const int caps[] = {
      CAP_CHOWN,      CAP_DAC_OVERRIDE, CAP_FOWNER,  CAP_FSETID,           CAP_KILL,
      CAP_SETGID,     CAP_SETUID,       CAP_SETPCAP, CAP_NET_BIND_SERVICE, CAP_NET_RAW,
      CAP_SYS_CHROOT, CAP_AUDIT_WRITE,  CAP_SETFCAP};
  uint64_t mask = 0;
  for (int c : caps) mask |= uint64_t{1} << c;
  return mask;
}

// The value of `field` ("CapBnd") in a /proc/<pid>/status text, as a number; ~0 if absent.
uint64_t StatusMask(const std::string& status, const std::string& field) {
  std::istringstream lines(status);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(field + ":", 0) == 0) return std::stoull(line.substr(field.size() + 1), 0, 16);
  }
  return ~uint64_t{0};
}

// The kernel's own sigaction, for signals 32 and 33 that glibc's wrapper refuses.
struct KernelSigaction {
  void* handler;
  unsigned long flags;
  void* restorer;
  uint64_t mask;
};

// The worker's signal dispositions for a test's length: SIGPIPE, SIGHUP and real-time signals
// ignored (as in a server started by nohup, or one that ignores SIGPIPE; CI's runner started the
// suite with signal 32 ignored), SIGUSR1 and SIGTERM handled. A task must start with none of
// them: an ignored signal would stay ignored across its exec, and a handler of the worker must
// never run in the task's process before it.
class WorkerDispositions {
 public:
  WorkerDispositions() {
    Set(SIGPIPE, SIG_IGN);
    Set(SIGHUP, SIG_IGN);
    Set(SIGRTMIN + 3, SIG_IGN);
    Set(SIGUSR1, Handler);
    Set(SIGTERM, Handler);
    for (int sig : {32, 33}) {  // glibc's, below SIGRTMIN: only the system call sets them
      KernelSigaction ign{};
      ign.handler = reinterpret_cast<void*>(SIG_IGN);
      KernelSigaction old{};
      EXPECT_EQ(::syscall(SYS_rt_sigaction, sig, &ign, &old, sizeof old.mask), 0);
      saved_raw_.emplace_back(sig, old);
    }
  }
  ~WorkerDispositions() {
    for (const auto& [sig, old] : saved_) ::sigaction(sig, &old, nullptr);
    for (const auto& [sig, old] : saved_raw_) {
      ::syscall(SYS_rt_sigaction, sig, &old, nullptr, sizeof old.mask);
    }
  }

 private:
  static void Handler(int) {}
  void Set(int sig, void (*handler)(int)) {
    struct sigaction sa {};
    sa.sa_handler = handler;
    struct sigaction old {};
    ASSERT_EQ(::sigaction(sig, &sa, &old), 0);
    saved_.emplace_back(sig, old);
  }
  std::vector<std::pair<int, struct sigaction>> saved_;
  std::vector<std::pair<int, KernelSigaction>> saved_raw_;
};

class TaskStartState : public SandboxedWorkerFixture {
 protected:
  // The task's own /proc/self/status, read by `cat` as the task itself.
  std::string TaskStatus(TaskRun run = {}) {
    run.id = "t" + std::to_string(++counter_);
    run.path = "/bin/cat";
    run.args = {"/proc/self/status"};
    run.work_dir = work_dir_;
    auto f = RunAndWait(*worker_, run);
    EXPECT_EQ(f.result.exit_code, 0) << f.sink->Text();
    return f.sink->Text();
  }
};

TEST_F(TaskStartState, AnUnprivilegedTaskKeepsTheDefaultCapabilitiesAndNothingAbove) {
  std::string status = TaskStatus();
  EXPECT_EQ(StatusMask(status, "CapBnd"), DefaultCapabilities()) << status;
  EXPECT_EQ(StatusMask(status, "CapEff"), DefaultCapabilities()) << status;
  EXPECT_EQ(StatusMask(status, "CapAmb"), 0u) << status;
}

TEST_F(TaskStartState, APrivilegedTaskKeepsTheWorkersBoundingSet) {
  TaskRun run;
  run.privileged = true;
  std::string status = TaskStatus(run);
  EXPECT_EQ(StatusMask(status, "CapBnd"), StatusMask(ReadFile("/proc/self/status"), "CapBnd"))
      << status;
}

TEST_F(TaskStartState, APrivilegedTaskStartsWithEverySignalAtItsDefaultToo) {
  WorkerDispositions worker;
  TaskRun run;
  run.privileged = true;
  std::string status = TaskStatus(run);
  EXPECT_EQ(StatusMask(status, "SigIgn"), 0u) << status;
  EXPECT_EQ(StatusMask(status, "SigBlk"), 0u) << status;
}

// The same start with a sandbox and without one (where the task is the worker's clone itself).
class EveryTaskStartState : public TaskStartState, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    unsafe_ = GetParam();
    WorkerFixture::SetUp();
  }
};

TEST_P(EveryTaskStartState, ATaskStartsWithEverySignalAtItsDefaultAndNoneBlocked) {
  WorkerDispositions worker;
  std::string status = TaskStatus();
  EXPECT_EQ(StatusMask(status, "SigIgn"), 0u) << status;
  EXPECT_EQ(StatusMask(status, "SigCgt"), 0u) << status;
  EXPECT_EQ(StatusMask(status, "SigBlk"), 0u) << status;
  if (!GetParam()) {
    EXPECT_EQ(StatusMask(status, "SigPnd"), 0u) << status;
  }
}

// A task given no input reads /dev/null: its descriptor 0 is open (before 2026-12-05 it was
// closed, and the first file the task opened became its stdin).
TEST_P(EveryTaskStartState, ATaskWithoutInputReadsDevNullAsItsStdin) {
  auto f = Sh("readlink /proc/$$/fd/0; cat; echo read=$?");
  EXPECT_EQ(f.result.exit_code, 0) << f.sink->Text();
  EXPECT_EQ(f.sink->Text(), "/dev/null\nread=0\n");
}

INSTANTIATE_TEST_SUITE_P(SandboxedOrNot, EveryTaskStartState, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Unsandboxed" : "Sandboxed"; });
}  // namespace
}  // namespace baton::testing
