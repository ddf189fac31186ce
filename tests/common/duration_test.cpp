#include "baton/common/duration.h"

#include <gtest/gtest.h>

#include "baton/common/strings.h"

namespace baton {
namespace {

using namespace std::chrono_literals;

TEST(ParseDuration, AcceptsGoStyleCompoundDurations) {
  EXPECT_EQ(ParseDuration("1h30m").value(), 90min);
  EXPECT_EQ(ParseDuration("250ms").value(), 250ms);
  EXPECT_EQ(ParseDuration("1.5s").value(), 1500ms);
  EXPECT_EQ(ParseDuration("0").value(), 0s);
  EXPECT_EQ(ParseDuration("-2m").value(), -2min);
}

TEST(ParseDuration, RejectsMissingUnitsAndSaysWhatIsExpected) {
  auto r = ParseDuration("10");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("missing unit"), std::string::npos);
  EXPECT_NE(r.status().message().find("\"30s\""), std::string::npos);
  EXPECT_FALSE(ParseDuration("5 minutes").ok());
  EXPECT_FALSE(ParseDuration("").ok());
  EXPECT_FALSE(ParseDuration("1x").ok());
}

TEST(FormatDuration, PrintsLikeGo) {
  EXPECT_EQ(FormatDuration(90min), "1h30m0s");
  EXPECT_EQ(FormatDuration(250ms), "250ms");
  EXPECT_EQ(FormatDuration(0s), "0s");
}

TEST(ClosestMatch, SuggestsTheNearestKnownKey) {
  EXPECT_EQ(ClosestMatch("serial_group", {"serial", "serial_groups", "plan"}), "serial_groups");
  EXPECT_EQ(ClosestMatch("zzzzzz", {"serial", "plan"}), std::nullopt);
}

}  // namespace
}  // namespace baton
