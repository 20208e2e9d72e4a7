// Retention on both backends: a dry run counts exactly what the run then
// does and changes nothing; rows just inside their period survive; a lapsed
// member is anonymised only once the period has passed; the daily schedule.
#include "privacy/retention.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include "audit/testing/pairing.h"
#include "members/draft.h"
#include "members/testing_env.h"
#include "store/settings.h"
#include "store/testing/faulty_store.h"

namespace switchboard::privacy {
namespace {

constexpr Micros kHour = 3600 * kMicrosPerSecond;
constexpr Micros kDay = 24 * kHour;
// 2026-06-01 12:00 UTC.
constexpr Micros kNow = 1'780'315'200 * kMicrosPerSecond;

class RetentionTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_GE(sodium_init(), 0);
    env_.SetUp(GetParam());
    auto policy = access::ParsePolicy(access::DefaultPolicyToml(), "default");
    ASSERT_TRUE(policy) << policy.error().ToString();
    policy_ = *policy;
  }

  Status Exec(const std::string& sql, std::vector<store::Value> p = {}) {
    return env_.store_->WriteNow([&](store::Tx& tx) { return tx.Exec(sql, p).status(); });
  }
  std::int64_t Count(const std::string& sql) { return env_.Count(sql); }

  std::int64_t Member(const std::string& id, const std::string& status,
                      std::optional<std::int64_t> lapsed_on) {
    members::MemberDraft d;
    d.base.source = "native";
    d.base.external_id = id;
    d.base.unit = env_.tree_.FindByCode("E14000530")->id;
    d.base.first_name = "Retained";
    d.base.last_name = "Person" + id;
    d.base.status = status;
    d.base.lapsed_on = lapsed_on;
    d.email = *members::NormaliseEmail(id + "@example.org");
    members::MemberRecord r = members::SealDraft(std::move(d), *env_.sealer_);
    std::int64_t out = 0;
    EXPECT_TRUE(env_.store_
                    ->WriteNow([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(auto u, members::UpsertMember(tx, r, kNow, "import"));
                      out = u.id.value();
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }

  // One row just past each period and one just inside it.
  void Populate() {
    const std::int64_t today = kNow / kDay;
    const std::int64_t six_years = 6 * 36525 / 100;
    old_ = Member("lapsed-old", "lapsed", today - six_years - 1);
    edge_ = Member("lapsed-edge", "lapsed", today - six_years);
    current_ = Member("current", "current", std::nullopt);
    Member("lapsed-undated", "lapsed", std::nullopt);
    ASSERT_TRUE(Exec("INSERT INTO accounts (id, login, display_name, created_at) VALUES (1, "
                     "'caller', 'Caller', $1)",
                     {kNow})
                    .ok());
    auto at = [](Micros ago) { return store::Value(kNow - ago); };
    for (auto [tok, ago] : {std::pair{"s-old", 31 * kDay}, std::pair{"s-new", 29 * kDay}}) {
      ASSERT_TRUE(Exec("INSERT INTO sessions (token_hash, account_id, kind, second_factor, "
                       "created_at, last_seen_at, expires_at) VALUES ($1, 1, 'browser', 0, $2, "
                       "$2, $2)",
                       {std::string(tok), at(ago)})
                      .ok());
    }
    for (auto [tok, ago] : {std::pair{"l-old", 8 * kDay}, std::pair{"l-new", 6 * kDay}}) {
      ASSERT_TRUE(Exec("INSERT INTO account_links (token_hash, purpose, created_at, expires_at) "
                       "VALUES ($1, 'reset', $2, $2)",
                       {std::string(tok), at(ago)})
                      .ok());
    }
    for (auto [subj, ago] : {std::pair{"t-old", 2 * kDay}, std::pair{"t-new", 12 * kHour}}) {
      ASSERT_TRUE(Exec("INSERT INTO login_throttle (subject, failures, window_start, "
                       "locked_until) VALUES ($1, 3, $2, $2)",
                       {std::string(subj), at(ago)})
                      .ok());
    }
    ASSERT_TRUE(Exec("INSERT INTO campaigns (id, name, owner_id, scope_unit, purpose, audience, "
                     "script, survey, fields, calling_start, calling_end, starts_at, ends_at, "
                     "state, eligibility, pace, recall_minutes, max_passes, created_at, "
                     "updated_at) SELECT 1, 'Spring', 1, id, 'canvassing', '{}', 'Hi', '[]', "
                     "'name', 540, 1260, $1, $2, 'active', '{}', '{}', 60, 3, $1, $1 FROM units "
                     "ORDER BY id LIMIT 1",
                     {kNow - 90 * kDay, kNow + kDay})
                    .ok());
    for (auto [tok, ago] : {std::pair{"i-old", 31 * kDay}, std::pair{"i-new", 29 * kDay}}) {
      ASSERT_TRUE(Exec("INSERT INTO campaign_invites (campaign_id, token_hash, label, created_by, "
                       "created_at, expires_at, max_joins) VALUES (1, $1, 'x', 1, $2, $2, 5)",
                       {std::string(tok), at(ago)})
                      .ok());
    }
    int i = 0;
    for (Micros ago : {25 * kHour, 23 * kHour}) {
      ASSERT_TRUE(Exec("INSERT INTO campaign_targets (campaign_id, member_id, leased_by, "
                       "lease_expires) VALUES (1, $1, 1, $2)",
                       {i++ == 0 ? old_ : current_, at(ago)})
                      .ok());
    }
    ASSERT_TRUE(Exec("INSERT INTO accounts (id, login, display_name, created_at) VALUES (2, "
                     "'caller2', 'Caller 2', $1)",
                     {kNow})
                    .ok());
    i = 1;
    for (Micros ago : {25 * kHour, 23 * kHour}) {
      ASSERT_TRUE(Exec("INSERT INTO caller_endpoints (account_id, key_id, sealed, verify_hash, "
                       "created_at) VALUES ($1, 1, $2, 'h', $3)",
                       {std::int64_t{i++}, store::Value::Bytes("x"), at(ago)})
                      .ok());
    }
    ASSERT_TRUE(Exec("INSERT INTO messages (id, author_id, scope_unit, from_kind, from_name, "
                     "kind, audience, subject, text_body, html_body, version, content_hash, "
                     "state, created_at, updated_at) SELECT 1, 1, id, 'unit', 'U', 'newsletter', "
                     "'{}', 'S', 'T', 'H', 1, 'h', 'sent', $1, $1 FROM units ORDER BY id LIMIT 1",
                     {kNow - 100 * kDay})
                    .ok());
    i = 0;
    for (Micros ago : {91 * kDay, 89 * kDay}) {
      ASSERT_TRUE(Exec("INSERT INTO outbox (message_id, member_id, state, next_attempt_at, "
                       "updated_at) VALUES (1, $1, 'sent', $2, $2)",
                       {i++ == 0 ? edge_ : current_, at(ago)})
                      .ok());
      ASSERT_TRUE(Exec("INSERT INTO account_mail (purpose, key_id, sealed, state, "
                       "next_attempt_at, created_at, updated_at) VALUES ('reset', 1, $1, 'sent', "
                       "$2, $2, $2)",
                       {store::Value::Bytes(""), at(ago)})
                      .ok());
    }
  }

  std::vector<std::int64_t> Snapshot() {
    std::vector<std::int64_t> out;
    for (const char* t : {"sessions", "account_links", "login_throttle", "campaign_invites",
                          "caller_endpoints", "outbox", "account_mail", "audit_events"}) {
      out.push_back(Count(std::string("SELECT COUNT(*) FROM ") + t));
    }
    out.push_back(Count("SELECT COUNT(*) FROM campaign_targets WHERE leased_by IS NOT NULL"));
    out.push_back(Count("SELECT COUNT(*) FROM members WHERE status = 'erased'"));
    return out;
  }

  members::testing::RegisterEnv env_;
  access::Policy policy_;
  std::int64_t old_ = 0, edge_ = 0, current_ = 0;
};

TEST_P(RetentionTest, DryRunCountsWhatTheRunDoesAndChangesNothing) {
  Populate();
  const auto before = Snapshot();
  auto dry = RunRetention(*env_.store_, *env_.sealer_, policy_, kNow, true);
  ASSERT_TRUE(dry.has_value()) << dry.status().ToString();
  EXPECT_EQ(Snapshot(), before);
  auto real = RunRetention(*env_.store_, *env_.sealer_, policy_, kNow, false);
  ASSERT_TRUE(real.has_value()) << real.status().ToString();
  EXPECT_EQ(*dry, *real);
  for (const char* kind :
       {"lapsed_members", "sessions", "account_links", "login_throttle", "campaign_invites",
        "phonebank_leases", "caller_verification_codes", "outbox", "account_mail"}) {
    EXPECT_EQ(real->at(kind), 1) << kind;
  }
  // What was just inside its period is still there.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM sessions WHERE token_hash = 's-new'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM account_links WHERE token_hash = 'l-new'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM login_throttle WHERE subject = 't-new'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM campaign_invites WHERE token_hash = 'i-new'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM caller_endpoints WHERE account_id = 2"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM campaign_targets WHERE leased_by IS NOT NULL"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM account_mail"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM members WHERE status = 'erased' AND id = " +
                  std::to_string(old_)),
            1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM members WHERE status = 'erased'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events WHERE action = 'privacy.retention'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events WHERE action = 'privacy.erase' AND rule = "
                  "'retention'"),
            1);
  // Nothing more to do at once.
  auto again = RunRetention(*env_.store_, *env_.sealer_, policy_, kNow, true);
  ASSERT_TRUE(again.has_value());
  for (const auto& [kind, n] : *again) EXPECT_EQ(n, 0) << kind;
}

TEST_P(RetentionTest, LapsedMemberIsAnonymisedOnlyAfterThePeriod) {
  Populate();
  ManualClock clock(kNow);
  ASSERT_TRUE(RunRetention(*env_.store_, *env_.sealer_, policy_, clock.Now(), false).has_value());
  const std::string edge =
      "SELECT COUNT(*) FROM members WHERE status = 'erased' AND id = " + std::to_string(edge_);
  EXPECT_EQ(Count(edge), 0);
  clock.Advance(kDay);
  auto later = RunRetention(*env_.store_, *env_.sealer_, policy_, clock.Now(), false);
  ASSERT_TRUE(later.has_value()) << later.status().ToString();
  EXPECT_EQ(later->at("lapsed_members"), 1);
  EXPECT_EQ(Count(edge), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM members WHERE status = 'erased'"), 2);
  // Neither the current member nor the lapsed one without a date.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM members WHERE status <> 'erased'"), 2);
}

TEST_P(RetentionTest, RunsDailyAtTheHourAndCatchesUp) {
  auto zone = TimeZone::Find("Europe/London");
  ASSERT_TRUE(zone);
  // 2026-06-01 is in British Summer Time: 03:00 local is 02:00 UTC.
  const Micros three_local = kNow - 10 * kHour;
  EXPECT_EQ(LastScheduled(*zone, 3, kNow), three_local);
  EXPECT_EQ(LastScheduled(*zone, 3, three_local), three_local);
  EXPECT_EQ(LastScheduled(*zone, 3, three_local - 1), three_local - kDay);

  // Never run: due at once (a server started after a missed run catches up).
  auto first = RunRetentionIfDue(*env_.store_, *env_.sealer_, policy_, *zone, kNow);
  ASSERT_TRUE(first.has_value()) << first.status().ToString();
  EXPECT_TRUE(first->has_value());
  auto again = RunRetentionIfDue(*env_.store_, *env_.sealer_, policy_, *zone, kNow + kHour);
  ASSERT_TRUE(again.has_value());
  EXPECT_FALSE(again->has_value());
  // Next day, before 03:00 local: not yet; at 03:00: due.
  auto before_hour = RunRetentionIfDue(*env_.store_, *env_.sealer_, policy_, *zone,
                                       three_local + kDay - kMicrosPerSecond);
  ASSERT_TRUE(before_hour.has_value());
  EXPECT_FALSE(before_hour->has_value());
  auto at_hour = RunRetentionIfDue(*env_.store_, *env_.sealer_, policy_, *zone, three_local + kDay);
  ASSERT_TRUE(at_hour.has_value());
  EXPECT_TRUE(at_hour->has_value());
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events WHERE action = 'privacy.retention'"), 2);
}

// The purge and its privacy.retention event (with the counts) commit
// together: a failed append rolls the purge back, a failed purge leaves no
// event.
TEST_P(RetentionTest, ThePurgeAndItsEventCommitTogether) {
  Populate();
  store::testing::FaultyStore faulty(*env_.store_);
  audit::testing::ExpectPairedOnStore(
      faulty,
      {"privacy.retention",
       "DELETE FROM sessions",
       {"SELECT COUNT(*) FROM sessions", "SELECT COUNT(*) FROM account_links",
        "SELECT COUNT(*) FROM outbox", "SELECT COUNT(*) FROM account_mail"},
       nullptr},
      [&](store::Store& s) {
        return RunRetention(s, *env_.sealer_, policy_, kNow, false).status();
      });
  // What the successful run purged: the rows past their periods, no more.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM sessions"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM account_links"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM outbox"), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, RetentionTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace switchboard::privacy
