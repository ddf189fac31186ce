// Issue 9, bounded parsing on the server: pipeline parsing and validation run on the server's
// work threads (Response::Offload), so requests in flight there never hold the io threads,
// and a deadline answers 503 without side effects. Checked with work that blocks until the
// test releases it, so nothing here depends on timing; the e2e test sends real alias bombs.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "baton/net/http_client.h"
#include "baton/webapi/http_server.h"

namespace baton::webapi {
namespace {
using net::HttpClient;

// A gate the offloaded work waits at until the test opens it.
class Gate {
 public:
  void Wait() {
    std::unique_lock lock(mutex_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
  }
  void Open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }
  bool WaitForWaiters(int n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(30), [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int waiting_ = 0;
  bool open_ = false;
};

struct SlowServer {
  explicit SlowServer(ServerOptions options) {
    Router router;
    router.Add("GET", "/fast", [](Request&) { return Response::Json(200, R"({"ok":true})"); });
    router.Add("PUT", "/slow", [this](Request&) {
      return Response::Offload([this](WorkClaim& claim) {
        gate.Wait();
        committed = claim.Commit();
        return Response::Json(200, R"({"slow":true})");
      });
    });
    router.Add("PUT", "/throws", [](Request&) {
      return Response::Offload([](WorkClaim&) -> Response { throw std::runtime_error("boom"); });
    });
    server = std::make_unique<HttpServer>(std::move(router), options);
  }
  ~SlowServer() { gate.Open(); }
  std::string Url(const std::string& path) const { return server->base_url() + path; }

  Gate gate;
  std::atomic<bool> committed{false};
  std::unique_ptr<HttpServer> server;
};

TEST(ParseOffload, OffloadedWorkOnEveryIoThreadDoesNotDelayOtherRequests) {
  ServerOptions options;
  options.io_threads = 2;
  options.work_threads = 2;
  SlowServer slow(options);
  ASSERT_TRUE(slow.server->Start().ok());
  HttpClient client;
  auto first =
      std::async(std::launch::async, [&] { return client.Send("PUT", slow.Url("/slow"), "", {}); });
  HttpClient client2;
  auto second = std::async(std::launch::async,
                           [&] { return client2.Send("PUT", slow.Url("/slow"), "", {}); });
  ASSERT_TRUE(slow.gate.WaitForWaiters(2));  // both requests are being worked on
  HttpClient client3;
  auto fast = client3.Get(slow.Url("/fast"));  // with handlers on the io threads: no answer
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  EXPECT_EQ(fast->status, 200);
  slow.gate.Open();
  ASSERT_TRUE(first.get().ok());
  auto r = second.get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"slow":true})");
}

TEST(ParseOffload, PastTheDeadlineTheClientGets503AndTheWorkMayNotCommit) {
  ServerOptions options;
  options.work_deadline = std::chrono::milliseconds(50);
  SlowServer slow(options);
  ASSERT_TRUE(slow.server->Start().ok());
  HttpClient client;
  auto r = client.Send("PUT", slow.Url("/slow"), "", {});  // the gate stays shut: deadline
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->status, 503);
  EXPECT_NE(r->body.find("nothing was changed"), std::string::npos) << r->body;
  slow.gate.Open();
  slow.server->Stop();  // joins the work threads
  EXPECT_FALSE(slow.committed);
}

TEST(ParseOffload, AnExceptionInOffloadedWorkIsA500WithAJsonMessage) {
  SlowServer slow(ServerOptions{});
  ASSERT_TRUE(slow.server->Start().ok());
  HttpClient client;
  auto r = client.Send("PUT", slow.Url("/throws"), "", {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, 500);
  EXPECT_NE(r->body.find("boom"), std::string::npos) << r->body;
}

}  // namespace
}  // namespace baton::webapi
