// The network stacks (slirp4netns) a test's sandbox started, seen from the host's /proc.
#pragma once

#include <fcntl.h>
#include <sched.h>
#include <sys/types.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "baton/workers/sandbox.h"
#include "fakes/test_env.h"

namespace baton::testing {

// A test with a namespace sandbox of its own in a temporary directory, a work directory there
// for its tasks, and /dev/null open.
class OwnSandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sandbox_ = workers::MakeNamespaceSandbox({(dir_ / "sandbox").string(), {}});
    std::filesystem::create_directories(dir_ / "work");
    null_ = ::open("/dev/null", O_RDWR | O_CLOEXEC);
  }
  void TearDown() override { ::close(null_); }

  TempDir dir_;
  std::unique_ptr<workers::Sandbox> sandbox_;
  int null_ = -1;
  int count_ = 0;  // tasks started, for their names
};

// Host pids of slirp4netns processes this test process started (zombies included: a helper
// that exited but was never reaped is a leak too).
inline std::vector<pid_t> OurNetworkStacks() {
  std::vector<pid_t> out;
  for (const auto& e : std::filesystem::directory_iterator("/proc")) {
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

// The network namespace of host pid `pid` ("net:[4026531840]"), "" once it is gone.
inline std::string NetnsOf(pid_t pid) {
  std::error_code ec;
  auto link = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/ns/net", ec);
  return ec ? "" : link.string();
}

// The stacks of ours serving the namespace `netns` (as NetnsOf names it): each holds it open.
inline std::vector<pid_t> StacksServing(const std::string& netns) {
  std::vector<pid_t> out;
  for (pid_t pid : OurNetworkStacks()) {
    std::error_code ec;
    std::filesystem::directory_iterator fds("/proc/" + std::to_string(pid) + "/fd", ec);
    for (; !ec && fds != std::filesystem::directory_iterator(); fds.increment(ec)) {
      std::error_code link_ec;
      if (std::filesystem::read_symlink(fds->path(), link_ec).string() == netns) {
        out.push_back(pid);
        break;
      }
    }
  }
  return out;
}

// Whether the stack `pid` has brought its network up: its namespace (the one it holds open) has
// the default route through tap0 that slirp4netns --configure adds once it is ready. Read from a
// thread that steps into that namespace.
inline bool StackIsUp(pid_t pid) {
  const std::string host = NetnsOf(getpid());
  std::string route;
  std::error_code ec;
  for (std::filesystem::directory_iterator fd("/proc/" + std::to_string(pid) + "/fd", ec);
       !ec && fd != std::filesystem::directory_iterator(); fd.increment(ec)) {
    std::error_code link_ec;
    std::string link = std::filesystem::read_symlink(fd->path(), link_ec).string();
    if (link.rfind("net:[", 0) != 0 || link == host) continue;
    std::string path = fd->path().string();
    std::thread([&] {
      int ns = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0) return;
      if (::unshare(CLONE_FILES) == 0 && ::setns(ns, CLONE_NEWNET) == 0) {
        route = ReadFile("/proc/thread-self/net/route");
      }
      ::close(ns);
    }).join();
    break;
  }
  return route.find("\ntap0\t00000000\t") != std::string::npos;
}

}  // namespace baton::testing
