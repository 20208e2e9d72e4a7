#include "core/clock.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

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

TEST(ClockTest, OffsetClockAddsItsOffsetToItsBase) {
  ManualClock base(1000);
  OffsetClock c(base);
  EXPECT_EQ(c.Now(), 1000);
  EXPECT_EQ(c.offset(), 0);
  auto moved = c.Advance(3 * kMicrosPerDay);
  ASSERT_TRUE(moved);
  EXPECT_EQ(*moved, 3 * kMicrosPerDay);
  EXPECT_EQ(c.Now(), 1000 + 3 * kMicrosPerDay);
  base.Advance(5);  // the base runs on under the offset
  EXPECT_EQ(c.Now(), 1005 + 3 * kMicrosPerDay);
  OffsetClock restarted(base, 7);
  EXPECT_EQ(restarted.Now(), 1012);
  EXPECT_EQ(OffsetClock(base, -50).offset(), 0);  // never behind its base
}

TEST(ClockTest, OffsetClockNeverGoesBack) {
  ManualClock base(0);
  OffsetClock c(base, 100);
  EXPECT_FALSE(c.Advance(0));
  EXPECT_FALSE(c.Advance(-1));
  EXPECT_EQ(c.offset(), 100);
  EXPECT_EQ(c.RaiseOffsetTo(40), 100);
  EXPECT_EQ(c.offset(), 100);
  EXPECT_EQ(c.RaiseOffsetTo(250), 250);
  EXPECT_EQ(c.Now(), 250);
}

TEST(ClockTest, OffsetClockMovesAddUpAcrossThreads) {
  ManualClock base(0);
  OffsetClock c(base);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&c] {
      for (int i = 0; i < 1000; ++i) {
        ASSERT_TRUE(c.Advance(1));
        c.RaiseOffsetTo(0);  // never lowers what the others added
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(c.offset(), 4000);
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
