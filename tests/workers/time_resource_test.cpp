#include <gtest/gtest.h>

#include "baton/workers/resource_type.h"
#include "fakes/fake_clock.h"
#include "fakes/test_env.h"

namespace baton::workers {
namespace {

using baton::testing::FakeClock;

class TimeResource : public ::testing::Test {
 protected:
  TimeResource() { ctx_.clock = &clock_; }
  std::vector<Json> Check(const Json& source, const Json& from) {
    auto versions = type_->Check(ctx_, source, from);
    EXPECT_TRUE(versions.ok()) << versions.status().ToString();
    return versions.ok() ? *versions : std::vector<Json>{};
  }
  std::unique_ptr<ResourceType> type_ = MakeBuiltinResourceType("time");
  FakeClock clock_;
  ResourceContext ctx_;
};

TEST_F(TimeResource, IntervalEmitsTheCurrentTimeOnTheFirstCheck) {
  clock_.SetNow("2024-03-01T10:00:00Z");
  EXPECT_EQ(Check({{"interval", "1h"}}, nullptr),
            std::vector<Json>{Json({{"time", "2024-03-01T10:00:00Z"}})});
}

TEST_F(TimeResource, IntervalWaitsUntilItHasElapsedSinceThePreviousVersion) {
  Json from = {{"time", "2024-03-01T10:00:00Z"}};
  clock_.SetNow("2024-03-01T10:59:59Z");
  EXPECT_EQ(Check({{"interval", "1h"}}, from), std::vector<Json>{from});
  clock_.SetNow("2024-03-01T11:00:00.250Z");
  EXPECT_EQ(Check({{"interval", "1h"}}, from),
            (std::vector<Json>{from, Json({{"time", "2024-03-01T11:00:00.250Z"}})}));
}

TEST_F(TimeResource, RangeIsReadInTheLocationsWallClockWithItsOffset) {
  Json source = {{"start", "9:00 AM"}, {"stop", "5:00 PM"}, {"location", "America/New_York"}};
  clock_.SetNow("2024-07-01T12:00:00Z");  // 08:00 EDT: before the range
  EXPECT_TRUE(Check(source, nullptr).empty());
  clock_.SetNow("2024-07-01T13:30:00Z");  // 09:30 EDT
  auto first = Check(source, nullptr);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0]["time"], "2024-07-01T09:30:00-04:00");
  clock_.SetNow("2024-07-01T15:00:00Z");  // same range: once per range without an interval
  EXPECT_EQ(Check(source, first[0]).size(), 1u);
  clock_.SetNow("2024-07-02T13:01:00Z");  // next day's range
  auto next = Check(source, first[0]);
  ASSERT_EQ(next.size(), 2u);
  EXPECT_EQ(next[1]["time"], "2024-07-02T09:01:00-04:00");
}

TEST_F(TimeResource, RangeFollowsDaylightSavingTime) {
  Json source = {{"start", "09:00"}, {"stop", "10:00"}, {"location", "Europe/Berlin"}};
  clock_.SetNow("2024-01-15T08:30:00Z");  // 09:30 CET (+01:00)
  auto winter = Check(source, nullptr);
  ASSERT_EQ(winter.size(), 1u);
  EXPECT_EQ(winter[0]["time"], "2024-01-15T09:30:00+01:00");
  clock_.SetNow("2024-07-15T08:30:00Z");  // 10:30 CEST (+02:00): after the range
  EXPECT_TRUE(Check(source, nullptr).empty());
  clock_.SetNow("2024-07-15T07:30:00Z");  // 09:30 CEST
  EXPECT_EQ(Check(source, nullptr).size(), 1u);
}

TEST_F(TimeResource, RangeAcrossMidnightWorks) {
  Json source = {{"start", "10:00 PM"}, {"stop", "2:00 AM"}};
  clock_.SetNow("2024-03-02T01:00:00Z");
  EXPECT_EQ(Check(source, nullptr).size(), 1u);
  clock_.SetNow("2024-03-02T03:00:00Z");
  EXPECT_TRUE(Check(source, nullptr).empty());
}

TEST_F(TimeResource, DaysRestrictWhichWeekdaysEmit) {
  Json source = {{"interval", "1m"}, {"days", {"Saturday", "sun"}}};
  clock_.SetNow("2024-03-04T12:00:00Z");  // a Monday
  EXPECT_TRUE(Check(source, nullptr).empty());
  clock_.SetNow("2024-03-03T12:00:00Z");  // a Sunday
  EXPECT_EQ(Check(source, nullptr).size(), 1u);
}

TEST_F(TimeResource, InitialVersionEmitsEvenOutsideTheRange) {
  Json source = {{"start", "9:00"}, {"stop", "10:00"}, {"initial_version", true}};
  clock_.SetNow("2024-03-01T20:00:00Z");
  EXPECT_EQ(Check(source, nullptr).size(), 1u);
}

TEST_F(TimeResource, BadSourcesSayWhatToWrite) {
  auto zone = type_->Check(ctx_, {{"location", "Mars/Olympus"}, {"interval", "1h"}}, nullptr);
  ASSERT_FALSE(zone.ok());
  EXPECT_NE(zone.status().message().find("IANA"), std::string::npos);
  auto half_range = type_->Check(ctx_, {{"start", "9:00"}}, nullptr);
  ASSERT_FALSE(half_range.ok());
  EXPECT_NE(half_range.status().message().find("stop"), std::string::npos);
  auto bad_time = type_->Check(ctx_, {{"start", "25:00"}, {"stop", "1:00"}}, nullptr);
  EXPECT_FALSE(bad_time.ok());
}

TEST_F(TimeResource, TimeOfDayAcceptsConcoursesFormats) {
  clock_.SetNow("2024-03-01T15:04:00Z");
  for (const char* start : {"3:04 PM", "3PM", "3 PM", "15:04", "1504"}) {
    auto v = type_->Check(ctx_, {{"start", start}, {"stop", "11:00 PM"}}, nullptr);
    ASSERT_TRUE(v.ok()) << start << ": " << v.status().ToString();
    EXPECT_EQ(v->size(), 1u) << start;
  }
}

TEST_F(TimeResource, GetWritesTheInputFileAndPutEmitsNow) {
  baton::testing::TempDir dir;
  Json version = {{"time", "2024-03-01T10:00:00Z"}};
  auto got = type_->Get(ctx_, {{"interval", "1h"}}, version, Json::object(), dir.path().string());
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->version, version);
  Json input = Json::parse(baton::testing::ReadFile(dir / "input"));
  EXPECT_EQ(input["version"], version);
  clock_.SetNow("2024-05-05T05:05:05Z");
  auto put = type_->Put(ctx_, Json::object(), Json::object(), dir.path().string());
  ASSERT_TRUE(put.ok());
  EXPECT_EQ(put->version["time"], "2024-05-05T05:05:05Z");
}

}  // namespace
}  // namespace baton::workers
