#include "access/guard/quota.h"

#include <gtest/gtest.h>

#include "access/guard/guard_testing.h"

namespace switchboard::access {
namespace {

class QuotaTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    account_ = env_.NewAccount("officer.test", clock_.Now());
  }

  static Role RoleWith(std::int64_t per_day, std::int64_t per_hour) {
    Role r;
    r.name = "officer";
    r.capabilities = {"member.view", "member.search"};
    r.quotas["member.view"] = Quota{per_day, per_hour};
    return r;
  }

  QuotaCheck Spend(const Role& role, int cost = 1, std::string_view cap = "member.view") {
    QuotaCheck out;
    Status st = env_.Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(out, Charge(tx, account_, role, cap, clock_.Now(), cost));
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }
  QuotaCheck Look(const Role& role, int cost = 1, Micros at = -1) {
    QuotaCheck out;
    Status st = env_.store_->Read([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(
          out, Peek(tx, account_, role, "member.view", at < 0 ? clock_.Now() : at, cost));
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }
  std::int64_t StoredMilli(const std::string& period) {
    return env_.Count(
        "SELECT milli_tokens FROM quota_buckets WHERE account_id = $1 AND capability = "
        "'member.view' AND period = $2",
        {account_.value(), period});
  }

  testing::GuardEnv env_;
  ManualClock clock_{*ParseTimestamp("2026-11-24T09:13:00Z")};
  AccountId account_;
};

TEST_P(QuotaTest, AllowsTheQuotaThenRefusesSayingWhenItResets) {
  const Role role = RoleWith(3, 0);
  const Micros start = clock_.Now();
  for (int i = 0; i < 3; ++i) {
    QuotaCheck c = Spend(role);
    EXPECT_TRUE(c.allow) << i;
    EXPECT_EQ(c.remaining, 2 - i);
    EXPECT_EQ(c.period, "day");
    EXPECT_EQ(c.limit, 3);
  }
  QuotaCheck refused = Spend(role);
  EXPECT_FALSE(refused.allow);
  EXPECT_EQ(refused.period, "day");
  EXPECT_EQ(refused.remaining, 0);
  // One token of a 3-per-day bucket takes 86400/3 s to come back.
  EXPECT_EQ(refused.resets_at, start + 28'800 * kMicrosPerSecond);
  EXPECT_EQ(QuotaRefusalReason("member.view", refused),
            "over the member.view quota of 3 per day; resets at 2026-11-24T17:13:00Z");

  Decision allow;
  allow.allow = true;
  allow.rule = "grant.covers";
  allow.grant = GrantId(42);
  Decision deny = QuotaDeny(allow, "member.view", refused);
  EXPECT_FALSE(deny.allow);
  EXPECT_EQ(deny.rule, "quota.exceeded");
  EXPECT_EQ(deny.grant, GrantId(42));
  EXPECT_EQ(deny.reason(), QuotaRefusalReason("member.view", refused));
  EXPECT_TRUE(deny.fields().empty());

  // Exact to the microsecond: one before, still refused, with the same time.
  clock_.Set(refused.resets_at - 1);
  QuotaCheck early = Spend(role);
  EXPECT_FALSE(early.allow);
  EXPECT_EQ(early.resets_at, refused.resets_at);
  clock_.Set(refused.resets_at);
  QuotaCheck back = Spend(role);
  EXPECT_TRUE(back.allow);
  EXPECT_EQ(back.remaining, 0);
  EXPECT_FALSE(Spend(role).allow);
}

TEST_P(QuotaTest, ReasonRoundsTheResetTimeUp) {
  QuotaCheck c;
  c.allow = false;
  c.period = "hour";
  c.limit = 7;
  c.resets_at = *ParseTimestamp("2026-11-24T09:13:00Z") + 1;
  EXPECT_EQ(QuotaRefusalReason("member.search", c),
            "over the member.search quota of 7 per hour; resets at 2026-11-24T09:13:01Z");
}

TEST_P(QuotaTest, RefillsContinuouslyUpToTheQuota) {
  const Role role = RoleWith(0, 60);
  QuotaCheck all = Spend(role, 60);
  ASSERT_TRUE(all.allow);
  EXPECT_EQ(all.remaining, 0);
  EXPECT_EQ(all.period, "hour");
  QuotaCheck refused = Spend(role);
  EXPECT_FALSE(refused.allow);
  EXPECT_EQ(refused.resets_at, clock_.Now() + 60 * kMicrosPerSecond);  // one a minute

  clock_.Advance(30 * 60 * kMicrosPerSecond);
  EXPECT_EQ(Look(role).remaining, 30);
  EXPECT_FALSE(Spend(role, 31).allow);
  QuotaCheck half = Spend(role, 30);
  EXPECT_TRUE(half.allow);
  EXPECT_EQ(half.remaining, 0);

  // Spending each token as it comes back: one a minute.
  for (int i = 0; i < 10; ++i) {
    clock_.Advance(60 * kMicrosPerSecond);
    EXPECT_TRUE(Spend(role).allow) << i;
  }
  EXPECT_FALSE(Spend(role).allow);

  // Never more than the quota, however long the account waits.
  clock_.Advance(2 * kMicrosPerDay);
  EXPECT_EQ(Look(role).remaining, 60);
  QuotaCheck too_big = Spend(role, 61);
  EXPECT_FALSE(too_big.allow);
  EXPECT_EQ(too_big.remaining, 60);
  EXPECT_TRUE(Spend(role, 60).allow);
}

TEST_P(QuotaTest, ChargesBetweenRefillsLoseNoFractionOfAToken) {
  // 7 per hour: a token every 514.28... s, which no whole number of
  // milli-tokens per microsecond describes.
  const Role role = RoleWith(0, 7);
  const Micros start = clock_.Now();
  ASSERT_TRUE(Spend(role, 7).allow);
  clock_.Advance(600 * kMicrosPerSecond);  // 1.1666... tokens back
  ASSERT_TRUE(Spend(role).allow);
  QuotaCheck refused = Spend(role);
  EXPECT_FALSE(refused.allow);
  // The second token is back at exactly 2/7 of an hour after the bucket
  // emptied, whenever the first was spent: the 0.1666... carried over.
  EXPECT_EQ(refused.resets_at, start + 1'028'571'429);
  clock_.Set(refused.resets_at);
  EXPECT_TRUE(Spend(role).allow);
}

TEST_P(QuotaTest, StatePersistsAcrossARestart) {
  const Role role = RoleWith(3, 0);
  ASSERT_TRUE(Spend(role).allow);
  ASSERT_TRUE(Spend(role).allow);
  env_.Reopen();
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM quota_buckets"), 1);
  QuotaCheck peek = Look(role);
  EXPECT_TRUE(peek.allow);
  EXPECT_EQ(peek.remaining, 1);
  EXPECT_TRUE(Spend(role).allow);
  QuotaCheck refused = Spend(role);
  EXPECT_FALSE(refused.allow);
  env_.Reopen();
  QuotaCheck again = Look(role);
  EXPECT_FALSE(again.allow);
  EXPECT_EQ(again.resets_at, refused.resets_at);
}

TEST_P(QuotaTest, ARefusalConsumesNothing) {
  const Role role = RoleWith(5, 0);
  ASSERT_TRUE(Spend(role, 4).allow);
  EXPECT_EQ(StoredMilli("day"), 1000);
  for (int i = 0; i < 3; ++i) {
    QuotaCheck refused = Spend(role, 2);
    EXPECT_FALSE(refused.allow);
    EXPECT_EQ(refused.remaining, 1);
  }
  EXPECT_EQ(StoredMilli("day"), 1000);
  QuotaCheck last = Spend(role, 1);
  EXPECT_TRUE(last.allow);
  EXPECT_EQ(last.remaining, 0);
  EXPECT_EQ(StoredMilli("day"), 0);
}

TEST_P(QuotaTest, PeekWritesNothing) {
  const Role role = RoleWith(2, 0);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(Look(role).allow);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM quota_buckets"), 0);
  EXPECT_EQ(Look(role).remaining, 2);
  EXPECT_FALSE(Look(role, 3).allow);
}

TEST_P(QuotaTest, BothPerHourAndPerDayAreEnforced) {
  const Role role = RoleWith(5, 2);
  const Micros start = clock_.Now();
  EXPECT_TRUE(Spend(role).allow);
  QuotaCheck second = Spend(role);
  EXPECT_TRUE(second.allow);
  EXPECT_EQ(second.period, "hour");  // the bucket with fewer tokens left
  EXPECT_EQ(second.remaining, 0);
  QuotaCheck by_hour = Spend(role);
  EXPECT_FALSE(by_hour.allow);
  EXPECT_EQ(by_hour.period, "hour");
  EXPECT_EQ(by_hour.limit, 2);
  EXPECT_EQ(by_hour.resets_at, start + 30 * 60 * kMicrosPerSecond);
  // The hour's refusal did not touch the day's bucket.
  EXPECT_EQ(StoredMilli("day"), 3000);

  clock_.Advance(3600 * kMicrosPerSecond);
  EXPECT_TRUE(Spend(role).allow);
  EXPECT_TRUE(Spend(role).allow);
  clock_.Advance(3600 * kMicrosPerSecond);
  // Four spent, and two hours' refill of the day bucket is 5/12 of a token.
  QuotaCheck fifth = Spend(role);
  ASSERT_TRUE(fifth.allow);
  EXPECT_EQ(fifth.period, "day");
  EXPECT_EQ(fifth.remaining, 0);
  QuotaCheck by_day = Spend(role);
  EXPECT_FALSE(by_day.allow);
  EXPECT_EQ(by_day.period, "day");
  EXPECT_EQ(by_day.limit, 5);
  // The hour bucket has a token now; the day bucket is the one that binds.
  EXPECT_GT(by_day.resets_at, clock_.Now() + 3600 * kMicrosPerSecond);
  EXPECT_FALSE(Look(role, 1, by_day.resets_at - 1).allow);
  EXPECT_TRUE(Look(role, 1, by_day.resets_at).allow);
}

TEST_P(QuotaTest, ZeroOrNoQuotaIsUnlimited) {
  const Role role = RoleWith(0, 0);
  Status st = env_.Write([&](store::Tx& tx) -> Status {
    for (int i = 0; i < 500; ++i) {
      SB_ASSIGN_OR_RETURN(QuotaCheck c, Charge(tx, account_, role, "member.view", clock_.Now()));
      if (!c.allow || c.remaining != -1 || !c.period.empty()) {
        return Status::Internal("limited at charge " + std::to_string(i));
      }
      // member.search has no quota entry at all.
      SB_ASSIGN_OR_RETURN(QuotaCheck s,
                          Charge(tx, account_, role, "member.search", clock_.Now(), 50));
      if (!s.allow) return Status::Internal("search limited at charge " + std::to_string(i));
    }
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.ToString();
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM quota_buckets"), 0);
}

TEST_P(QuotaTest, QuotasAreSeparatePerAccountAndCapability) {
  Role role = RoleWith(1, 0);
  role.quotas["member.search"] = Quota{1, 0};
  const AccountId other = env_.NewAccount("officer.other", clock_.Now());
  EXPECT_TRUE(Spend(role).allow);
  EXPECT_FALSE(Spend(role).allow);
  EXPECT_TRUE(Spend(role, 1, "member.search").allow);
  QuotaCheck theirs;
  ASSERT_TRUE(env_.Write([&](store::Tx& tx) -> Status {
                    SB_ASSIGN_OR_RETURN(theirs,
                                        Charge(tx, other, role, "member.view", clock_.Now()));
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_TRUE(theirs.allow);
}

TEST_P(QuotaTest, ARolledBackChargeSpendsNothing) {
  const Role role = RoleWith(1, 0);
  Status st = env_.Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(QuotaCheck c, Charge(tx, account_, role, "member.view", clock_.Now()));
    EXPECT_TRUE(c.allow);
    return Status::Aborted("the request failed after charging");
  });
  EXPECT_EQ(st.code(), StatusCode::kAborted);
  EXPECT_TRUE(Spend(role).allow);
  EXPECT_FALSE(Spend(role).allow);
}

TEST_P(QuotaTest, ACostBelowOneIsAnError) {
  const Role role = RoleWith(3, 0);
  Status st = env_.Write([&](store::Tx& tx) {
    return Charge(tx, account_, role, "member.view", clock_.Now(), 0).status();
  });
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, QuotaTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::access
