// Issue 9, the network: every task has its own network namespace. A task that is not hermetic
// goes out through a user-mode stack (slirp4netns) and cannot reach the host's loopback services;
// a hermetic one has loopback only; the stack goes soon after the task, aborted or not, and none
// outlives the sandbox.
// Real namespaces, real sockets, real slirp4netns (root).
#include <arpa/inet.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <thread>

#include <gtest/gtest.h>

#include "baton/workers/sandbox.h"
#include "fakes/test_env.h"
#include "workers/task_test_util.h"

namespace baton::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using workers::IsolationLevel;
using workers::TaskRun;

// A TCP listener of the test on `address`:0.
class Listener {
 public:
  explicit Listener(const std::string& address) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, address.c_str(), &a.sin_addr);
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0) {
      ADD_FAILURE() << "cannot listen on " << address << ": " << strerror(errno);
      return;
    }
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd_); }
  int port() const { return port_; }

  // Whether a connection is waiting (i.e. someone connected), without blocking.
  bool SomeoneConnected() {
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) == 1;
  }
  // Serves one client within `deadline`: reads a line, answers "ack <line>". The line read.
  std::string ServeOne(std::chrono::seconds deadline) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(deadline.count() * 1000)) != 1) return "<no connection>";
    int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    std::string line;
    char ch;
    while (::read(c, &ch, 1) == 1 && ch != '\n') line += ch;
    std::string reply = "ack " + line + "\n";
    ssize_t n = ::write(c, reply.data(), reply.size());
    (void)n;
    ::close(c);
    return line;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// An IPv4 address of this host that is up and not loopback ("" when there is none).
std::string ExternalAddress() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* i = list; i && found.empty(); i = i->ifa_next) {
    if (!i->ifa_addr || i->ifa_addr->sa_family != AF_INET) continue;
    if ((i->ifa_flags & IFF_LOOPBACK) || !(i->ifa_flags & IFF_UP)) continue;
    char buf[INET_ADDRSTRLEN];
    auto* in = reinterpret_cast<sockaddr_in*>(i->ifa_addr);
    if (::inet_ntop(AF_INET, &in->sin_addr, buf, sizeof buf)) found = buf;
  }
  ::freeifaddrs(list);
  return found;
}

// Host pids of slirp4netns processes this test process started (zombies included: a helper
// that exited but was never reaped is a leak too).
std::vector<pid_t> OurNetworkStacks() {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    pid_t pid = atoi(e.path().filename().c_str());
    if (pid <= 0) continue;
    std::string stat = ReadFile(e.path() / "stat");
    if (stat.find("(slirp4netns) ") == std::string::npos) continue;
    // "pid (comm) state ppid ..."
    size_t after = stat.rfind(") ");
    pid_t ppid = atoi(stat.c_str() + after + 4);
    if (ppid == getpid()) out.push_back(pid);
  }
  return out;
}

bool NoNetworkStack() { return OurNetworkStacks().empty(); }

// A shell line that tries a TCP connection to host:port and prints "<host> rc=<status>".
std::string TryConnect(const std::string& host, int port) {
  std::string target = "/dev/tcp/" + host + "/" + std::to_string(port);
  return "timeout 5 bash -c ': > " + target + "' 2>/dev/null; echo \"" + host + " rc=$?\"; ";
}

class SandboxNetwork : public SandboxedWorkerFixture {};

TEST_F(SandboxNetwork, ATaskCannotConnectToAPortOnTheHostsLoopback) {
  Listener host_service("127.0.0.1");
  // 127.0.0.1 is the task's own loopback; 10.0.2.2, the stack's gateway, would lead to the
  // host's loopback without --disable-host-loopback.
  auto f = Sh(TryConnect("127.0.0.1", host_service.port()) +
              TryConnect("10.0.2.2", host_service.port()));
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  std::string text = f.sink->Text();
  EXPECT_NE(text.find("127.0.0.1 rc="), std::string::npos) << text;
  EXPECT_EQ(text.find("rc=0"), std::string::npos) << text;
  EXPECT_FALSE(host_service.SomeoneConnected()) << "the task reached the host's loopback";
}

TEST_F(SandboxNetwork, ATaskReachesAListenerOnANonLoopbackAddressOfTheHost) {
  std::string address = ExternalAddress();
  if (address.empty()) GTEST_SKIP() << "this machine has no non-loopback IPv4 address to test";
  Listener service(address);
  auto served = std::async(std::launch::async, [&] { return service.ServeOne(seconds(60)); });
  std::string target = "/dev/tcp/" + address + "/" + std::to_string(service.port());
  auto f = Sh("bash -c 'exec 3<>" + target +
              " && echo hello-from-task >&3 && read -r reply <&3 && echo \"reply: $reply\"'");
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  EXPECT_EQ(served.get(), "hello-from-task");
  EXPECT_EQ(f.sink->Text(), "reply: ack hello-from-task\n")
      << f.sink->Text(workers::OutputStream::kStderr);
}

TEST_F(SandboxNetwork, ATaskResolvesNamesThroughTheStacksDns) {
  auto f = Sh("grep '^nameserver' /etc/resolv.conf; touch /etc/resolv.conf 2>&1; echo rc=$?");
  std::string text = f.sink->Text();
  EXPECT_EQ(text.substr(0, text.find('\n')), "nameserver 10.0.2.3") << text;
  EXPECT_NE(text.find("rc=1"), std::string::npos) << "the task may not change it: " << text;
}

TEST_F(SandboxNetwork, AHermeticTaskHasOnlyLoopbackAndReachesNothingOfTheHost) {
  std::string address = ExternalAddress();
  Listener loopback("127.0.0.1");
  TaskRun run;
  run.network = false;
  std::string script = "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '; " +
                       TryConnect("127.0.0.1", loopback.port());
  std::unique_ptr<Listener> external;
  if (!address.empty()) {
    external = std::make_unique<Listener>(address);
    script += TryConnect(address, external->port());
  }
  auto f = Sh(script, run);
  std::string text = f.sink->Text();
  EXPECT_EQ(text.substr(0, text.find('\n') + 1), "lo\n") << text;
  EXPECT_EQ(text.find("rc=0"), std::string::npos) << text;
  EXPECT_FALSE(loopback.SomeoneConnected());
  if (external) {
    EXPECT_FALSE(external->SomeoneConnected());
  }
  EXPECT_TRUE(OurNetworkStacks().empty()) << "a hermetic task needs no network stack";
}

// The Sandbox itself, to hold the task's pid and end it in each way.
class NetworkStackLifetime : public ::testing::Test {
 protected:
  void SetUp() override {
    sandbox_ = workers::MakeNamespaceSandbox({(dir_ / "sandbox").string(), {}});
    fs::create_directories(dir_ / "work");
    null_ = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  }
  void TearDown() override { ::close(null_); }
  std::unique_ptr<workers::SandboxedProcess> StartSleeper() {
    TaskRun run = ShellTask("sleeper", "sleep 60", (dir_ / "work").string());
    auto started = sandbox_->Start(run, workers::SandboxStdio{null_, null_, null_}, nullptr);
    EXPECT_TRUE(started.ok()) << started.status().ToString();
    if (!started.ok()) return nullptr;
    EXPECT_EQ(OurNetworkStacks().size(), 1u) << "the running task has its network stack";
    return std::move(*started);
  }

  TempDir dir_;
  std::unique_ptr<workers::Sandbox> sandbox_;
  int null_ = -1;
};

TEST_F(NetworkStackLifetime, TheStackIsGoneWhenTheTaskExits) {
  TaskRun run = ShellTask("quick", "exit 3", (dir_ / "work").string());
  auto started = sandbox_->Start(run, workers::SandboxStdio{null_, null_, null_}, nullptr);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ((*started)->Wait(), 3);
  EXPECT_TRUE(Eventually(NoNetworkStack));
}

TEST_F(NetworkStackLifetime, TheStackIsGoneWhenTheTaskIsKilled) {
  auto process = StartSleeper();
  ASSERT_NE(process, nullptr);
  process->Signal(SIGKILL);
  EXPECT_EQ(process->Wait(), 128 + SIGKILL);
  EXPECT_TRUE(Eventually(NoNetworkStack));
}

TEST_F(NetworkStackLifetime, TheStackIsGoneWhenTheTaskIsDroppedWithoutWaiting) {
  auto process = StartSleeper();
  ASSERT_NE(process, nullptr);
  process.reset();
  EXPECT_TRUE(Eventually(NoNetworkStack));
}

// The stack is told to stop when the task ends and is not waited for then; the sandbox's end
// waits for every stack, stopping or not.
TEST_F(NetworkStackLifetime, NoStackOutlivesTheSandbox) {
  auto process = StartSleeper();
  ASSERT_NE(process, nullptr);
  TaskRun run = ShellTask("quick", "exit 0", (dir_ / "work").string());
  auto started = sandbox_->Start(run, workers::SandboxStdio{null_, null_, null_}, nullptr);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_EQ((*started)->Wait(), 0);
  process.reset();
  sandbox_.reset();
  EXPECT_TRUE(OurNetworkStacks().empty());
}

TEST_F(SandboxNetwork, TheStackIsGoneWhenTheBuildIsAborted) {
  auto sink = std::make_shared<RecordingSink>();
  std::promise<workers::TaskResult> done;
  TaskRun run = ShellTask("aborted", "echo started; sleep 60", work_dir_);
  auto handle = worker_->RunTask(run, sink, [&](workers::TaskResult r) { done.set_value(r); });
  ASSERT_TRUE(sink->WaitFor("started", seconds(30)));
  EXPECT_EQ(OurNetworkStacks().size(), 1u);
  handle->Cancel(seconds(0));
  auto result = done.get_future().get();
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(Eventually(NoNetworkStack));
}

}  // namespace
}  // namespace baton::testing
