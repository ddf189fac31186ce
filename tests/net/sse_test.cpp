// The event-stream wire format: what a server writes and a client parses.
#include "baton/net/sse.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace baton::net {
namespace {

TEST(SseFormat, MultiLineDataRoundTripsThroughTheParser) {
  SseEvent sent{"7", "log", "line one\nline two\r\nline three"};
  std::string wire = FormatSseEvent(sent);
  EXPECT_EQ(wire, "id: 7\nevent: log\ndata: line one\ndata: line two\ndata: line three\n\n");
  std::vector<SseEvent> got;
  SseParser parser([&](const SseEvent& e) {
    got.push_back(e);
    return true;
  });
  // Fed one byte at a time, with a comment in between, to exercise the incremental parser.
  std::string all = FormatSseComment("hi") + wire;
  for (char c : all) ASSERT_TRUE(parser.Feed(std::string_view(&c, 1)));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], (SseEvent{"7", "log", "line one\nline two\nline three"}));
}

TEST(SseFormat, FieldsCannotInjectLines) {
  EXPECT_EQ(FormatSseEvent({"1\n2", "a\rb", "x"}), "id: 1 2\nevent: a b\ndata: x\n\n");
}

TEST(SseParser, AcceptsCrLfAndCrLineEndsAndReportsComments) {
  std::vector<SseEvent> got;
  std::vector<std::string> comments;
  SseParser parser(
      [&](const SseEvent& e) {
        got.push_back(e);
        return true;
      },
      [&](std::string_view c) { comments.emplace_back(c); });
  ASSERT_TRUE(parser.Feed(": keep-alive\r\n\r\nid: 1\rdata: a\r\rid: 2\r\ndata:b\r\n\r\n"));
  EXPECT_EQ(comments, std::vector<std::string>{"keep-alive"});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], (SseEvent{"1", "", "a"}));
  EXPECT_EQ(got[1], (SseEvent{"2", "", "b"}));
}

// The parser scans a line at a time: any split of the bytes (inside a line, between a CR and its
// LF, inside a field name) gives the same events.
TEST(SseParser, GivesTheSameEventsHoweverTheBytesAreSplit) {
  const std::string wire = ": hi\r\nid: 1\r\nevent: log\r\ndata: a\r\ndata: b\r\r\nid: 22\ndata: " +
                           std::string(300, 'x') + "\n\nid: 3\rdata:c\r\r";
  auto parse = [](const std::vector<std::string_view>& parts) {
    std::vector<SseEvent> got;
    SseParser parser([&](const SseEvent& e) {
      got.push_back(e);
      return true;
    });
    for (std::string_view part : parts) EXPECT_TRUE(parser.Feed(part));
    return got;
  };
  const std::string_view all(wire);
  const std::vector<SseEvent> whole = parse({all});
  ASSERT_EQ(whole.size(), 3u);
  EXPECT_EQ(whole[0], (SseEvent{"1", "log", "a\nb"}));
  EXPECT_EQ(whole[1], (SseEvent{"22", "", std::string(300, 'x')}));
  EXPECT_EQ(whole[2], (SseEvent{"3", "", "c"}));
  for (size_t cut = 0; cut <= all.size(); ++cut) {
    ASSERT_EQ(parse({all.substr(0, cut), all.substr(cut)}), whole) << "cut at " << cut;
    for (size_t cut2 = cut; cut2 <= all.size(); cut2 += 7) {
      ASSERT_EQ(parse({all.substr(0, cut), all.substr(cut, cut2 - cut), all.substr(cut2)}), whole)
          << "cut at " << cut << " and " << cut2;
    }
  }
}

}  // namespace
}  // namespace baton::net
