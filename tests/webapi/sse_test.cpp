#include "baton/webapi/sse.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <condition_variable>
#include <future>
#include <thread>

#include "baton/net/http_client.h"
#include "baton/webapi/http_server.h"

namespace baton::webapi {
namespace {
using net::HttpClient;
using net::SseEvent;

using std::chrono::milliseconds;
using std::chrono::seconds;

// Serves `source` at /events (resuming after Last-Event-ID) and a trivial /ping.
std::unique_ptr<HttpServer> StartServer(std::shared_ptr<EventSource> source,
                                        ServerOptions options = {}) {
  Router router;
  router.Add("GET", "/events",
             [source](Request& r) { return Response::EventStream(source, r.LastEventId()); });
  router.Add("GET", "/ping", [](Request&) { return Response::Json(200, "{\"ok\":true}"); });
  auto server = std::make_unique<HttpServer>(std::move(router), options);
  EXPECT_TRUE(server->Start().ok());
  return server;
}

std::vector<std::string> Ids(const std::vector<SseEvent>& events) {
  std::vector<std::string> ids;
  for (const auto& e : events) ids.push_back(e.id);
  return ids;
}

std::vector<std::string> Range(int first, int last) {
  std::vector<std::string> ids;
  for (int i = first; i <= last; ++i) ids.push_back(std::to_string(i));
  return ids;
}

TEST(ServerSentEvents, EventsArriveInOrderAndTheStreamEndsWhenTheSourceFinishes) {
  auto source = std::make_shared<MemoryEventSource>();
  for (int i = 1; i <= 1000; ++i)
    source->Append(i % 2 ? "log" : "", "payload " + std::to_string(i));
  source->Finish();
  auto server = StartServer(source, {.sse_max_batch_events = 64});
  HttpClient client;
  std::vector<SseEvent> got;
  Status s = client.StreamEvents(server->base_url() + "/events", {}, [&](const SseEvent& e) {
    got.push_back(e);
    return true;
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Ids(got), Range(1, 1000));
  EXPECT_EQ(got[0].event, "log");
  EXPECT_EQ(got[999].data, "payload 1000");
  EXPECT_EQ(server->stats().open_streams, 0u);
}

TEST(ServerSentEvents, LiveEventsAreDeliveredAsTheSourceNotifies) {
  auto source = std::make_shared<MemoryEventSource>();
  auto server = StartServer(source);
  source->Append("", "first");
  HttpClient client;
  std::vector<SseEvent> got;
  // Each received event causes the next to be appended, so every one after the first arrives
  // while the stream is waiting for a notification.
  Status s = client.StreamEvents(server->base_url() + "/events", {}, [&](const SseEvent& e) {
    got.push_back(e);
    if (got.size() < 50) {
      source->Append("", "next");
    } else {
      source->Finish();
    }
    return true;
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Ids(got), Range(1, 50));
}

TEST(ServerSentEvents, ResumingWithLastEventIdHasNoGapsAndNoDuplicates) {
  auto source = std::make_shared<MemoryEventSource>();
  for (int i = 1; i <= 100; ++i) source->Append("", std::to_string(i));
  source->Finish();
  auto server = StartServer(source, {.sse_max_batch_events = 7});
  HttpClient client;
  std::vector<SseEvent> first, second;
  ASSERT_TRUE(client
                  .StreamEvents(server->base_url() + "/events", {},
                                [&](const SseEvent& e) {
                                  first.push_back(e);
                                  return e.id != "30";
                                })
                  .ok());
  Headers resume;
  resume.Set("Last-Event-ID", first.back().id);
  ASSERT_TRUE(client
                  .StreamEvents(server->base_url() + "/events", resume,
                                [&](const SseEvent& e) {
                                  second.push_back(e);
                                  return true;
                                })
                  .ok());
  EXPECT_EQ(Ids(first), Range(1, 30));
  EXPECT_EQ(Ids(second), Range(31, 100));
}

TEST(ServerSentEvents, QuietStreamSendsKeepAliveComments) {
  auto source = std::make_shared<MemoryEventSource>();
  auto server = StartServer(source, {.sse_keepalive_interval = milliseconds(50)});
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server->port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  std::string request = "GET /events HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
  std::string got;
  char buf[512];
  ssize_t n;
  // Two keep-alives: the interval repeats, not just fires once.
  while (got.find(": keep-alive\n\n", got.find(": keep-alive\n\n") + 1) == std::string::npos &&
         (n = recv(fd, buf, sizeof(buf), 0)) > 0) {
    got.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  EXPECT_NE(got.find("Content-Type: text/event-stream"), std::string::npos) << got;
  EXPECT_NE(got.find("Transfer-Encoding: chunked"), std::string::npos) << got;
  EXPECT_NE(got.find(": keep-alive\n\n", got.find(": keep-alive\n\n") + 1), std::string::npos)
      << got;
}

// An endless source of same-sized events that records how far the stream has got: a pull
// after id N means events up to N were written to the socket.
class EndlessSource final : public EventSource {
 public:
  explicit EndlessSource(size_t event_bytes) : payload_(event_bytes, 'x') {}

  SseBatch NextEvents(const std::string& after_id, size_t max_events) override {
    size_t after = after_id.empty() ? 0 : std::stoul(after_id);
    {
      std::lock_guard lock(mutex_);
      written_ = std::max(written_, after);
    }
    changed_.notify_all();
    SseBatch batch;
    for (size_t i = 1; i <= max_events; ++i) {
      batch.events.push_back({std::to_string(after + i), "", payload_});
    }
    return batch;
  }
  std::unique_ptr<EventSubscription> Watch(std::function<void()>) override {
    return std::make_unique<EventSubscription>();  // always has events; never needs to notify
  }
  // Waits until at least `n` events were written; returns how many were.
  size_t WaitWritten(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, timeout, [&] { return written_ >= n; });
    return written_;
  }

 private:
  std::string payload_;
  std::mutex mutex_;
  std::condition_variable changed_;
  size_t written_ = 0;  // GUARDED_BY(mutex_)
};

TEST(ServerSentEvents, ClientThatStopsReadingBlocksNobodyAndServerQueueStaysUnderTheCap) {
  constexpr size_t kEventBytes = 16 * 1024;
  constexpr size_t kCap = 64 * 1024;
  auto source = std::make_shared<EndlessSource>(kEventBytes);
  auto server = StartServer(source, {.sse_max_batch_events = 16, .sse_max_batch_bytes = kCap});

  std::promise<void> reading_again;
  std::shared_future<void> gate = reading_again.get_future().share();
  std::vector<std::string> ids;
  size_t resume_after = 0;
  std::atomic<size_t> stop_at{SIZE_MAX};
  Status stream_status;
  std::thread slow([&] {
    HttpClient client;
    stream_status = client.StreamEvents(server->base_url() + "/events", {}, [&](const SseEvent& e) {
      if (ids.empty()) gate.wait();  // stop reading the socket after the first event
      ids.push_back(e.id);
      if (e.data.size() != kEventBytes) return false;
      return ids.size() < stop_at;
    });
  });

  // Many MB are on offer; the server takes only what the socket accepts, one capped batch at a
  // time. Wait until the stream has pushed well over the cap into the non-reading client.
  size_t written = source->WaitWritten(64, seconds(20));  // 64 x 16 KiB = 1 MiB
  ASSERT_GE(written, 64u);

  HttpClient other;
  auto started = std::chrono::steady_clock::now();
  auto ping = other.Get(server->base_url() + "/ping");
  ASSERT_TRUE(ping.ok()) << ping.status().ToString();
  EXPECT_EQ(ping->status, 200);
  EXPECT_LT(std::chrono::steady_clock::now() - started, seconds(2));

  ServerStats stats = server->stats();
  EXPECT_EQ(stats.open_streams, 1u);
  EXPECT_LE(stats.stream_bytes_queued, kCap);
  EXPECT_LE(stats.stream_bytes_queued_peak, kCap);
  EXPECT_GT(stats.stream_bytes_queued_peak, kCap / 2);  // batches really were capped ones
  // How far the stream got while the client was not reading.
  resume_after = source->WaitWritten(SIZE_MAX, milliseconds(0));

  // Reading again, the client gets every event in order with nothing lost at the cap.
  stop_at = resume_after + 200;
  reading_again.set_value();
  slow.join();
  ASSERT_TRUE(stream_status.ok()) << stream_status.ToString();
  ASSERT_EQ(ids.size(), resume_after + 200);
  EXPECT_EQ(ids, Range(1, static_cast<int>(ids.size())));
  RecordProperty("bytes_pushed_into_stalled_client", std::to_string(resume_after * kEventBytes));
}

TEST(ServerSentEvents, StopEndsOpenStreamsCleanly) {
  auto source = std::make_shared<MemoryEventSource>();
  source->Append("", "hello");
  auto server = StartServer(source);
  std::promise<void> got_first;
  Status stream_status = Internal("not run");
  std::thread follower([&] {
    HttpClient client;
    bool first = true;
    stream_status = client.StreamEvents(server->base_url() + "/events", {}, [&](const SseEvent&) {
      if (first) got_first.set_value();
      first = false;
      return true;
    });
  });
  ASSERT_EQ(got_first.get_future().wait_for(seconds(10)), std::future_status::ready);
  server->Stop();
  follower.join();
  EXPECT_TRUE(stream_status.ok()) << stream_status.ToString();
  EXPECT_EQ(server->stats().open_streams, 0u);
}

TEST(ServerSentEvents, ClientReportsANon200AnswerAsAnError) {
  auto server = StartServer(std::make_shared<MemoryEventSource>());
  HttpClient client;
  Status s = client.StreamEvents(server->base_url() + "/missing", {},
                                 [](const SseEvent&) { return true; });
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("404"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("no route for /missing"), std::string::npos) << s.ToString();
}

}  // namespace
}  // namespace baton::webapi
