// RFC 3339 times as Baton writes them (FormatRfc3339) and as others do (ParseRfc3339).
#include "baton/common/clock.h"

#include <gtest/gtest.h>

namespace baton {
namespace {

int64_t Millis(std::string_view text) {
  auto t = ParseRfc3339(text);
  EXPECT_TRUE(t.has_value()) << text;
  return t ? ToUnixMillis(*t) : -1;
}

TEST(Rfc3339, ReadsWhatFormatRfc3339Writes) {
  const SystemTime t = FromUnixMillis(1796569445123);
  EXPECT_EQ(FormatRfc3339(t), "2026-12-06T15:04:05.123Z");
  EXPECT_EQ(ParseRfc3339(FormatRfc3339(t)), t);
}

TEST(Rfc3339, ReadsFractionsOffsetsAndTheLowerCaseLetters) {
  EXPECT_EQ(Millis("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(Millis("2026-12-06T15:04:05Z"), 1796569445000);
  EXPECT_EQ(Millis("2026-12-06t15:04:05.5z"), 1796569445500);
  EXPECT_EQ(Millis("2026-12-06 17:04:05+02:00"), 1796569445000);
  EXPECT_EQ(Millis("2026-12-06T10:34:05-04:30"), 1796569445000);
  const auto nanos = ParseRfc3339("2023-03-09T18:01:02.123456789Z");  // as image configs have it
  ASSERT_TRUE(nanos.has_value());
  EXPECT_EQ(nanos->time_since_epoch() % std::chrono::seconds(1),
            std::chrono::nanoseconds(123456789));
  EXPECT_EQ(Millis("2023-03-09T18:01:02.1234567891234Z"), 1678384862123) << "past nanoseconds";
}

TEST(Rfc3339, RefusesWhatIsNotATime) {
  for (const char* bad :
       {"", "2026-12-06", "2026-12-06T15:04:05", "2026-12-06T15:04:05.Z", "2026-13-06T15:04:05Z",
        "2026-12-00T15:04:05Z", "2026-12-06T24:00:00Z", "2026-12-06T15:60:05Z",
        "2026-12-06T15:04:05+2:00", "2026-12-06T15:04:05+02:60", "2026-12-06T15:04:05Zjunk",
        "2026/12/06T15:04:05Z", "20261206T150405Z", "2026-12-06X15:04:05Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace baton
