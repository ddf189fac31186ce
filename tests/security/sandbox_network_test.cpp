// Issue 9, the network: every task has its own network namespace. A task that is not hermetic
// goes out through a user-mode stack (slirp4netns) and cannot reach the host's loopback services;
// a hermetic one has loopback only; the stack goes soon after an aborted task (the stacks' life
// and the networks made ahead: sandbox_network_stacks_test.cpp).
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
#include "security/network_stacks.h"
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
std::string SandboxExternalAddress() {
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
  std::string address = SandboxExternalAddress();
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

// The networks after the first are made ahead of their task and wait idle in the pool: the task
// on one has the same network as on one made for it on the spot.
TEST_F(SandboxNetwork, ANetworkMadeAheadLeadsOutsideButNotToTheHostsLoopback) {
  ASSERT_TRUE(Sh("true").result.error.ok());
  ASSERT_TRUE(Eventually([] { return OurNetworkStacks().size() == 1; }))
      << "the worker makes a network ahead once it has run a task that is not hermetic";
  Listener loopback("127.0.0.1");
  std::string script =
      TryConnect("127.0.0.1", loopback.port()) + TryConnect("10.0.2.2", loopback.port());
  std::string address = SandboxExternalAddress();
  std::unique_ptr<Listener> external;
  if (!address.empty()) {
    external = std::make_unique<Listener>(address);
    script += TryConnect(address, external->port());
  }
  auto f = Sh(script);
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  std::string text = f.sink->Text();
  EXPECT_NE(text.find("127.0.0.1 rc="), std::string::npos) << text;
  EXPECT_EQ(text.find("127.0.0.1 rc=0"), std::string::npos) << text;
  EXPECT_EQ(text.find("10.0.2.2 rc=0"), std::string::npos) << text;
  EXPECT_FALSE(loopback.SomeoneConnected()) << "the task reached the host's loopback";
  if (external) {
    EXPECT_NE(text.find(address + " rc=0"), std::string::npos) << text;
    EXPECT_TRUE(external->SomeoneConnected());
  }
}

// The namespace belongs to the host's root (made by the worker, ahead or not), not to the task's
// user namespace: root in the task has no capability over it.
TEST_F(SandboxNetwork, ATaskCannotReconfigureItsNetwork) {
  // `ip` answers 2 when the kernel refuses (RTNETLINK: Operation not permitted).
  auto f =
      Sh("command -v ip >/dev/null || echo no-ip; id -u; "
         "ip link set tap0 down 2>/dev/null; echo down rc=$?; "
         "ip addr add 10.0.2.5/24 dev tap0 2>/dev/null; echo addr rc=$?; "
         "ip link set lo down 2>/dev/null; echo lo rc=$?");
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  std::string text = f.sink->Text();
  if (text.rfind("no-ip", 0) == 0) GTEST_SKIP() << "no `ip` (iproute2) on this host";
  EXPECT_EQ(text, "0\ndown rc=2\naddr rc=2\nlo rc=2\n")
      << "root of its user namespace, without a capability over the network namespace";
}

// The stack carries IPv4 only (slirp4netns without --enable-ipv6): tap0 has no IPv6 at all (no
// address, no neighbour discovery for the stack to drop), and the task keeps IPv6 on its own
// loopback (::1), as a test server in a task may listen there.
TEST_F(SandboxNetwork, ATaskHasIpv6OnItsLoopbackOnly) {
  auto f =
      Sh("awk '{ print $6 }' /proc/net/if_inet6 | sort; "
         "cat /proc/sys/net/ipv6/conf/tap0/disable_ipv6; "
         "python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind((\"::1\", 0)); "
         "s.listen(); socket.create_connection((\"::1\", s.getsockname()[1])); print(\"::1 ok\")' "
         "2>/dev/null || echo no-python3");
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  std::string text = f.sink->Text();
  if (text.find("no-python3") != std::string::npos) GTEST_SKIP() << "no python3 on this host";
  EXPECT_EQ(text, "lo\n1\n::1 ok\n") << f.sink->Text(workers::OutputStream::kStderr);
}

// The worker makes tap0 (persistent) before the stack attaches to it, so that the stack's exit
// does not wait for the kernel to remove the device (it goes with the namespace): the task sees
// it as before, up with the stack's address.
TEST_F(SandboxNetwork, ATasksTapIsMadeAheadAndConfiguredByItsStack) {
  auto f =
      Sh("command -v ip >/dev/null || echo no-ip; ip -d link show tap0 | grep -o 'persist o[nf]*'; "
         "ip -4 addr show tap0 | grep -o 'inet [0-9./]*'");
  ASSERT_TRUE(f.result.error.ok()) << f.result.error.ToString();
  std::string text = f.sink->Text();
  if (text.rfind("no-ip", 0) == 0) GTEST_SKIP() << "no `ip` (iproute2) on this host";
  EXPECT_EQ(text, "persist on\ninet 10.0.2.100/24\n")
      << f.sink->Text(workers::OutputStream::kStderr);
}

TEST_F(SandboxNetwork, ATaskResolvesNamesThroughTheStacksDns) {
  auto f = Sh("grep '^nameserver' /etc/resolv.conf; touch /etc/resolv.conf 2>&1; echo rc=$?");
  std::string text = f.sink->Text();
  EXPECT_EQ(text.substr(0, text.find('\n')), "nameserver 10.0.2.3") << text;
  EXPECT_NE(text.find("rc=1"), std::string::npos) << "the task may not change it: " << text;
}

TEST_F(SandboxNetwork, AHermeticTaskHasOnlyLoopbackAndReachesNothingOfTheHost) {
  std::string address = SandboxExternalAddress();
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

TEST_F(SandboxNetwork, TheStackIsGoneWhenTheBuildIsAborted) {
  auto sink = std::make_shared<RecordingSink>();
  std::promise<workers::TaskResult> done;
  TaskRun run =
      ShellTask("aborted", "readlink /proc/self/ns/net; echo started; sleep 60", work_dir_);
  auto handle = worker_->RunTask(run, sink, [&](workers::TaskResult r) { done.set_value(r); });
  ASSERT_TRUE(sink->WaitFor("started", seconds(30)));
  std::string netns = sink->Text().substr(0, sink->Text().find('\n'));
  EXPECT_EQ(StacksServing(netns).size(), 1u) << netns;
  handle->Cancel(seconds(0));
  auto result = done.get_future().get();
  EXPECT_NE(result.exit_code, 0);
  EXPECT_TRUE(Eventually([&] { return StacksServing(netns).empty(); }));
}

}  // namespace
}  // namespace baton::testing
