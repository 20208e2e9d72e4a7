// The breach register's arithmetic and drafts, without a store: the
// register itself runs through the API in server/api_breach_test.cc.
#include "privacy/breach.h"

#include <gtest/gtest.h>

namespace switchboard::privacy {
namespace {

constexpr Micros kHour = 3600 * kMicrosPerSecond;

Breach Sample() {
  Breach b;
  b.id = BreachId(7);
  b.discovered_at = *ParseTimestamp("2026-03-02T10:00:00Z");
  b.details = {"A caller's account was used to page through the register.",
               "names, membership details", "members in one constituency", "", ""};
  return b;
}

TEST(BreachDeadline, IsSeventyTwoHoursFromDiscoveryNotFromRecording) {
  Breach b = Sample();
  b.recorded_at = b.discovered_at + 30 * kHour;
  EXPECT_EQ(FormatTimestamp(b.deadline()), "2026-03-05T10:00:00Z");
  EXPECT_EQ(DeadlineText(b, b.discovered_at), "3 days 0 hours left");
  EXPECT_EQ(DeadlineText(b, b.recorded_at), "1 day 18 hours left");
  EXPECT_EQ(DeadlineText(b, b.deadline() - kHour - 1), "1 hour left");
  EXPECT_EQ(DeadlineText(b, b.deadline() + 26 * kHour), "overdue by 1 day 2 hours");
}

TEST(BreachStatus, FollowsTheLatestStepRecorded) {
  Breach b = Sample();
  EXPECT_EQ(b.status(), "open");
  b.reported_at = b.discovered_at + kHour;
  EXPECT_EQ(b.status(), "reported");
  b.notified_at = b.discovered_at + 2 * kHour;
  EXPECT_EQ(b.status(), "notified");
  b.closed_at = b.discovered_at + 3 * kHour;
  EXPECT_EQ(b.status(), "closed");
}

TEST(BreachDrafts, CarryTheIcoHeadingsCountsAndPlaceholders) {
  Breach b = Sample();
  std::string d = DraftForRegulator(b, "Example Party", "");
  for (const char* heading : {"What has happened", "When it happened and when we found out",
                              "The personal data and the people affected", "Likely consequences",
                              "Measures taken or proposed", "Contact"}) {
    EXPECT_NE(d.find(heading), std::string::npos) << heading;
  }
  EXPECT_NE(d.find("not been worked out yet"), std::string::npos);
  EXPECT_NE(d.find("[Describe the likely consequences"), std::string::npos);
  b.scope = AffectedScope{"account", 4, b.discovered_at - 48 * kHour, b.discovered_at};
  b.affected = 12;
  b.counts = {{"contact", 3}, {"name", 12}};
  b.details.consequences = "Members may get unwanted calls.";
  d = DraftForRegulator(b, "Example Party", "dpo@example.org");
  EXPECT_NE(d.find("12 members affected"), std::string::npos) << d;
  EXPECT_NE(d.find("e-mail addresses and phone numbers: 3 members"), std::string::npos) << d;
  EXPECT_NE(d.find("between 2026-02-28T10:00:00Z and 2026-03-02T10:00:00Z"), std::string::npos);
  EXPECT_NE(d.find("Members may get unwanted calls."), std::string::npos);
  EXPECT_EQ(d.find("[Describe the likely consequences"), std::string::npos);
  const std::string m = DraftForMembers(b, "Example Party", "");
  EXPECT_EQ(m.rfind("Dear member,", 0), 0u);
  EXPECT_NE(m.find("ico.org.uk"), std::string::npos);
}

}  // namespace
}  // namespace switchboard::privacy
