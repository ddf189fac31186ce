// Issue 16, task networks reused within a pipeline: a network whose task has ended serves the
// next task of the same scope (the tasks of one pipeline) only when that task cannot tell it from
// a new one: nothing left in it (no socket, no connection in TIME_WAIT), its stack still up, its
// task not privileged. Never across scopes, never without one, never between a hermetic task and
// one that may reach the network. Real namespaces, real slirp4netns (root).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "baton/common/path_beneath.h"
#include "baton/workers/sandbox.h"
#include "baton/workers/step_wire.h"
#include "fakes/test_env.h"
#include "security/network_stacks.h"
#include "workers/task_test_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using workers::TaskRun;

class NetworkShelf : public OwnSandboxTest {
 protected:
  struct Ended {
    std::string netns;  // "net:[...]" of the task, held open by `held` so its number stays its own
    ScopedFd held;
    std::string output;
    int exit_code = -1;
  };
  // Runs `script` as a task of `scope` to its end; its namespace stays open in the result.
  Ended Run(const std::string& script, const std::string& scope, bool privileged = false,
            bool network = true) {
    TaskRun run = ShellTask("t" + std::to_string(++count_), script, (dir_ / "work").string());
    run.network_scope = scope;
    run.privileged = privileged;
    run.network = network;
    std::string file = (dir_ / ("out" + std::to_string(count_))).string();
    int out = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    // The task waits for its stdin to close, so the test can read its namespace while it runs.
    int gate[2];
    EXPECT_EQ(::pipe2(gate, O_CLOEXEC), 0);
    auto started = sandbox_->Start(run, workers::SandboxStdio{gate[0], out, out}, nullptr);
    ::close(gate[0]);
    ::close(out);
    Ended ended;
    if (!started.ok()) {
      ::close(gate[1]);
      ADD_FAILURE() << started.status().ToString();
      return ended;
    }
    auto& process = *started;
    ended.netns = NetnsOf(process->pid());
    std::string path = "/proc/" + std::to_string(process->pid()) + "/ns/net";
    ended.held = ScopedFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    ::close(gate[1]);
    ended.exit_code = process->Wait();
    ended.output = ReadFile(file);
    return ended;
  }
  // A task that waits for its stdin to close, then runs `script`.
  static std::string Gated(const std::string& script) { return "read -r _ || true; " + script; }
};

// The connection's client closes first: its end stays in TIME_WAIT, holding the port.
constexpr const char* kLeaveTimeWait =
    "python3 -c \"import socket\n"
    "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n"
    "c = socket.create_connection(s.getsockname()); a, _ = s.accept()\n"
    "c.close(); a.recv(1); a.close(); s.close()\"";

TEST_F(NetworkShelf, TheNextTaskOfThePipelineGetsTheNetworkTheLastOneLeftAsNew) {
  Ended first = Run(Gated("true"), "main/p");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  ASSERT_EQ(first.netns.rfind("net:[", 0), 0u) << first.netns;
  EXPECT_EQ(StacksServing(first.netns).size(), 1u)
      << "its stack waits for the pipeline's next task";
  Ended second = Run(Gated("true"), "main/p");
  EXPECT_EQ(second.netns, first.netns);
  EXPECT_TRUE(Eventually([] { return OurNetworkStacks().size() == 2; }))
      << "the shelved stack and one made ahead, no more";
}

// A worker's sandbox (prepared, then probed) without spares runs its probe in the namespace of the
// first network made ahead (with spares, its first spare is the probe): that network still counts
// only its own sockets, so the pipeline's next task gets it after a task that left it as new, and
// no task gets it after one that left a connection in it.
class ProbedNetworkShelf : public NetworkShelf {
 protected:
  void SetUp() override {
    NetworkShelf::SetUp();
    workers::SandboxOptions options;
    options.state_dir = (dir_ / "probed").string();
    options.prepare_networks = true;
    options.networks_ahead = 0;       // the first network is the one the probe ran in
    options.spare_sandboxes = false;  // a probe of its own (not the first spare's)
    sandbox_ = workers::MakeNamespaceSandbox(options);
    Status probed = sandbox_->Check();
    ASSERT_TRUE(probed.ok()) << probed.ToString();
  }
};

TEST_F(ProbedNetworkShelf, TheFirstNetworkTheProbeRanInIsReusedAfterATaskLeftItAsNew) {
  Ended first = Run(Gated("true"), "main/p");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_EQ(Run(Gated("true"), "main/p").netns, first.netns);
}

TEST_F(ProbedNetworkShelf, TheFirstNetworkTheProbeRanInIsNotReusedAfterATaskLeftAConnection) {
  Ended first = Run(Gated(kLeaveTimeWait), "main/p");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(Run(Gated("true"), "main/p").netns, first.netns);
}

TEST_F(NetworkShelf, ATaskOfAnotherPipelineNeverGetsIt) {
  Ended first = Run(Gated("true"), "main/p");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(Run(Gated("true"), "main/q").netns, first.netns);
  EXPECT_NE(Run(Gated("true"), "other/p").netns, first.netns);
  EXPECT_EQ(Run(Gated("true"), "main/p").netns, first.netns) << "it waited for its own pipeline";
}

TEST_F(NetworkShelf, ATaskWithoutAScopeGetsANetworkOfItsOwnAndLeavesNone) {
  Ended first = Run(Gated("true"), "");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(Eventually([&] { return StacksServing(first.netns).empty(); }))
      << "a network without a scope stops with its task";
  EXPECT_NE(Run(Gated("true"), "").netns, first.netns);
}

TEST_F(NetworkShelf, ANetworkWithAConnectionLeftInTimeWaitIsNotReused) {
  Ended first = Run(Gated(kLeaveTimeWait), "main/p");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(Eventually([&] { return StacksServing(first.netns).empty(); }))
      << "a network a task left a connection in is dropped, its stack stopped";
  EXPECT_NE(Run(Gated("true"), "main/p").netns, first.netns);
}

TEST_F(NetworkShelf, ANetworkAPrivilegedTaskHadIsNeverReused) {
  Ended first = Run(Gated("true"), "main/p", /*privileged=*/true);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_TRUE(Eventually([&] { return StacksServing(first.netns).empty(); }));
  EXPECT_NE(Run(Gated("true"), "main/p").netns, first.netns);
}

TEST_F(NetworkShelf, ANetworkWhoseStackDiedOnTheShelfIsNotGiven) {
  Ended first = Run(Gated("true"), "main/p");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto stacks = StacksServing(first.netns);
  ASSERT_EQ(stacks.size(), 1u);
  ::kill(stacks[0], SIGKILL);
  // Exited (a zombie until the worker reaps it, or gone), not only its descriptors closed.
  EXPECT_TRUE(Eventually([&] {
    std::string stat = ReadFile("/proc/" + std::to_string(stacks[0]) + "/stat");
    size_t after = stat.rfind(") ");
    return after == std::string::npos || stat[after + 2] == 'Z';
  }));
  Ended second = Run(Gated("true"), "main/p");
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.netns, first.netns);
}

// What the first task did in its network is gone for the second: its processes, its listening
// socket (the port is free again), and the network still leads outside through its stack.
TEST_F(NetworkShelf, AReusedNetworkHoldsNothingOfTheTaskBefore) {
  Ended first = Run(Gated("(sleep 60 &) ; python3 -c \"import socket, os\n"
                          "s = socket.socket(); s.bind(('127.0.0.1', 47123)); s.listen()\n"
                          "os._exit(0)\""),
                    "main/p");
  ASSERT_EQ(first.exit_code, 0) << first.output;
  Ended second = Run(Gated("python3 -c \"import socket\n"
                           "s = socket.socket(); s.bind(('127.0.0.1', 47123)); s.listen()\n"
                           "print('bound')\"; ip -4 -o addr show tap0"),
                     "main/p");
  ASSERT_EQ(second.netns, first.netns) << "the first task left nothing behind";
  EXPECT_NE(second.output.find("bound\n"), std::string::npos) << second.output;
  EXPECT_NE(second.output.find("10.0.2.100/24"), std::string::npos) << second.output;
}

// A hermetic task's namespace (only its loopback, no stack) serves the pipeline's next hermetic
// task in the same way, and never a task that may reach the network, nor the other way round.
TEST_F(NetworkShelf, HermeticTasksOfThePipelineShareANamespaceWithOnlyItsLoopback) {
  constexpr bool kHermetic = false;  // Run's `network`
  Ended first = Run(Gated("true"), "main/p", false, kHermetic);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  Ended second = Run(Gated("ip -o link | cut -d: -f2; ip -o addr show lo | grep -c 'inet '"),
                     "main/p", false, kHermetic);
  EXPECT_EQ(second.netns, first.netns);
  EXPECT_EQ(second.output, " lo\n1\n") << "only the loopback, up, with its address";
  EXPECT_TRUE(OurNetworkStacks().empty()) << "hermetic tasks start no stack";
  EXPECT_NE(Run(Gated("true"), "main/p").netns, first.netns) << "a task that may reach the network";
  EXPECT_NE(Run(Gated("true"), "main/q", false, kHermetic).netns, first.netns);
  EXPECT_NE(Run(Gated("true"), "main/p", /*privileged=*/true, kHermetic).netns, first.netns);
}

TEST_F(NetworkShelf, AHermeticTaskNeverGetsANetworkAStackServes) {
  Ended networked = Run(Gated("true"), "main/p");
  ASSERT_EQ(networked.exit_code, 0) << networked.output;
  Ended hermetic = Run(Gated("ip -o link | cut -d: -f2"), "main/p", false, /*network=*/false);
  EXPECT_NE(hermetic.netns, networked.netns);
  EXPECT_EQ(hermetic.output, " lo\n");
}

TEST_F(NetworkShelf, AHermeticNamespaceAPrivilegedTaskHadIsNeverReused) {
  Ended first = Run(Gated("true"), "main/p", /*privileged=*/true, /*network=*/false);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(Run(Gated("true"), "main/p", false, false).netns, first.netns);
}

TEST_F(NetworkShelf, NoShelvedStackOutlivesTheSandbox) {
  for (const char* scope : {"main/p", "main/q", "other/p"}) {
    ASSERT_EQ(Run(Gated("true"), scope).exit_code, 0);
  }
  EXPECT_GE(OurNetworkStacks().size(), 3u);
  sandbox_.reset();
  EXPECT_TRUE(OurNetworkStacks().empty()) << "the sandbox waits for every stack it started";
}

// A remote worker shares a network between the tasks of one pipeline as the local one does: the
// scope travels with the step (an older web node sends none: no sharing).
TEST(NetworkShelfWire, TheScopeTravelsWithTheTask) {
  workers::wire::Step step;
  step.id = "s1";
  step.task.id = "b1-t";
  step.task.path = "sh";
  step.task.work_dir = workers::wire::VolumeRef(0);
  step.task.network_scope = "main/p";
  auto back = workers::wire::StepFromJson(workers::wire::ToJson(step));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->task.network_scope, "main/p");
  Json older = workers::wire::ToJson(step);
  older["task"].erase("network_scope");
  back = workers::wire::StepFromJson(older);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->task.network_scope, "");
}

}  // namespace
}  // namespace baton::testing
