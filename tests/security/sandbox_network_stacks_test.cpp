// Issue 9 and 16, the stacks behind tasks' networks: each task that is not hermetic gets a network
// namespace of its own whose stack (slirp4netns) was started ahead of it; no namespace or stack
// is ever given to a second task; a task's stack goes soon after the task, however it ends;
// a sandbox that runs only hermetic tasks starts none; none outlives the sandbox.
// Real namespaces, real slirp4netns (root).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "baton/common/path_beneath.h"
#include "baton/workers/sandbox.h"
#include "fakes/test_env.h"
#include "security/network_stacks.h"
#include "workers/task_test_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using workers::TaskRun;

// The Sandbox itself, to hold the task's pid and end it in each way.
class NetworkStackLifetime : public OwnSandboxTest {
 protected:
  std::unique_ptr<workers::SandboxedProcess> Start(const std::string& script, int out,
                                                   bool network = true) {
    TaskRun run = ShellTask("t" + std::to_string(++count_), script, (dir_ / "work").string());
    run.network = network;
    auto started = sandbox_->Start(run, workers::SandboxStdio{null_, out, null_}, nullptr);
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    return started.ok() ? std::move(*started) : nullptr;
  }
  // A running task and its network namespace, which has exactly one stack.
  std::unique_ptr<workers::SandboxedProcess> StartSleeper(std::string* netns) {
    auto process = Start("sleep 60", null_);
    if (!process) return nullptr;
    *netns = NetnsOf(process->pid());
    EXPECT_EQ(StacksServing(*netns).size(), 1u) << "the running task has its network stack";
    return process;
  }
  // Runs `script` to its end; what it printed.
  std::string Run(const std::string& script, bool network = true) {
    std::string file = (dir_ / ("out" + std::to_string(count_ + 1))).string();
    int out = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    auto process = Start(script, out, network);
    ::close(out);
    if (process) {
      EXPECT_EQ(process->Wait(), 0);
    }
    return ReadFile(file);
  }

  // A new sandbox whose stacks are `script` (a stand-in for slirp4netns, run by /bin/sh).
  void UseStandInStack(const std::string& script) {
    fs::create_directories(dir_ / "bin");
    WriteFile(dir_ / "bin" / "slirp4netns", "#!/bin/sh\n" + script);
    fs::permissions(dir_ / "bin" / "slirp4netns", fs::perms::owner_all);
    std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
    ::setenv("PATH", ((dir_ / "bin").string() + ":" + path).c_str(), 1);
    sandbox_ = workers::MakeNamespaceSandbox({(dir_ / "sandbox2").string(), {}});
    ::setenv("PATH", path.c_str(), 1);
  }
};

TEST_F(NetworkStackLifetime, TheStackIsGoneWhenTheTaskExits) {
  std::string netns = Run("readlink /proc/self/ns/net");
  ASSERT_EQ(netns.rfind("net:[", 0), 0u) << netns;
  netns.pop_back();  // its newline
  EXPECT_TRUE(Eventually([&] { return StacksServing(netns).empty(); }));
}

TEST_F(NetworkStackLifetime, TheStackIsGoneWhenTheTaskIsKilled) {
  std::string netns;
  auto process = StartSleeper(&netns);
  ASSERT_NE(process, nullptr);
  process->Signal(SIGKILL);
  EXPECT_EQ(process->Wait(), 128 + SIGKILL);
  EXPECT_TRUE(Eventually([&] { return StacksServing(netns).empty(); }));
}

TEST_F(NetworkStackLifetime, TheStackIsGoneWhenTheTaskIsDroppedWithoutWaiting) {
  std::string netns;
  auto process = StartSleeper(&netns);
  ASSERT_NE(process, nullptr);
  process.reset();
  EXPECT_TRUE(Eventually([&] { return StacksServing(netns).empty(); }));
}

// Tasks running at once and tasks one after another: never one namespace for two tasks, and
// never the worker's own. The test holds each task's namespace open, so that a freed namespace's
// inode number, which the kernel reuses, is never taken for the same namespace given twice.
TEST_F(NetworkStackLifetime, EveryTaskGetsANetworkNamespaceOfItsOwn) {
  std::set<std::string> seen = {NetnsOf(getpid())};
  std::vector<ScopedFd> held;
  auto start = [&] {
    std::string netns;
    auto process = StartSleeper(&netns);
    if (process) {
      std::string path = "/proc/" + std::to_string(process->pid()) + "/ns/net";
      held.emplace_back(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      EXPECT_GE(held.back().get(), 0) << path;
      EXPECT_TRUE(seen.insert(netns).second) << netns << " was given to a task before";
    }
    return process;
  };
  std::vector<std::unique_ptr<workers::SandboxedProcess>> running;
  for (int i = 0; i < 3; ++i) {
    running.push_back(start());
    ASSERT_NE(running.back(), nullptr);
  }
  running.clear();
  for (int i = 0; i < 4; ++i) {
    auto one = start();  // ends (killed) before the next starts
    ASSERT_NE(one, nullptr);
    one->Signal(SIGKILL);
    one->Wait();
  }
}

TEST_F(NetworkStackLifetime, ASandboxThatRunsOnlyHermeticTasksStartsNoStack) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Run("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '", false), "lo\n");
  }
  EXPECT_TRUE(OurNetworkStacks().empty());
}

// Asked to prepare (a worker about to run a pipeline), the sandbox starts stacks before any task
// asks; the first task gets one of those, and a sandbox never asked starts none (above).
TEST_F(NetworkStackLifetime, APreparedSandboxHasStacksUpBeforeTheFirstTask) {
  sandbox_->PrepareNetworks();
  ASSERT_TRUE(Eventually([] { return OurNetworkStacks().size() == 1; }))
      << "the network made ahead, with no task yet";
  const std::vector<pid_t> ahead = OurNetworkStacks();
  std::string netns;
  auto process = StartSleeper(&netns);
  ASSERT_NE(process, nullptr);
  const std::vector<pid_t> serving = StacksServing(netns);
  ASSERT_EQ(serving.size(), 1u);
  EXPECT_NE(std::find(ahead.begin(), ahead.end(), serving[0]), ahead.end())
      << "the task's stack is one that was made ahead";
  process.reset();
  sandbox_.reset();
  EXPECT_TRUE(OurNetworkStacks().empty());
}

// A sandbox built with prepare_networks starts its stacks as it is built, beside the rest of
// the worker's start, without being asked again.
TEST_F(NetworkStackLifetime, ASandboxBuiltToPrepareStartsItsStacksAtOnce) {
  workers::SandboxOptions options;
  options.state_dir = (dir_ / "prepared").string();
  options.prepare_networks = true;
  sandbox_ = workers::MakeNamespaceSandbox(options);
  EXPECT_TRUE(Eventually([] { return OurNetworkStacks().size() == 1; }));
  sandbox_.reset();
  EXPECT_TRUE(OurNetworkStacks().empty());
}

// A sandbox for one pipeline's run (networks_ahead 0, as `baton run`'s) makes its first network
// ahead of the first task, and no other until a task finds none: one made behind the first task
// would mostly be a stack started and stopped for no task. A task that finds none gets one made
// for it.
TEST_F(NetworkStackLifetime, ASandboxKeepingNoneAheadMakesTheFirstAheadAndTheRestWhenAsked) {
  workers::SandboxOptions options;
  options.state_dir = (dir_ / "one-run").string();
  options.prepare_networks = true;
  options.networks_ahead = 0;
  sandbox_ = workers::MakeNamespaceSandbox(options);
  ASSERT_TRUE(Eventually([] { return OurNetworkStacks().size() == 1; }));
  const pid_t ahead = OurNetworkStacks()[0];
  std::string first_netns;
  auto first = StartSleeper(&first_netns);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(StacksServing(first_netns), std::vector<pid_t>{ahead});
  // One kept ahead would be up within a few ms of the first task's start.
  EXPECT_FALSE(
      Eventually([] { return OurNetworkStacks().size() > 1; }, std::chrono::milliseconds(500)))
      << "a network was made ahead behind the first task";
  std::string second_netns;
  auto second = StartSleeper(&second_netns);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(second_netns, first_netns);
  EXPECT_EQ(OurNetworkStacks().size(), 2u) << "the second task's, made when it asked, and no more";
  first.reset();
  second.reset();
  sandbox_.reset();
  EXPECT_TRUE(OurNetworkStacks().empty());
}

// Whether `netns` ("net:[N]") is still held anywhere on the host: by a process, an open
// descriptor of this one, or a mount.
bool NetnsHeld(const std::string& netns) {
  if (ReadFile("/proc/self/mountinfo").find(netns) != std::string::npos) return true;
  for (const auto& e : fs::directory_iterator("/proc")) {
    if (atoi(e.path().filename().c_str()) <= 0) continue;
    std::error_code ec;
    if (fs::read_symlink(e.path() / "ns" / "net", ec).string() == netns) return true;
  }
  std::error_code ec;
  for (fs::directory_iterator fd("/proc/self/fd", ec); !ec && fd != fs::directory_iterator();
       fd.increment(ec)) {
    std::error_code link_ec;
    if (fs::read_symlink(fd->path(), link_ec).string() == netns) return true;
  }
  return false;
}

// When no task will start any more (a `baton run` whose builds are done), the networks made ahead
// and the shelved ones are let go at once, without waiting for their stacks: the stacks exit and
// are reaped, and their namespaces go, while the sandbox lives on; nothing is left for its end.
TEST_F(NetworkStackLifetime, StoppedNetworksGoWithoutWaitingAndLeaveNothing) {
  sandbox_->PrepareNetworks();
  TaskRun run = ShellTask("scoped", "true", (dir_ / "work").string());
  run.network_scope = "main/app";  // its network goes on the shelf for the pipeline's next task
  auto started = sandbox_->Start(run, workers::SandboxStdio{null_, null_, null_}, nullptr);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ((*started)->Wait(), 0);
  started->reset();
  ASSERT_TRUE(Eventually([] { return OurNetworkStacks().size() >= 2; }))
      << "the shelved network and the one made ahead";
  // The namespaces the stacks serve (each holds its own open; the stack itself runs in the
  // host's).
  std::vector<std::string> namespaces;
  for (pid_t pid : OurNetworkStacks()) {
    std::error_code ec;
    for (fs::directory_iterator fd("/proc/" + std::to_string(pid) + "/fd", ec);
         !ec && fd != fs::directory_iterator(); fd.increment(ec)) {
      std::error_code link_ec;
      std::string link = fs::read_symlink(fd->path(), link_ec).string();
      if (link.rfind("net:[", 0) == 0 && link != NetnsOf(getpid())) namespaces.push_back(link);
    }
  }
  ASSERT_GE(namespaces.size(), 2u);
  auto before = std::chrono::steady_clock::now();
  sandbox_->StopNetworks();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::milliseconds(500))
      << "it does not wait for the stacks to exit";
  EXPECT_TRUE(Eventually([] { return OurNetworkStacks().empty(); }))
      << "every stack exited and was reaped with the sandbox still there";
  for (const auto& netns : namespaces) {
    EXPECT_TRUE(Eventually([&] { return !NetnsHeld(netns); })) << netns << " is still held";
  }
  sandbox_.reset();
  EXPECT_TRUE(OurNetworkStacks().empty());
}

// A stack dies with the thread that started it (PR_SET_PDEATHSIG): the pool's thread, which
// must not end when the networks are stopped while a task still uses its network.
TEST_F(NetworkStackLifetime, ARunningTasksStackOutlivesStoppingTheNetworks) {
  std::string netns;
  auto process = StartSleeper(&netns);
  ASSERT_NE(process, nullptr);
  sandbox_->StopNetworks();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(StacksServing(netns).size(), 1u) << "the running task's stack is still there";
  process.reset();
  EXPECT_TRUE(Eventually([&] { return StacksServing(netns).empty(); }));
}

// A network made ahead whose stack died while it waited (killed from outside) is never given to
// a task: the task gets a live one, with its interface.
TEST_F(NetworkStackLifetime, ATaskNeverGetsANetworkWhoseStackDiedWhileItWaited) {
  std::string first = Run("readlink /proc/self/ns/net");
  first = first.substr(0, first.find('\n'));
  // The first task's stack gone, one waits in the pool, up.
  ASSERT_TRUE(Eventually([&] {
    auto stacks = OurNetworkStacks();
    return StacksServing(first).empty() && stacks.size() == 1 && StackIsUp(stacks[0]);
  }));
  std::vector<pid_t> killed = OurNetworkStacks();
  for (pid_t pid : killed) ::kill(pid, SIGKILL);
  ASSERT_TRUE(Eventually([&] {
    auto left = OurNetworkStacks();
    return std::none_of(killed.begin(), killed.end(), [&](pid_t pid) {
      return std::find(left.begin(), left.end(), pid) != left.end();
    });
  })) << "the worker reaps the stacks it started";
  EXPECT_EQ(Run("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort"), "lo\ntap0\n");
}

// A stack that cannot start (here a stand-in slirp4netns that fails) fails the task that waited
// for it, with its message, and is not tried again in a loop while no task asks.
TEST_F(NetworkStackLifetime, AStackThatFailsToStartFailsTheTaskAndIsNotRetriedInALoop) {
  std::string counter = (dir_ / "starts").string();
  UseStandInStack("echo start >> " + counter + "\necho 'no tun here' >&2\nexit 1\n");
  TaskRun run = ShellTask("doomed", "true", (dir_ / "work").string());
  auto started = sandbox_->Start(run, workers::SandboxStdio{null_, null_, null_}, nullptr);
  ASSERT_FALSE(started.ok());
  EXPECT_NE(started.status().message().find("slirp4netns exited (status 1)"), std::string::npos)
      << started.status().ToString();
  EXPECT_NE(started.status().message().find("no tun here"), std::string::npos)
      << "the stack's stderr is in the message: " << started.status().ToString();
  sandbox_.reset();  // stops the pool's thread
  EXPECT_EQ(ReadFile(counter), "start\n") << "one start, for the task that waited";
}

// Stacks are started without a SIGCHLD handler in the worker (Boost.Process installed one, whose
// every signal, a task's exit too, interrupted blocking system calls on any thread with EINTR).
TEST_F(NetworkStackLifetime, StartingStacksInstallsNoSigchldHandlerInTheWorker) {
  EXPECT_EQ(Run("echo ran"), "ran\n");
  struct sigaction sa;
  ASSERT_EQ(::sigaction(SIGCHLD, nullptr, &sa), 0);
  EXPECT_TRUE(sa.sa_handler == SIG_DFL) << "a SIGCHLD handler was installed";
}

// A stack has /dev/null as stdin and stdout, the worker's pipe as stderr, its ready, exit and
// namespace descriptors as 3, 4, 5, and nothing else of the worker's (here a stand-in that lists
// what a process it starts inherits: `ls` adds one of its own, the directory it reads, as 6).
TEST_F(NetworkStackLifetime, AStackInheritsOnlyItsOwnDescriptors) {
  // The shell's own 0 and 1, read from a subshell (a redirection would change them).
  UseStandInStack(
      "std=$(readlink /proc/$$/fd/0 /proc/$$/fd/1)\necho \"$std\" >&2\n"
      "ls -l /proc/self/fd >&2\nexit 1\n");
  TaskRun run = ShellTask("listed", "true", (dir_ / "work").string());
  auto started = sandbox_->Start(run, workers::SandboxStdio{null_, null_, null_}, nullptr);
  ASSERT_FALSE(started.ok());
  std::string message = started.status().message();
  EXPECT_NE(message.find("/dev/null\n/dev/null\n"), std::string::npos) << message;
  std::string fds;
  std::istringstream lines(message);
  for (std::string line; std::getline(lines, line);) {
    size_t arrow = line.find(" -> ");
    if (arrow == std::string::npos) continue;
    fds += line.substr(line.rfind(' ', arrow - 1) + 1, arrow - line.rfind(' ', arrow - 1) - 1);
    fds += line.compare(arrow + 4, 4, "net:") == 0 ? "(net) " : " ";
  }
  EXPECT_EQ(fds, "0 1 2 3 4 5(net) 6 ") << "a descriptor of the worker leaked: " << message;
}

// The worker's end does not wait for a stack being made ahead to come up: here the stand-in
// stack of the first task comes up, the next (made ahead) never does; the sandbox goes at once
// (not after the 10 s a stack has to come up) and takes that stack with it.
TEST_F(NetworkStackLifetime, TheSandboxsEndDoesNotWaitForAStackComingUp) {
  std::string counter = (dir_ / "starts").string();
  UseStandInStack("echo start >> " + counter +
                  "\n"
                  "[ \"$(wc -l < " +
                  counter +
                  ")\" = 1 ] && printf 1 >&3\n"
                  "read -r line <&4\n");
  EXPECT_EQ(Run("echo ran"), "ran\n");
  ASSERT_TRUE(Eventually([&] { return ReadFile(counter) == "start\nstart\n"; }))
      << "the pool makes the next network ahead";
  auto before = std::chrono::steady_clock::now();
  sandbox_.reset();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(5));
  EXPECT_TRUE(OurNetworkStacks().empty());
}

// Stacks are started ahead of the tasks, and a task's stack is told to stop when it ends without
// being waited for then: the sandbox's end stops and waits for all of them.
TEST_F(NetworkStackLifetime, NoStackOutlivesTheSandbox) {
  std::string netns;
  auto process = StartSleeper(&netns);
  ASSERT_NE(process, nullptr);
  EXPECT_EQ(Run("exit 0"), "");
  // The finished task's stack may be gone already (it is told to stop, not waited for).
  ASSERT_TRUE(Eventually([] { return OurNetworkStacks().size() >= 2; }))
      << "the running task's stack and the network made ahead for the next task";
  process.reset();
  sandbox_.reset();
  EXPECT_TRUE(OurNetworkStacks().empty());
}

}  // namespace
}  // namespace baton::testing
