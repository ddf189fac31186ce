// Response::Await: a handler that asks another thread (the scheduler) to act answers when that
// thread delivers, while the server's io threads go on serving; no thread waits. Driven by a
// responder the test holds and calls, so nothing here depends on timing.
#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <optional>

#include "baton/net/http_client.h"
#include "baton/webapi/http_server.h"

namespace baton::webapi {
namespace {
using net::HttpClient;

// Where the handler leaves its responder for the test to call (or drop).
class Slot {
 public:
  void Put(Responder responder) {
    std::lock_guard lock(mutex_);
    responder_ = std::move(responder);
    changed_.notify_all();
  }
  // Waits (30 s at most) for a responder and takes it.
  std::optional<Responder> Take() {
    std::unique_lock lock(mutex_);
    if (!changed_.wait_for(lock, std::chrono::seconds(30), [&] { return responder_ != nullptr; })) {
      return std::nullopt;
    }
    Responder out = std::move(responder_);
    responder_ = nullptr;
    return out;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  Responder responder_;
};

class AwaitedResponseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Router router;
    router.Add("GET", "/fast", [](Request&) { return Response::Json(200, R"({"ok":true})"); });
    router.Add("PUT", "/command", [this](Request&) {
      return Response::Await([this](Responder respond) { slot_.Put(std::move(respond)); });
    });
    // Offloaded work that ends in an awaited response (as set-pipeline does: parse, then send
    // the command).
    router.Add("PUT", "/parse-then-command", [this](Request&) {
      return Response::Offload([this](WorkClaim& claim) {
        EXPECT_TRUE(claim.Commit());
        return Response::Await([this](Responder respond) { slot_.Put(std::move(respond)); });
      });
    });
    ServerOptions options;
    options.io_threads = 1;  // one io thread: a blocked one would stall /fast below
    server_ = std::make_unique<HttpServer>(std::move(router), options);
    ASSERT_TRUE(server_->Start().ok());
  }

  std::future<Result<net::ClientResponse>> PutAsync(const std::string& path) {
    return std::async(std::launch::async, [this, path] {
      HttpClient client;
      return client.Put(server_->base_url() + path, "{}");
    });
  }

  Slot slot_;
  std::unique_ptr<HttpServer> server_;
  HttpClient client_;
};

TEST_F(AwaitedResponseTest, TheServerServesOtherRequestsUntilTheAnswerArrives) {
  auto pending = PutAsync("/command");
  auto respond = slot_.Take();
  ASSERT_TRUE(respond.has_value()) << "the handler never started its awaited work";
  // The only io thread is free while the command is out.
  auto fast = client_.Get(server_->base_url() + "/fast");
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  EXPECT_EQ(fast->status, 200);
  (*respond)(Response::Json(201, R"({"applied":true})"));
  auto answered = pending.get();
  ASSERT_TRUE(answered.ok()) << answered.status().ToString();
  EXPECT_EQ(answered->status, 201);
  EXPECT_EQ(answered->body, R"({"applied":true})");
}

TEST_F(AwaitedResponseTest, OffloadedWorkCanEndInAnAwaitedAnswer) {
  auto pending = PutAsync("/parse-then-command");
  auto respond = slot_.Take();
  ASSERT_TRUE(respond.has_value());
  (*respond)(Response::Json(200, R"({"set":true})"));
  auto answered = pending.get();
  ASSERT_TRUE(answered.ok()) << answered.status().ToString();
  EXPECT_EQ(answered->status, 200);
  EXPECT_EQ(answered->body, R"({"set":true})");
}

TEST_F(AwaitedResponseTest, AResponderDroppedUncalledAnswers503SayingWhatToDo) {
  auto pending = PutAsync("/command");
  {
    auto respond = slot_.Take();
    ASSERT_TRUE(respond.has_value());
  }  // dropped: as when the scheduler stops before it answers
  auto answered = pending.get();
  ASSERT_TRUE(answered.ok()) << answered.status().ToString();
  EXPECT_EQ(answered->status, 503);
  EXPECT_NE(answered->body.find("may or may not have been applied"), std::string::npos)
      << answered->body;
}

TEST(AwaitedResponse, ResolveWaitsForTheAnswerOutsideAServer) {
  std::thread deliverer;
  Response r = Response::Resolve(Response::Await([&deliverer](Responder respond) {
    deliverer = std::thread([respond] { respond(Response::Json(202, R"({"later":true})")); });
  }));
  deliverer.join();
  EXPECT_EQ(r.status, 202);
  EXPECT_EQ(r.body, R"({"later":true})");
}

}  // namespace
}  // namespace baton::webapi
