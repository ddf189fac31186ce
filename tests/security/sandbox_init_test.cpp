// Issue 16, the sandbox's init: once its task has started, PID 1 of a sandbox is the small init
// program (workers/src/sandbox/sandbox_init.c), not a copy of the worker. A task can neither
// signal it away nor run it; it holds none of the worker's memory or descriptors; signals sent
// to the sandbox still reach the task, and the task's status is the sandbox's.
// Real namespaces (root).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "fakes/test_env.h"
#include "security/network_stacks.h"
#include "workers/task_test_util.h"

namespace baton::testing {
namespace {

using workers::TaskRun;

class SandboxInit : public SandboxedWorkerFixture {};

// What /proc/1 shows a task: the worker's command line (a server's flags) was there for the whole
// task when the init was a copy of the worker. Now only until the init has executed the small one,
// which it does right after starting the task (the task may run first for a moment).
TEST_F(SandboxInit, ATaskSeesTheSmallInitAsPid1NotACopyOfTheWorker) {
  auto f =
      Sh("i=0; while [ $i -lt 500 ]; do c=$(tr '\\0' ' ' < /proc/1/cmdline); "
         "case \"$c\" in baton-init*) break;; esac; i=$((i+1)); sleep 0.01; done; "
         "echo \"$c\"; cat /proc/1/comm");
  ASSERT_EQ(f.result.exit_code, 0) << f.sink->Text();
  std::string out = f.sink->Text();
  EXPECT_EQ(out.rfind("baton-init ", 0), 0u) << out;
  EXPECT_NE(out.find("\nbaton-init\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("security_tests"), std::string::npos) << out;
}

TEST_F(SandboxInit, ATaskCannotKillStopOrRunItsInit) {
  auto f =
      Sh("kill -KILL 1; kill -STOP 1; /proc/1/exe 2 2>/dev/null; echo exe=$?; "
         "grep State /proc/1/status; echo alive");
  EXPECT_EQ(f.result.exit_code, 0) << f.sink->Text();
  std::string out = f.sink->Text();
  EXPECT_EQ(out.find("exe=0"), std::string::npos) << out;
  EXPECT_EQ(out.find("stopped"), std::string::npos) << out;
  EXPECT_NE(out.find("alive"), std::string::npos) << out;
}

// Listed by `ls`, a process of its own, straight to the task's output (a pipe's or a file's end
// would be the shell's too; the shell's own glob would list the descriptor it reads the directory
// with, on 0 when the shell had no stdin, as tasks without input had until 2026-12-05).
TEST_F(SandboxInit, ATaskHoldsOnlyItsStdio) {
  auto f = Sh("ls /proc/$$/fd");
  EXPECT_EQ(f.result.exit_code, 0);
  EXPECT_EQ(f.sink->Text(), "0\n1\n2\n");
}

// The init's process, seen from the host while its task runs.
class SandboxInitProcess : public OwnSandboxTest {
 protected:
  // Starts `script` with its stdin and stdout on pipes of this test.
  std::unique_ptr<workers::SandboxedProcess> Start(const std::string& script) {
    int in[2], out[2];
    EXPECT_EQ(::pipe2(in, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
    TaskRun run = ShellTask("t" + std::to_string(++count_), script, (dir_ / "work").string());
    run.network = false;
    auto started = sandbox_->Start(run, workers::SandboxStdio{in[0], out[1], null_}, nullptr);
    ::close(in[0]);
    ::close(out[1]);
    stdin_ = in[1];
    stdout_ = out[0];
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    return started.ok() ? std::move(*started) : nullptr;
  }
  void TearDown() override {
    if (stdin_ >= 0) ::close(stdin_);
    if (stdout_ >= 0) ::close(stdout_);
    OwnSandboxTest::TearDown();
  }
  // The task's output until it has written `line` (within 10 s).
  std::string ReadUntil(const std::string& line) {
    std::string got;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (got.find(line) == std::string::npos && std::chrono::steady_clock::now() < deadline) {
      pollfd p{stdout_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      ssize_t n = ::read(stdout_, buf, sizeof buf);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    return got;
  }

  int stdin_ = -1;
  int stdout_ = -1;
};

TEST_F(SandboxInitProcess, TheInitHoldsNoCopyOfTheWorkersMemory) {
  auto process = Start("echo ready; read line");
  ASSERT_NE(process, nullptr);
  ASSERT_NE(ReadUntil("ready").find("ready"), std::string::npos);
  // The task may print before its init has executed the small init and named itself (the exec
  // names it memfd:baton-ini first): what is looked at below is the small init's.
  const std::string status_file = "/proc/" + std::to_string(process->pid()) + "/status";
  std::string status;
  ASSERT_TRUE(Eventually([&] {
    status = ReadFile(status_file);
    return status.find("Name:\tbaton-init\n") != std::string::npos;
  })) << status;
  size_t rss = status.find("VmRSS:");
  ASSERT_NE(rss, std::string::npos) << status;
  EXPECT_LT(std::stol(status.substr(rss + 6)), 1024) << status;  // kB; a copy of this test: MBs
  std::string fds;  // none: the task's stdio, the worker's pipes and namespaces stay out of it
  for (const auto& e :
       std::filesystem::directory_iterator("/proc/" + std::to_string(process->pid()) + "/fd")) {
    fds += e.path().filename().string() + " -> " +
           std::filesystem::read_symlink(e.path()).string() + "\n";
  }
  EXPECT_EQ(fds, "");
  ::close(stdin_);
  stdin_ = -1;
  EXPECT_EQ(process->Wait(), 1);  // `read` at the end of its input
}

TEST_F(SandboxInitProcess, ASignalToTheSandboxReachesTheTask) {
  auto process = Start("trap 'exit 7' TERM; echo ready; while :; do sleep 0.01; done");
  ASSERT_NE(process, nullptr);
  ASSERT_NE(ReadUntil("ready").find("ready"), std::string::npos);
  process->Signal(SIGTERM);
  EXPECT_EQ(process->Wait(), 7);
}

// A caller that places the process before it starts gets the init as a copy of the worker that
// waits for `before_start` (it cannot share the worker's memory meanwhile); it still becomes the
// small init once the task has started.
TEST_F(SandboxInitProcess, AnInitPlacedBeforeItStartsStillRunsTheTask) {
  int in[2];
  ASSERT_EQ(::pipe2(in, O_CLOEXEC), 0);
  stdin_ = in[1];
  TaskRun run = ShellTask("placed", "read line; exit 3", (dir_ / "work").string());
  run.network = false;
  pid_t placed = -1;
  auto started = sandbox_->Start(run, workers::SandboxStdio{in[0], null_, null_}, [&](pid_t pid) {
    placed = pid;
    return Status::Ok();
  });
  ::close(in[0]);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ(placed, (*started)->pid());
  std::string status = ReadFile("/proc/" + std::to_string(placed) + "/status");
  size_t rss = status.find("VmRSS:");  // the small init's, not a copy of this test's
  ASSERT_NE(rss, std::string::npos) << status;
  EXPECT_LT(std::stol(status.substr(rss + 6)), 1024) << status;
  ::close(stdin_);
  stdin_ = -1;
  EXPECT_EQ((*started)->Wait(), 3);
}

TEST_F(SandboxInitProcess, ATaskKilledBySignalIsReportedAsAShellWould) {
  auto process = Start("echo ready; kill -KILL $$");
  ASSERT_NE(process, nullptr);
  EXPECT_EQ(process->Wait(), 128 + SIGKILL);
}

}  // namespace
}  // namespace baton::testing
