// The request queue: one calendar month to answer, reminders a week ahead
// and when late, closing once. Both backends.
#include "privacy/requests.h"

#include <gtest/gtest.h>

#include "audit/audit_log.h"
#include "members/register.h"
#include "members/testing_env.h"

namespace switchboard::privacy {
namespace {

std::int64_t Day(const char* iso) {
  return *ParseTimestamp(std::string(iso) + "T00:00:00Z") / kMicrosPerDay;
}

TEST(OneMonthLaterTest, TheSameDayNextMonthOrTheLastDayOfAShorterMonth) {
  EXPECT_EQ(OneMonthLater(Day("2026-03-02")), Day("2026-04-02"));
  EXPECT_EQ(OneMonthLater(Day("2026-01-31")), Day("2026-02-28"));
  EXPECT_EQ(OneMonthLater(Day("2028-01-31")), Day("2028-02-29"));  // leap year
  EXPECT_EQ(OneMonthLater(Day("2026-03-31")), Day("2026-04-30"));
  EXPECT_EQ(OneMonthLater(Day("2026-12-15")), Day("2027-01-15"));
  EXPECT_EQ(OneMonthLater(Day("2026-02-28")), Day("2026-03-28"));
}

class RequestsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    if (HasFatalFailure()) return;
    members::MemberRecord r;
    r.source = "native";
    r.external_id = "1";
    r.unit = env_.tree_.FindByCode("E14000530")->id;
    r.first_name = "Ada";
    r.last_name = "Example";
    r.content_hash = "h1";
    ASSERT_TRUE(env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(auto up, members::UpsertMember(tx, r, 1, "test"));
                      member_ = up.id;
                      return Status::Ok();
                    })
                    .ok());
  }

  access::Acting At(Micros now) {
    access::Acting a;
    a.now = now;
    a.request_id = "test";
    return a;
  }

  members::testing::RegisterEnv env_;
  MemberId member_;
};

TEST_P(RequestsTest, ARequestIsDueOneMonthLaterWithRemindersAWeekAheadAndWhenLate) {
  const Micros received = *ParseTimestamp("2026-01-31T15:00:00Z");
  PrivacyRequest r;
  ASSERT_TRUE(env_.store_
                  ->Write([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(r, RecordRequest(tx, At(received), RequestKind::kAccess,
                                                         member_, "letter", received));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(r.due_day, Day("2026-02-28"));
  EXPECT_EQ(r.due_at, *ParseTimestamp("2026-03-01T00:00:00Z"));
  EXPECT_EQ(r.days_left, 28);
  EXPECT_EQ(r.reminder, "");

  auto at = [&](const char* when) {
    PrivacyRequest got;
    std::vector<PrivacyRequest> reminders;
    EXPECT_TRUE(env_.store_
                    ->Read([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(got, GetRequest(tx, r.id, *ParseTimestamp(when)));
                      SB_ASSIGN_OR_RETURN(reminders, Reminders(tx, *ParseTimestamp(when)));
                      return Status::Ok();
                    })
                    .ok());
    EXPECT_EQ(reminders.size(), got.reminder.empty() ? 0u : 1u) << when;
    return got;
  };
  EXPECT_EQ(at("2026-02-20T23:00:00Z").reminder, "");
  EXPECT_EQ(at("2026-02-20T23:00:00Z").days_left, 8);
  EXPECT_EQ(at("2026-02-21T00:00:00Z").reminder, "due_soon");
  EXPECT_EQ(at("2026-02-21T00:00:00Z").days_left, 7);
  EXPECT_EQ(at("2026-02-28T23:59:59Z").reminder, "due_soon");
  EXPECT_EQ(at("2026-02-28T23:59:59Z").days_left, 0);
  EXPECT_EQ(at("2026-03-01T00:00:00Z").reminder, "overdue");
  EXPECT_EQ(at("2026-03-03T10:00:00Z").days_left, -3);

  // Closing ends the reminders, once; both are on the record.
  const Micros late = *ParseTimestamp("2026-03-03T10:00:00Z");
  ASSERT_TRUE(env_.store_
                  ->Write([&](store::Tx& tx) -> Status {
                    return CloseRequest(tx, At(late), r.id).status();
                  })
                  .ok());
  EXPECT_EQ(at("2026-03-03T10:00:00Z").state, "closed");
  EXPECT_EQ(at("2026-03-03T10:00:00Z").reminder, "");
  Status again = env_.store_->Write(
      [&](store::Tx& tx) -> Status { return CloseRequest(tx, At(late), r.id).status(); });
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM audit_events WHERE action LIKE 'privacy.request.%'"),
            2);
}

TEST_P(RequestsTest, BadRequestsAreRefusedAndRecordNothing) {
  const Micros now = *ParseTimestamp("2026-03-02T10:00:00Z");
  auto record = [&](MemberId m, const char* source, Micros received) {
    return env_.store_->Write([&](store::Tx& tx) -> Status {
      return RecordRequest(tx, At(now), RequestKind::kErasure, m, source, received).status();
    });
  };
  EXPECT_EQ(record(MemberId(member_.value() + 1000), "email", now).code(), StatusCode::kNotFound);
  EXPECT_EQ(record(member_, "", now).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(record(member_, "email", now + kMicrosPerDay).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM privacy_requests"), 0);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM audit_events"), 0);
}

TEST_P(RequestsTest, TheListPutsOpenRequestsFirstBySoonestDue) {
  const Micros now = *ParseTimestamp("2026-03-02T10:00:00Z");
  std::vector<std::int64_t> ids;
  for (int back : {3, 20, 10}) {
    ASSERT_TRUE(env_.store_
                    ->Write([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(
                          auto r, RecordRequest(tx, At(now), RequestKind::kAccess, member_, "email",
                                                now - back * kMicrosPerDay));
                      ids.push_back(r.id);
                      return Status::Ok();
                    })
                    .ok());
  }
  ASSERT_TRUE(
      env_.store_->Write([&](store::Tx& tx) { return CloseRequest(tx, At(now), ids[1]).status(); })
          .ok());
  std::vector<PrivacyRequest> all;
  ASSERT_TRUE(env_.store_
                  ->Read([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(all, ListRequests(tx, {}, now));
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, ids[2]);
  EXPECT_EQ(all[1].id, ids[0]);
  EXPECT_EQ(all[2].id, ids[1]);
  EXPECT_EQ(all[2].state, "closed");
}

INSTANTIATE_TEST_SUITE_P(Backends, RequestsTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::privacy
