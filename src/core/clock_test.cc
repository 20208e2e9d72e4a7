#include "core/clock.h"

#include <gtest/gtest.h>

namespace switchboard {
namespace {

TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
  ManualClock c(1000);
  EXPECT_EQ(c.Now(), 1000);
  c.Advance(7 * kMicrosPerDay);
  EXPECT_EQ(c.Now(), 1000 + 7 * kMicrosPerDay);
  c.Set(5);
  EXPECT_EQ(c.Now(), 5);
}

TEST(ClockTest, SystemClockIsAfter2025) {
  SystemClock c;
  EXPECT_GT(c.Now(), *ParseTimestamp("2025-01-01T00:00:00Z"));
}

TEST(ClockTest, TimestampRoundTrip) {
  auto t = ParseTimestamp("2026-11-24T18:45:54Z");
  ASSERT_TRUE(t) << t.error().ToString();
  EXPECT_EQ(FormatTimestamp(*t), "2026-11-24T18:45:54Z");
  EXPECT_EQ(*t, 1795545954LL * kMicrosPerSecond);
}

TEST(ClockTest, OffsetsAndFractions) {
  EXPECT_EQ(*ParseTimestamp("2026-11-24T19:45:54+01:00"), *ParseTimestamp("2026-11-24T18:45:54Z"));
  EXPECT_EQ(*ParseTimestamp("2026-11-24T18:45:54.5Z") - *ParseTimestamp("2026-11-24T18:45:54Z"),
            500000);
  EXPECT_EQ(*ParseTimestamp("1970-01-02"), kMicrosPerDay);
}

TEST(ClockTest, RejectsBadTimes) {
  EXPECT_FALSE(ParseTimestamp("2026-02-30"));
  EXPECT_FALSE(ParseTimestamp("2026-11-24T25:00:00Z"));
  EXPECT_FALSE(ParseTimestamp("2026-11-24T10:00:00"));  // no zone
  EXPECT_FALSE(ParseTimestamp("yesterday"));
}

TEST(ClockTest, Dates) {
  EXPECT_EQ(*ParseDate("1970-01-01"), 0);
  EXPECT_EQ(FormatDate(*ParseDate("2024-02-29")), "2024-02-29");
  EXPECT_FALSE(ParseDate("2023-02-29"));
  EXPECT_FALSE(ParseDate("2023-2-1"));
  EXPECT_EQ(FormatDate(-1), "1969-12-31");
}

TEST(ClockTest, TimesOrOffsets) {
  const Micros now = *ParseTimestamp("2026-11-24T12:00:00Z");
  EXPECT_EQ(*ParseTimeOrOffset("now", now), now);
  EXPECT_EQ(*ParseTimeOrOffset("+8h", now), now + 8 * 3600 * kMicrosPerSecond);
  EXPECT_EQ(*ParseTimeOrOffset("+30d", now), now + 30 * kMicrosPerDay);
  EXPECT_EQ(*ParseTimeOrOffset("+2w", now), now + 14 * kMicrosPerDay);
  EXPECT_EQ(*ParseTimeOrOffset("2026-12-01", now), *ParseTimestamp("2026-12-01"));
  EXPECT_FALSE(ParseTimeOrOffset("+", now));
  EXPECT_FALSE(ParseTimeOrOffset("+8y", now));
  EXPECT_FALSE(ParseTimeOrOffset("+99999999999d", now));
  EXPECT_FALSE(ParseTimeOrOffset("tomorrow", now));
}

}  // namespace
}  // namespace switchboard
