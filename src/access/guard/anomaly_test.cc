#include "access/guard/anomaly.h"

#include <gtest/gtest.h>

#include "access/guard/guard_testing.h"
#include "access/store/access_store.h"
#include "audit/audit_log.h"

namespace switchboard::access {
namespace {

constexpr Micros kHour = 3600 * kMicrosPerSecond;

class AnomalyTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    policy_ = std::move(ParsePolicy(DefaultPolicyToml(), "policy").value());
    account_ = env_.NewAccount("officer.test", clock_.Now());
    other_ = env_.NewAccount("officer.other", clock_.Now());
    dpo_ = env_.NewAccount("dpo.test", clock_.Now());
  }

  AnomalyOutcome See(AccountId who, Observation::Kind kind, std::vector<MemberId> members = {},
                     std::string capability = "member.view") {
    AnomalyOutcome out;
    Observation obs{who,          std::move(capability),
                    kind,         std::move(members),
                    clock_.Now(), "req-" + std::to_string(++requests_)};
    Status st = env_.Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(out, Observe(tx, policy_, obs));
      return Status::Ok();
    });
    EXPECT_TRUE(st.ok()) << st.ToString();
    return out;
  }
  AnomalyOutcome See(Observation::Kind kind, std::vector<MemberId> members = {}) {
    return See(account_, kind, std::move(members));
  }
  // `n` distinct member ids starting at `first` (rows need not exist).
  static std::vector<MemberId> Ids(int n, int first = 1000) {
    std::vector<MemberId> v;
    for (int i = 0; i < n; ++i) v.emplace_back(first + i);
    return v;
  }
  AccountState StateOf(AccountId id) {
    AccountState s = AccountState::kDisabled;
    EXPECT_TRUE(env_.store_
                    ->Read([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(Account a, GetAccount(tx, id));
                      s = a.state;
                      return Status::Ok();
                    })
                    .ok());
    return s;
  }
  std::int64_t OpenSessions(AccountId id) {
    return env_.Count("SELECT COUNT(*) FROM sessions WHERE account_id = $1 AND revoked_at IS NULL",
                      {id.value()});
  }
  std::int64_t Events(const std::string& action, const std::string& rule) {
    return env_.Count("SELECT COUNT(*) FROM audit_events WHERE action = $1 AND rule = $2",
                      {action, rule});
  }
  std::vector<audit::Event> AllEvents() {
    std::vector<audit::Event> out;
    EXPECT_TRUE(env_.store_
                    ->Read([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(out, audit::AuditLog::Query(tx, {}));
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }
  std::vector<Alert> List(const AlertFilter& f) {
    std::vector<Alert> out;
    EXPECT_TRUE(env_.store_
                    ->Read([&](store::Tx& tx) -> Status {
                      SB_ASSIGN_OR_RETURN(out, ListAlerts(tx, f));
                      return Status::Ok();
                    })
                    .ok());
    return out;
  }

  testing::GuardEnv env_;
  ManualClock clock_{*ParseTimestamp("2026-03-01T00:00:00Z")};
  Policy policy_;
  AccountId account_, other_, dpo_;
  int requests_ = 0;
};

// ---- Probing ----

TEST_P(AnomalyTest, RefusalsWithinTheWindowSuspendAtExactlyTheThreshold) {
  policy_.anomaly_probe_run = 5;
  const std::int64_t s1 = env_.NewSession(account_, clock_.Now());
  env_.NewSession(account_, clock_.Now());
  const std::int64_t old = env_.NewSession(account_, clock_.Now());
  ASSERT_TRUE(env_.Write([&](store::Tx& tx) {
                    return tx
                        .Exec(
                            "UPDATE sessions SET revoked_at = $2, revoke_reason = 'logout' "
                            "WHERE id = $1",
                            {old, clock_.Now()})
                        .status();
                  })
                  .ok());
  env_.NewSession(other_, clock_.Now());

  for (int i = 0; i < 2; ++i) {
    clock_.Advance(kMicrosPerSecond);
    AnomalyOutcome o = See(i % 2 ? Observation::kDenied : Observation::kNotFound, Ids(1));
    EXPECT_TRUE(o.alerts.empty()) << i;
    EXPECT_FALSE(o.suspended);
  }
  // Allowed requests in between do not reset the count: a scraper would
  // interleave them.
  EXPECT_TRUE(See(Observation::kAllowed).alerts.empty());
  EXPECT_TRUE(See(Observation::kAllowed, Ids(2)).alerts.empty());
  for (int i = 0; i < 2; ++i) {
    clock_.Advance(kMicrosPerSecond);
    EXPECT_TRUE(See(Observation::kDenied).alerts.empty()) << i;
  }
  // Another account's denials are its own run.
  EXPECT_TRUE(See(other_, Observation::kDenied).alerts.empty());
  EXPECT_EQ(StateOf(account_), AccountState::kActive);
  EXPECT_EQ(OpenSessions(account_), 2);

  clock_.Advance(kMicrosPerSecond);
  AnomalyOutcome fifth = See(Observation::kNotFound, Ids(1, 77));
  ASSERT_EQ(fifth.alerts.size(), 1u);
  EXPECT_EQ(fifth.alerts[0].rule, "anomaly.probing");
  EXPECT_EQ(fifth.alerts[0].severity, "severe");
  EXPECT_EQ(fifth.alerts[0].account, account_);
  EXPECT_EQ(fifth.alerts[0].detail,
            "5 denials or not-founds within 60 minutes; the last: member.view (not found)");
  EXPECT_TRUE(fifth.suspended);

  EXPECT_EQ(StateOf(account_), AccountState::kSuspended);
  EXPECT_EQ(OpenSessions(account_), 0);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM sessions WHERE account_id = $1 AND revoked_at = $2 "
                       "AND revoke_reason LIKE 'suspended by anomaly.probing%'",
                       {account_.value(), clock_.Now()}),
            2);
  EXPECT_EQ(
      env_.Count("SELECT COUNT(*) FROM sessions WHERE id = $1 AND revoke_reason = 'logout'", {old}),
      1);
  EXPECT_EQ(
      env_.Count("SELECT COUNT(*) FROM sessions WHERE id = $1 AND revoked_at IS NOT NULL", {s1}),
      1);
  EXPECT_EQ(OpenSessions(other_), 1);
  EXPECT_EQ(StateOf(other_), AccountState::kActive);
  EXPECT_EQ(Events("alert.raised", "anomaly.probing"), 1);
  EXPECT_EQ(Events("account.suspend", "anomaly.probing"), 1);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM alerts"), 1);
}

TEST_P(AnomalyTest, RefusalsSpreadBeyondTheWindowStartAgain) {
  policy_.anomaly_probe_run = 3;
  policy_.anomaly_probe_window_minutes = 60;
  env_.NewSession(account_, clock_.Now());
  // Two refusals, then the third 61 minutes after the first: a new window.
  EXPECT_TRUE(See(Observation::kDenied).alerts.empty());
  clock_.Advance(30 * 60 * kMicrosPerSecond);
  EXPECT_TRUE(See(Observation::kNotFound).alerts.empty());
  clock_.Advance(31 * 60 * kMicrosPerSecond);
  EXPECT_TRUE(See(Observation::kDenied).alerts.empty());
  // Two more inside the new window make three: suspended.
  clock_.Advance(59 * 60 * kMicrosPerSecond);
  EXPECT_TRUE(See(Observation::kDenied).alerts.empty());
  AnomalyOutcome third = See(Observation::kNotFound);
  ASSERT_EQ(third.alerts.size(), 1u);
  EXPECT_TRUE(third.suspended);
  EXPECT_EQ(StateOf(account_), AccountState::kSuspended);
}

TEST_P(AnomalyTest, ARolledBackObservationLeavesNoTrace) {
  policy_.anomaly_probe_run = 5;
  env_.NewSession(account_, clock_.Now());
  env_.NewSession(account_, clock_.Now());
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(See(Observation::kDenied).alerts.empty());

  // The fifth denial suspends, but the request's transaction fails later.
  bool suspended_inside = false;
  Status st = env_.Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(
        AnomalyOutcome o,
        Observe(
            tx, policy_,
            {account_, "member.view", Observation::kDenied, {}, clock_.Now(), "req-rolled-back"}));
    suspended_inside = o.suspended;
    return Status::Aborted("the request failed after observing");
  });
  EXPECT_EQ(st.code(), StatusCode::kAborted);
  EXPECT_TRUE(suspended_inside);
  EXPECT_EQ(StateOf(account_), AccountState::kActive);
  EXPECT_EQ(OpenSessions(account_), 2);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM alerts"), 0);
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM audit_events"), 0);
  // The run is still four: the next denial is the fifth.
  AnomalyOutcome next = See(Observation::kDenied);
  EXPECT_TRUE(next.suspended);
  EXPECT_EQ(StateOf(account_), AccountState::kSuspended);
  EXPECT_EQ(OpenSessions(account_), 0);
}

// ---- Canaries ----

TEST_P(AnomalyTest, ACanaryTouchSuspendsAtOnce) {
  const MemberId m1 = env_.NewMember("Ada", "Ordinary", clock_.Now());
  const MemberId m2 = env_.NewMember("Bea", "Ordinary", clock_.Now());
  const MemberId canary = env_.NewMember("Cal", "Seeded", clock_.Now());
  env_.MakeCanary(canary, clock_.Now());
  env_.NewSession(account_, clock_.Now());

  AnomalyOutcome plain = See(account_, Observation::kAllowed, {m1, m2}, "member.search");
  EXPECT_TRUE(plain.alerts.empty());
  EXPECT_FALSE(plain.suspended);
  // A denied attempt reads nothing: it counts toward probing only.
  EXPECT_TRUE(See(Observation::kDenied, {canary}).alerts.empty());
  EXPECT_EQ(StateOf(account_), AccountState::kActive);

  AnomalyOutcome touched = See(Observation::kAllowed, {m2, canary});
  ASSERT_EQ(touched.alerts.size(), 1u);
  EXPECT_EQ(touched.alerts[0].rule, "anomaly.canary");
  EXPECT_EQ(touched.alerts[0].severity, "severe");
  EXPECT_EQ(touched.alerts[0].detail,
            "canary member " + canary.ToString() + " touched through member.view");
  EXPECT_TRUE(touched.suspended);
  EXPECT_EQ(StateOf(account_), AccountState::kSuspended);
  EXPECT_EQ(OpenSessions(account_), 0);
  EXPECT_EQ(Events("alert.raised", "anomaly.canary"), 1);
  EXPECT_EQ(Events("account.suspend", "anomaly.canary"), 1);
}

TEST_P(AnomalyTest, ADisabledAccountStaysDisabled) {
  const MemberId canary = env_.NewMember("Cal", "Seeded", clock_.Now());
  env_.MakeCanary(canary, clock_.Now());
  ASSERT_TRUE(env_.Write([&](store::Tx& tx) {
                    return SetAccountState(tx, account_, AccountState::kDisabled, "left",
                                           clock_.Now());
                  })
                  .ok());
  env_.NewSession(account_, clock_.Now());
  AnomalyOutcome o = See(Observation::kAllowed, {canary});
  ASSERT_EQ(o.alerts.size(), 1u);
  EXPECT_EQ(StateOf(account_), AccountState::kDisabled);
  EXPECT_EQ(OpenSessions(account_), 0);
  EXPECT_EQ(Events("account.suspend", "anomaly.canary"), 0);
}

// ---- Rate ----

TEST_P(AnomalyTest, ABurstAboveBaselineAndFloorRaisesOneWarningAnHour) {
  policy_.anomaly_rate_factor = 5;
  policy_.anomaly_rate_floor_per_hour = 20;
  policy_.anomaly_baseline_days = 3;
  // Baseline: 10 touches in every hour of the three previous days (mean 10).
  for (int h = 0; h < 72; ++h) {
    ASSERT_TRUE(See(Observation::kAllowed, Ids(10)).alerts.empty()) << h;
    clock_.Advance(kHour);
  }
  clock_.Advance(5 * 60 * kMicrosPerSecond);  // 00:05 on the fourth day
  // 45 is above the floor but not above 5 x 10.
  EXPECT_TRUE(See(Observation::kAllowed, Ids(45)).alerts.empty());
  // 55 is above both.
  AnomalyOutcome burst = See(Observation::kAllowed, Ids(10, 5000));
  ASSERT_EQ(burst.alerts.size(), 1u);
  EXPECT_EQ(burst.alerts[0].rule, "anomaly.rate");
  EXPECT_EQ(burst.alerts[0].severity, "warning");
  EXPECT_EQ(burst.alerts[0].detail,
            "55 record touches in the hour from 2026-03-04T00:00:00Z; own baseline 10.0 per hour "
            "over 3 days; factor 5, floor 20");
  EXPECT_FALSE(burst.suspended);
  // More in the same hour: no second alert.
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(60 * kMicrosPerSecond);
    EXPECT_TRUE(See(Observation::kAllowed, Ids(30, 6000)).alerts.empty()) << i;
  }
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM alerts WHERE rule = 'anomaly.rate'"), 1);
  EXPECT_EQ(StateOf(account_), AccountState::kActive);

  // The next hour starts afresh; its baseline now includes the busy hour
  // (10 x 71 + 145 = 855 over 72 hours: 5 x mean = 59.4).
  clock_.Advance(kHour);
  EXPECT_TRUE(See(Observation::kAllowed, Ids(59)).alerts.empty());
  AnomalyOutcome again = See(Observation::kAllowed, Ids(1, 7000));
  ASSERT_EQ(again.alerts.size(), 1u);
  EXPECT_EQ(again.alerts[0].rule, "anomaly.rate");
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM alerts WHERE rule = 'anomaly.rate'"), 2);
  EXPECT_EQ(Events("alert.raised", "anomaly.rate"), 2);
  // Hours older than the baseline window were pruned.
  EXPECT_EQ(
      env_.Count("SELECT MIN(hour) FROM anomaly_hours WHERE account_id = $1", {account_.value()}),
      env_.Count("SELECT MAX(hour) FROM anomaly_hours WHERE account_id = $1", {account_.value()}) -
          72);
}

TEST_P(AnomalyTest, BelowTheFloorNothingHoweverFarAboveTheBaseline) {
  policy_.anomaly_rate_factor = 5;
  policy_.anomaly_rate_floor_per_hour = 20;
  policy_.anomaly_baseline_days = 3;
  // A baseline of 1 per hour: 72 touches once, two days ago.
  ASSERT_TRUE(See(Observation::kAllowed, Ids(72)).alerts.size() == 1u);  // new account: 72 > 20
  clock_.Advance(2 * kMicrosPerDay);
  // 20 is 20 x the baseline but not above the floor.
  EXPECT_TRUE(See(Observation::kAllowed, Ids(20)).alerts.empty());
  AnomalyOutcome over = See(Observation::kAllowed, Ids(1, 9000));
  ASSERT_EQ(over.alerts.size(), 1u);
  EXPECT_EQ(over.alerts[0].rule, "anomaly.rate");

  // A new account has no baseline: the floor alone decides.
  EXPECT_TRUE(See(other_, Observation::kAllowed, Ids(20)).alerts.empty());
  EXPECT_EQ(See(other_, Observation::kAllowed, Ids(1, 9000)).alerts.size(), 1u);
}

// ---- Audit and personal data ----

TEST_P(AnomalyTest, AlertsAreAuditedWithoutPersonalData) {
  policy_.anomaly_probe_run = 3;
  const MemberId canary = env_.NewMember("Zebedee", "Quixotic-Smythe", clock_.Now());
  const MemberId plain = env_.NewMember("Yolanda", "Xerxes-Wilberforce", clock_.Now());
  env_.MakeCanary(canary, clock_.Now());
  See(Observation::kAllowed, {plain, canary});
  for (int i = 0; i < 3; ++i) See(other_, Observation::kNotFound, {plain});

  std::vector<audit::Event> events = AllEvents();
  ASSERT_EQ(events.size(), 4u);
  int raised = 0, suspended = 0;
  for (const audit::Event& e : events) {
    const std::string body = audit::Encode(e);
    for (const char* pii : {"Zebedee", "Quixotic", "Smythe", "Yolanda", "Xerxes", "Wilberforce"}) {
      EXPECT_EQ(body.find(pii), std::string::npos) << body;
    }
    if (e.action == "alert.raised") {
      ++raised;
      if (e.rule == "anomaly.canary") {
        EXPECT_EQ(e.actor, account_.value());
        EXPECT_EQ(e.members, (std::vector<std::int64_t>{std::min(plain, canary).value(),
                                                        std::max(plain, canary).value()}));
        EXPECT_EQ(e.request_id, "req-1");
      } else {
        EXPECT_EQ(e.rule, "anomaly.probing");
        EXPECT_EQ(e.actor, other_.value());
      }
    } else {
      EXPECT_EQ(e.action, "account.suspend");
      ++suspended;
    }
  }
  EXPECT_EQ(raised, 2);
  EXPECT_EQ(suspended, 2);
  // The canary's own audit trail shows the alert.
  std::vector<audit::Event> about;
  ASSERT_TRUE(env_.store_
                  ->Read([&](store::Tx& tx) -> Status {
                    audit::QueryFilter f;
                    f.member = canary.value();
                    SB_ASSIGN_OR_RETURN(about, audit::AuditLog::Query(tx, f));
                    return Status::Ok();
                  })
                  .ok());
  ASSERT_EQ(about.size(), 1u);
  EXPECT_EQ(about[0].rule, "anomaly.canary");
  for (const Alert& a : List({})) {
    for (const char* pii : {"Zebedee", "Quixotic", "Yolanda", "Xerxes"}) {
      EXPECT_EQ(a.detail.find(pii), std::string::npos) << a.detail;
    }
  }
}

// ---- The DPO's queue ----

TEST_P(AnomalyTest, TheDpoListsAndAcknowledgesAlerts) {
  policy_.anomaly_probe_run = 3;
  for (int i = 0; i < 3; ++i) {
    clock_.Advance(kMicrosPerSecond);
    See(Observation::kDenied);
  }
  clock_.Advance(kMicrosPerSecond);
  for (int i = 0; i < 3; ++i) See(other_, Observation::kDenied);
  std::vector<Alert> open = List({.open_only = true});
  ASSERT_EQ(open.size(), 2u);
  EXPECT_EQ(open[0].account, other_);  // newest first
  EXPECT_EQ(open[1].account, account_);
  ASSERT_EQ(List({.account = account_}).size(), 1u);
  EXPECT_EQ(List({.limit = 1}).size(), 1u);
  const AlertId id = open[1].id;

  auto ack = [&](AlertId a, std::string_view note) {
    return env_.Write(
        [&](store::Tx& tx) { return AcknowledgeAlert(tx, a, dpo_, note, clock_.Now()); });
  };
  EXPECT_EQ(ack(id, "").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ack(AlertId(id.value() + 100), "no such").code(), StatusCode::kNotFound);
  ASSERT_TRUE(ack(id, "spoke to the officer; mistyped ids").ok());
  EXPECT_EQ(ack(id, "again").code(), StatusCode::kFailedPrecondition);

  open = List({.open_only = true});
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].account, other_);
  std::vector<Alert> mine = List({.account = account_});
  ASSERT_EQ(mine.size(), 1u);
  EXPECT_EQ(mine[0].acknowledged_at, clock_.Now());
  EXPECT_EQ(mine[0].acknowledged_by, dpo_);
  EXPECT_EQ(mine[0].acknowledge_note, "spoke to the officer; mistyped ids");
  EXPECT_EQ(env_.Count("SELECT COUNT(*) FROM audit_events WHERE action = 'alert.acknowledge' AND "
                       "actor = $1 AND rule = 'anomaly.probing'",
                       {dpo_.value()}),
            1);
  // Acknowledging does not reinstate; reinstatement is a separate decision.
  EXPECT_EQ(StateOf(account_), AccountState::kSuspended);
  ASSERT_TRUE(env_.Write([&](store::Tx& tx) {
                    return SetAccountState(tx, account_, AccountState::kActive,
                                           "reinstated after review", clock_.Now());
                  })
                  .ok());
  // The run restarted at the alert: two more denials are not yet probing.
  EXPECT_TRUE(See(Observation::kDenied).alerts.empty());
  EXPECT_TRUE(See(Observation::kDenied).alerts.empty());
  EXPECT_EQ(StateOf(account_), AccountState::kActive);
}

INSTANTIATE_TEST_SUITE_P(Backends, AnomalyTest, ::testing::Values("sqlite", "postgres"));

}  // namespace
}  // namespace switchboard::access
