// A git remote that accepts connections and never answers must not hold the server: checks asked
// for through the API are queued and answered at once (202 with the check's id), the server goes
// on answering other requests while they hang, and each check ends errored after the resource's
// check_timeout with a message that says so. Against a real `baton quickstart` (port 0).
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "fakes/server_process.h"

namespace baton::testing {
namespace {

using json = nlohmann::json;
using Steady = std::chrono::steady_clock;

// A TCP listener on 127.0.0.1 that accepts every connection and never sends or reads a byte.
class SilentListener {
 public:
  SilentListener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd_, 64) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "cannot listen on 127.0.0.1";
      return;
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { AcceptUntilStopped(); });
  }
  ~SilentListener() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (int fd : accepted_) ::close(fd);
    ::close(fd_);
  }
  int port() const { return port_; }
  int accepted() const { return accepted_count_.load(); }

 private:
  void AcceptUntilStopped() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;  // wakes to see `stop_`
      int fd = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      accepted_.push_back(fd);  // held open, never answered
      ++accepted_count_;
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_count_{0};
  std::vector<int> accepted_;  // only the accept thread touches it until joined
  std::thread thread_;
};

class CheckHang : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server_.started()) << server_.log();
    const std::string port = std::to_string(listener_.port());
    const std::string yaml =
        "resources:\n"
        "- name: over-git\n  type: git\n  check_every: never\n  check_timeout: 15s\n"
        "  source: {uri: 'git://127.0.0.1:" +
        port +
        "/repo.git', branch: main}\n"
        "- name: over-http\n  type: git\n  check_every: never\n  check_timeout: 15s\n"
        "  source: {uri: 'http://127.0.0.1:" +
        port +
        "/repo.git', branch: main}\n"
        "jobs:\n- name: build\n  plan:\n  - get: over-git\n  - get: over-http\n";
    ApiReply set = server_.Api("PUT", "/api/v1/teams/main/pipelines/stuck/config",
                               json{{"config", yaml}, {"paused", false}}.dump());
    ASSERT_EQ(set.status, 200) << set.text;
  }

  ApiReply PostCheck(const std::string& resource) {
    return server_.Api("POST",
                       "/api/v1/teams/main/pipelines/stuck/resources/" + resource + "/check");
  }

  SilentListener listener_;
  ServerProcess server_;
};

TEST_F(CheckHang, TwoHangingChecksAreQueuedTheServerAnswersMeanwhileAndBothTimeOut) {
  // `baton check-resource` follows a check until it ends; it joins the hanging one.
  auto cli = server_.StartCli({"check-resource", "-r", "stuck/over-git"});
  ApiReply git = PostCheck("over-git");
  ApiReply http = PostCheck("over-http");
  ASSERT_EQ(git.status, 202) << git.text;
  ASSERT_EQ(http.status, 202) << http.text;
  for (const json& queued : {git.json, http.json}) {
    EXPECT_GT(queued.value("id", 0), 0) << queued.dump();
    EXPECT_EQ(queued.value("url", ""), "/api/v1/checks/" + std::to_string(queued.value("id", 0)));
    EXPECT_TRUE(queued.value("status", "") == "pending" || queued.value("status", "") == "started")
        << queued.dump();
  }

  // Other requests are answered while both checks hang on the silent remote.
  const auto before = Steady::now();
  ApiReply info = server_.Api("GET", "/api/v1/info");
  const auto info_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now() - before).count();
  ASSERT_EQ(info.status, 200) << info.text;
  ApiReply pipelines = server_.Api("GET", "/api/v1/teams/main/pipelines");
  ASSERT_EQ(pipelines.status, 200) << pipelines.text;
  json git_now = server_.Get(git.json.value("url", ""));
  json http_now = server_.Get(http.json.value("url", ""));
  std::printf("GET /api/v1/info took %lld ms with two hanging checks in flight\n",
              static_cast<long long>(info_ms));
  // Still running (or, on a loaded machine, still waiting for a check slot): not ended.
  for (const json& now : {git_now, http_now}) {
    const std::string status = now.value("status", "");
    EXPECT_TRUE(status == "started" || status == "pending")
        << "the server answered only after the check: " << now.dump();
  }

  // Each check ends errored after its check_timeout, saying what happened and what to do.
  for (const json& queued : {git.json, http.json}) {
    json done;
    ASSERT_TRUE(WaitUntil(
        [&] {
          done = server_.Get(queued.value("url", ""));
          return done.value("status", "") == "errored" || done.value("status", "") == "succeeded";
        },
        std::chrono::seconds(60)))
        << "the check never ended: " << done.dump();
    EXPECT_EQ(done.value("status", ""), "errored") << done.dump();
    const std::string error = done.value("error", "");
    EXPECT_NE(error.find("timed out after 15s"), std::string::npos) << error;
    EXPECT_NE(error.find("check_timeout"), std::string::npos) << error;
    EXPECT_NE(error.find(queued.value("resource", "")), std::string::npos) << error;
  }
  EXPECT_GE(listener_.accepted(), 2) << "the checks never reached the silent remote";
  CliResult followed = cli->Wait();
  EXPECT_EQ(followed.exit_code, 1) << followed.All();
  EXPECT_NE(followed.err.find("check of stuck/over-git errored"), std::string::npos)
      << followed.All();
  EXPECT_NE(followed.err.find("timed out after 15s"), std::string::npos) << followed.All();
  CliResult queued = server_.Cli({"check-resource", "-r", "stuck/over-http", "--async"});
  EXPECT_EQ(queued.exit_code, 0) << queued.All();
  EXPECT_NE(queued.out.find("/api/v1/checks/"), std::string::npos) << queued.All();
  json resources = server_.Get("/api/v1/teams/main/pipelines/stuck/resources");
  ASSERT_TRUE(resources.is_array()) << resources.dump();
  for (const json& r : resources) {
    EXPECT_NE(r.value("check_error", "").find("timed out"), std::string::npos) << r.dump();
  }
}

TEST_F(CheckHang, AnUnknownCheckIdIsA404AndANonNumericOneA400) {
  EXPECT_EQ(server_.Api("GET", "/api/v1/checks/999999").status, 404);
  EXPECT_EQ(server_.Api("GET", "/api/v1/checks/abc").status, 400);
  EXPECT_EQ(server_.Api("GET", "/api/v1/checks/1", "", {}, false).status, 401);
  EXPECT_EQ(PostCheck("no-such-resource").status, 404);
}

}  // namespace
}  // namespace baton::testing
