// BuildFrames: the streams of one build share formatted frames. The front stream reads and
// formats a run once; the others get slices of the same bytes; the cache stays within its bound;
// streams behind the cache or past it get their own events, complete and in order.
#include "baton/webapi/build_frames.h"

#include <gtest/gtest.h>

#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "baton/net/sse.h"

namespace baton::webapi {
namespace {

using runner::BuildEvent;

// A build log of `count` events (seq 1..count) that counts the store reads made of it.
class FakeLog {
 public:
  explicit FakeLog(int count, size_t payload_bytes = 50) {
    for (int i = 1; i <= count; ++i) {
      events_.push_back({i, {}, "s1", "log", "stdout", std::string(payload_bytes, 'a' + i % 26)});
    }
  }
  BuildFrames::ReadEvents Reader() {
    return [this](int64_t after, int limit) -> Result<std::vector<BuildEvent>> {
      ++reads;
      std::vector<BuildEvent> out;
      for (const BuildEvent& e : events_) {
        if (e.seq > after && static_cast<int>(out.size()) < limit) out.push_back(e);
      }
      return out;
    };
  }
  void Append(int count) {
    int64_t next = static_cast<int64_t>(events_.size()) + 1;
    for (int i = 0; i < count; ++i) events_.push_back({next + i, {}, "s1", "log", "stdout", "x"});
  }
  // What the stream must carry for seqs (after, last].
  std::string Expected(int64_t after, int64_t last) const {
    std::string out;
    for (const BuildEvent& e : events_) {
      if (e.seq > after && e.seq <= last) out += net::FormatSseEvent(BuildEventToSse(e));
    }
    return out;
  }
  int64_t size() const { return static_cast<int64_t>(events_.size()); }
  int reads = 0;

 private:
  std::vector<BuildEvent> events_;
};

// Pulls everything after `after` as a stream does (registered as `stream`, or not with 0); the
// bytes in order.
std::string Drain(BuildFrames& frames, FakeLog& log, int64_t after, size_t max_events = 256,
                  size_t max_bytes = 256 * 1024, uint64_t stream = 0) {
  std::string out;
  while (true) {
    auto next = frames.Next(after, max_events, max_bytes, log.Reader(), stream);
    EXPECT_TRUE(next.ok());
    if (!next.ok() || next->bytes.empty()) return out;
    out.append(next->bytes);
    after = std::stoll(next->last_id);
  }
}

// The fast frame is the old one (a JSON object dumped, then framed) byte for byte, whatever the
// strings hold; and where the old one threw (invalid UTF-8), so does it.
TEST(BuildFrames, AFrameWrittenFieldByFieldIsTheDumpedObjectFramedByteForByte) {
  const std::vector<std::string> strings = {
      "",
      "plain log line 0123456789 ~!@#$%^&*()_+{}|:<>?/.,;'[]=-`",
      "quote \" and backslash \\ and both \\\"",
      "tab\tnewline\ncarriage\rcrlf\r\nend\n",
      std::string("nul \0 inside", 12),
      "\x01\x02\x1f control, \x1b[31mred\x1b[0m, DEL \x7f",
      "utf-8: caf\xc3\xa9, \xe2\x82\xac, \xf0\x9f\x9a\x80",
      "\"leading and trailing\\",
      "/slashes/ are not escaped",
      "a run\nof three\nlines",  // a log event's payload since issue 16
      "\n\nempty lines around\n",
      "a run with \"quotes\"\nand \\ backslashes",
  };
  const SystemTime when = FromUnixMillis(1764700000123);
  for (const std::string& text : strings) {
    for (int field = 0; field < 4; ++field) {
      BuildEvent e{123456789, when, "step-1", "log", "stdout", "payload"};
      std::string* target[] = {&e.origin, &e.type, &e.stream, &e.payload};
      *target[field] = text;
      std::string fast;
      AppendBuildEventFrame(e, &fast);
      EXPECT_EQ(fast, net::FormatSseEvent(BuildEventToSse(e)))
          << "field " << field << " holding '" << text << "'";
    }
  }
  BuildEvent invalid{1, {}, "s1", "log", "stdout", "bad \xff\xfe utf-8 \xc3"};
  std::string fast;
  EXPECT_ANY_THROW(BuildEventToSse(invalid));
  EXPECT_ANY_THROW(AppendBuildEventFrame(invalid, &fast));
}

TEST(BuildFrames, StreamsOfOneBuildWriteTheSameBytesReadFromTheStoreOnce) {
  FakeLog log(3000);
  BuildFrames frames(/*max_bytes=*/4 << 20, /*run_events=*/1024);
  auto first = frames.Next(0, 256, 256 * 1024, log.Reader());
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(log.reads, 1);
  EXPECT_EQ(first->last_id, "256");
  for (int stream = 0; stream < 9; ++stream) {
    auto same = frames.Next(0, 256, 256 * 1024, log.Reader());
    ASSERT_TRUE(same.ok());
    EXPECT_EQ(same->storage.get(), first->storage.get()) << "stream " << stream << " copied";
    EXPECT_EQ(same->bytes.data(), first->bytes.data());
    EXPECT_EQ(same->last_id, "256");
  }
  EXPECT_EQ(log.reads, 1) << "the other streams read the store again";
  std::string all;
  for (int stream = 0; stream < 10; ++stream) all = Drain(frames, log, 0);
  EXPECT_EQ(all, log.Expected(0, 3000));
  // Three runs of up to 1,024 read once each, then each stream's last read at the front that
  // found nothing new (a live stream would wait there for the next events).
  EXPECT_EQ(log.reads, 3 + 10);
  BuildFrames::Counts counts = frames.counts();
  EXPECT_EQ(counts.shared_runs, 3u);
  EXPECT_EQ(counts.shared_events, 3000u);
  EXPECT_EQ(counts.own_runs, 0u) << "every stream shared the runs";
}

TEST(BuildFrames, ABatchStopsAtTheEventAndByteCapsButTheFirstEventAlwaysGoes) {
  FakeLog log(100, /*payload_bytes=*/1000);
  BuildFrames frames;
  auto batch = frames.Next(0, 10, 1 << 20, log.Reader());
  ASSERT_TRUE(batch.ok());
  EXPECT_EQ(batch->last_id, "10");
  EXPECT_EQ(batch->bytes, log.Expected(0, 10));
  auto capped = frames.Next(10, 100, 2500, log.Reader());
  ASSERT_TRUE(capped.ok());
  EXPECT_EQ(capped->last_id, "12") << "two events of ~1.1 KB fit in 2,500 bytes";
  EXPECT_EQ(capped->bytes, log.Expected(10, 12));
  auto alone = frames.Next(12, 100, 10, log.Reader());
  ASSERT_TRUE(alone.ok());
  EXPECT_EQ(alone->last_id, "13") << "an event larger than the cap goes alone";
  EXPECT_EQ(alone->bytes, log.Expected(12, 13));
}

TEST(BuildFrames, TheCacheStaysWithinItsBoundAndAStreamBehindItStillGetsEverything) {
  FakeLog log(20000, /*payload_bytes=*/100);  // ~3.4 MB of frames
  BuildFrames frames(/*max_bytes=*/256 * 1024, /*run_events=*/512);
  EXPECT_EQ(Drain(frames, log, 0), log.Expected(0, 20000));
  EXPECT_LE(frames.cached_bytes(), 256u * 1024);
  EXPECT_GT(frames.cached_bytes(), 128u * 1024) << "the newest runs are kept";
  EXPECT_EQ(frames.counts().own_runs, 0u);
  // Evicted: this stream reads its own events, and the cache is not disturbed.
  EXPECT_EQ(Drain(frames, log, 0), log.Expected(0, 20000));
  EXPECT_EQ(Drain(frames, log, 12345), log.Expected(12345, 20000));
  EXPECT_GT(frames.counts().own_runs, 0u);
  EXPECT_EQ(frames.counts().shared_events, 20000u);
}

// A registered stream far behind the fastest keeps the runs it has not sent, so it shares them
// instead of formatting its own; once it has sent them (or leaves) they go.
TEST(BuildFrames, RunsAreKeptPastTheSoftBoundUntilTheSlowestRegisteredStreamHasSentThem) {
  FakeLog log(5000, /*payload_bytes=*/100);  // ~0.9 MB of frames
  BuildFrames frames(/*max_bytes=*/256 * 1024, /*run_events=*/512, /*hard_max_bytes=*/4 << 20);
  uint64_t fast = frames.AddStream();
  uint64_t slow = frames.AddStream();
  auto first = frames.Next(0, 256, 256 * 1024, log.Reader(), slow);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(Drain(frames, log, 0, 256, 256 * 1024, fast), log.Expected(0, 5000));
  EXPECT_GT(frames.cached_bytes(), 512u * 1024) << "runs the slow stream has not sent were freed";
  EXPECT_EQ(frames.counts().peak_kept_bytes, frames.cached_bytes());
  EXPECT_EQ(Drain(frames, log, 256, 256, 256 * 1024, slow), log.Expected(256, 5000));
  EXPECT_EQ(frames.counts().own_runs, 0u) << "the slow stream formatted its own events";
  EXPECT_EQ(frames.counts().shared_events, 5000u);
  EXPECT_LE(frames.cached_bytes(), 256u * 1024) << "sent by both, yet still kept";
  EXPECT_GT(frames.cached_bytes(), 0u) << "the newest run always stays";
}

TEST(BuildFrames, AStalledStreamHoldsNoMoreThanTheHardBoundAndLeavingFreesTheRest) {
  FakeLog log(20000, /*payload_bytes=*/100);  // ~3.4 MB of frames
  BuildFrames frames(/*max_bytes=*/256 * 1024, /*run_events=*/512, /*hard_max_bytes=*/1 << 20);
  uint64_t stalled = frames.AddStream();
  ASSERT_TRUE(frames.Next(0, 256, 256 * 1024, log.Reader(), stalled).ok());
  uint64_t fast = frames.AddStream();
  EXPECT_EQ(Drain(frames, log, 0, 256, 256 * 1024, fast), log.Expected(0, 20000));
  EXPECT_LE(frames.cached_bytes(), 1u << 20);
  EXPECT_GT(frames.cached_bytes(), 512u * 1024);
  EXPECT_LE(frames.counts().peak_kept_bytes, (1u << 20) + 128 * 1024) << "one run past the bound";
  EXPECT_EQ(Drain(frames, log, 256, 256, 256 * 1024, stalled), log.Expected(256, 20000))
      << "past the hard bound it reads its own events, complete";
  EXPECT_GT(frames.counts().own_runs, 0u);
  frames.RemoveStream(stalled);
  frames.RemoveStream(fast);
  EXPECT_LE(frames.cached_bytes(), 256u * 1024) << "nobody left to keep them for";
}

TEST(BuildFrames, EventsAppendedLaterAreReadAtTheFrontAndJoinTheCache) {
  FakeLog log(10);
  BuildFrames frames;
  EXPECT_EQ(Drain(frames, log, 0), log.Expected(0, 10));
  log.Append(5);
  int reads = log.reads;
  EXPECT_EQ(Drain(frames, log, 10), log.Expected(10, 15));
  EXPECT_EQ(log.reads, reads + 2);  // the new run, then nothing more
  reads = log.reads;
  EXPECT_EQ(Drain(frames, log, 0), log.Expected(0, 15)) << "both runs from the cache";
  EXPECT_EQ(log.reads, reads + 1);  // only the final read at the front that finds nothing
}

TEST(BuildFrames, StreamsPullingAtOnceFromManyThreadsEachGetEveryEventInOrder) {
  FakeLog log(50000, /*payload_bytes=*/20);
  BuildFrames frames(/*max_bytes=*/64 << 20, /*run_events=*/1024);  // nothing evicted
  std::string expected = log.Expected(0, 50000);
  std::vector<std::string> got(8);
  std::vector<std::thread> streams;
  std::mutex log_mutex;  // FakeLog's reads are not thread-safe; BuildFrames may read unlocked
  auto reader = [&](int64_t after, int limit) {
    std::lock_guard lock(log_mutex);
    return log.Reader()(after, limit);
  };
  for (size_t i = 0; i < got.size(); ++i) {
    streams.emplace_back([&, i] {
      int64_t after = 0;
      while (true) {
        auto next = frames.Next(after, 256, 256 * 1024, reader);
        if (!next.ok() || next->bytes.empty()) return;
        got[i].append(next->bytes);
        after = std::stoll(next->last_id);
      }
    });
  }
  for (auto& t : streams) t.join();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_TRUE(got[i] == expected) << "stream " << i;
  // 49 runs of up to 1,024, then each stream's last read at the front that finds nothing.
  EXPECT_EQ(log.reads, 49 + 8) << "streams at the front share their reads";
}

}  // namespace
}  // namespace baton::webapi
