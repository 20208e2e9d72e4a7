#include "core/time_zone.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <ctime>

namespace switchboard {
namespace {

Micros At(const char* iso) { return *ParseTimestamp(iso); }

TEST(TimeZoneTest, DefaultIsUtc) {
  TimeZone utc;
  EXPECT_EQ(utc.name(), "UTC");
  EXPECT_EQ(utc.MinuteOfDay(At("2026-07-01T08:30:00Z")), 8 * 60 + 30);
  EXPECT_EQ(utc.FormatLocal(At("2026-07-01T08:30:59Z")), "2026-07-01 08:30 UTC");
}

TEST(TimeZoneTest, UnknownNamesAreRefusedWithTheName) {
  auto z = TimeZone::Find("Europe/Atlantis");
  ASSERT_FALSE(z);
  EXPECT_EQ(z.error().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(z.error().message().find("Europe/Atlantis"), std::string::npos);
  EXPECT_FALSE(TimeZone::Find(""));
}

// Europe/London in 2026: BST from 01:00 UTC on Sunday 29 March to 01:00 UTC
// on Sunday 25 October.
TEST(TimeZoneTest, LondonFollowsDaylightSavingBothWays) {
  auto london = TimeZone::Find("Europe/London");
  ASSERT_TRUE(london) << london.error().ToString();
  EXPECT_EQ(london->name(), "Europe/London");
  EXPECT_EQ(london->OffsetSeconds(At("2026-03-29T00:59:59Z")), 0);
  EXPECT_EQ(london->OffsetSeconds(At("2026-03-29T01:00:00Z")), 3600);
  EXPECT_EQ(london->MinuteOfDay(At("2026-03-29T00:59:00Z")), 59);      // 00:59 GMT
  EXPECT_EQ(london->MinuteOfDay(At("2026-03-29T01:00:00Z")), 2 * 60);  // 02:00 BST
  EXPECT_EQ(london->Abbreviation(At("2026-03-29T01:00:00Z")), "BST");
  EXPECT_EQ(london->FormatLocal(At("2026-06-30T23:30:00Z")), "2026-07-01 00:30 BST");
  EXPECT_EQ(london->OffsetSeconds(At("2026-10-25T00:59:59Z")), 3600);
  EXPECT_EQ(london->OffsetSeconds(At("2026-10-25T01:00:00Z")), 0);
  EXPECT_EQ(london->MinuteOfDay(At("2026-10-25T00:30:00Z")), 60 + 30);  // 01:30 BST
  EXPECT_EQ(london->MinuteOfDay(At("2026-10-25T01:30:00Z")), 60 + 30);  // 01:30 GMT, again
  EXPECT_EQ(london->Abbreviation(At("2026-12-01T12:00:00Z")), "GMT");
}

TEST(TimeZoneTest, OtherHemispheresAndTheProcessZoneDoNotMatter) {
  // The process's TZ is ignored: only the named zone counts.
  setenv("TZ", "Asia/Tokyo", 1);
  tzset();
  auto sydney = TimeZone::Find("Australia/Sydney");
  ASSERT_TRUE(sydney);
  // AEDT (+11) until 16:00 UTC on Saturday 4 April 2026, then AEST (+10).
  EXPECT_EQ(sydney->MinuteOfDay(At("2026-04-04T15:00:00Z")), 2 * 60);
  EXPECT_EQ(sydney->MinuteOfDay(At("2026-04-04T16:00:00Z")), 2 * 60);
  EXPECT_EQ(sydney->FormatLocal(At("2026-01-01T00:00:00Z")), "2026-01-01 11:00 AEDT");
  auto fixed = TimeZone::Find("Etc/GMT-3");  // POSIX sign: three hours east of UTC
  ASSERT_TRUE(fixed);
  EXPECT_EQ(fixed->MinuteOfDay(At("2026-01-01T22:00:00Z")), 60);
  unsetenv("TZ");
  tzset();
}

}  // namespace
}  // namespace switchboard
