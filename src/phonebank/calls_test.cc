// A call's life cycle through the phone bank's operations, with the sandbox
// connector, on both backends: its states and duration, hanging up, the
// concurrency limits, a caller's own phone not answering, the kill switch and
// reconciling after a crash.
#include <gtest/gtest.h>

#include "access/store/access_store.h"
#include "core/testing/status_matchers.h"
#include "members/register.h"
#include "members/testing_env.h"
#include "phonebank/connector.h"
#include "phonebank/operations.h"

namespace switchboard::phonebank {
namespace {

class CallsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    env_.SetUp(GetParam());
    ASSERT_FALSE(HasFatalFailure());
    policy_ = std::move(access::ParsePolicy(access::DefaultPolicyToml(), "policy").value());
    aldershot_ = env_.tree_.FindByCode("E14000530")->id;
    organiser_ = Account("organiser");
    for (const char* login : {"caller.one", "caller.two", "caller.three"}) {
      callers_.push_back(Account(login));
    }
    for (int i = 1; i <= 8; ++i) Member(std::to_string(i));
    sandbox_ = std::make_unique<SandboxConnector>(*env_.sealer_);
    Limits({});
  }

  void Limits(CallLimits limits) {
    ops_ = std::make_unique<Operations>(policy_, env_.tree_, *env_.sealer_,
                                        *TimeZone::Find("Europe/London"), *sandbox_,
                                        NoCampaignHooks(), limits);
  }

  Status Write(const store::TxFn& fn) { return env_.store_->Write(fn); }
  Micros Now() const { return clock_.Now(); }
  void Advance(int seconds) { clock_.Advance(seconds * kMicrosPerSecond); }

  AccountId Account(const std::string& login) {
    AccountId id;
    EXPECT_OK(Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(id, access::CreateAccount(tx, {login, "T", MemberId(), false}, Now()));
      return Status::Ok();
    }));
    return id;
  }

  void Member(const std::string& ext) {
    members::MemberRecord r;
    r.source = "native";
    r.external_id = ext;
    r.unit = aldershot_;
    r.first_name = "First" + ext;
    r.last_name = "Last";
    r.status = "current";
    r.joined_on = 18000;
    r.consents = members::kConsentPhone;
    r.content_hash = "h" + ext;
    const std::string phone = "+447700900" + std::string(3 - ext.size(), '0') + ext;
    r.contacts.push_back({"phone", "mobile", env_.sealer_->Seal(phone, "phone"),
                          env_.sealer_->BlindIndex("phone", phone)});
    EXPECT_OK(
        Write([&](store::Tx& tx) { return members::UpsertMember(tx, r, Now(), "t").status(); }));
  }

  access::Acting As(AccountId account) const {
    access::Acting a;
    a.account = account;
    a.display_name = "T";
    a.now = Now();
    a.request_id = "req";
    return a;
  }

  // A live campaign that `callers` joined, each with a verified phone.
  Campaign LiveJoined(const std::vector<AccountId>& callers, int ring_seconds = 0) {
    Campaign c;
    c.ring_seconds = ring_seconds;
    c.name = "Autumn calls";
    c.owner = organiser_;
    c.scope = aldershot_;
    c.purpose = "ask members about the branch AGM";
    c.script = "Hello";
    c.starts_at = Now();
    c.ends_at = Now() + 14 * kMicrosPerDay;
    EXPECT_OK(Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(c.id, InsertCampaign(tx, env_.tree_, c, Now()));
      SB_RETURN_IF_ERROR(SetState(tx, env_.tree_, c, CampaignState::kLive, Now()).status());
      SB_ASSIGN_OR_RETURN(NewInvite inv, CreateInvite(tx, c, organiser_, "list", 0, 10, Now()));
      for (AccountId a : callers) {
        SB_RETURN_IF_ERROR(Join(tx, env_.tree_, c, inv.invite, a, Now()).status());
        SB_ASSIGN_OR_RETURN(EndpointVerification v,
                            RegisterEndpoint(tx, *env_.sealer_, a, "+447700900999", Now()));
        SB_RETURN_IF_ERROR(VerifyEndpoint(tx, a, v.code, Now()));
      }
      return Status::Ok();
    }));
    c.state = CampaignState::kLive;
    return c;
  }

  // Leases the next member of `c` to `caller`, first spending call ids (rows
  // that never started, outside every pace window) until the lease's call is
  // one whose sandbox timeline ends with `end`.
  Lease LeaseEnding(const Campaign& c, AccountId caller, std::string_view end) {
    Lease out;
    EXPECT_OK(Write([&](store::Tx& tx) -> Status {
      for (int i = 0; i < 10; ++i) {
        SB_ASSIGN_OR_RETURN(std::int64_t last,
                            tx.QueryInt("SELECT COALESCE(MAX(id), 0) FROM calls"));
        if (SandboxConnector::TimelineOf(CallId(last + 1)).end == end) break;
        SB_RETURN_IF_ERROR(tx.Exec("INSERT INTO calls (campaign_id, member_id, caller_id, "
                                   "connector, state, started_at) VALUES ($1, (SELECT MIN(id) "
                                   "FROM members), $2, 'none', 'ended', 0)",
                                   {c.id.value(), caller.value()})
                               .status());
      }
      SB_ASSIGN_OR_RETURN(NextResult n, Next(tx, c, caller, Now()));
      if (!n.lease) return Status::Internal("no lease");
      out = *n.lease;
      return Status::Ok();
    }));
    EXPECT_EQ(SandboxConnector::TimelineOf(out.call).end, end) << "call " << out.call.value();
    return out;
  }

  Result<CallState> Connect(const Campaign& c, AccountId caller) {
    Result<CallState> out = Status::Internal("not run");
    Status st = Write([&](store::Tx& tx) -> Status {
      out = ops_->Connect(tx, As(caller), c.id);
      return out.status();
    });
    if (!st.ok()) return st;
    return out;
  }

  CallState StatusOf(CallId call, AccountId caller) {
    CallState s;
    EXPECT_OK(Write([&](store::Tx& tx) -> Status {
      SB_ASSIGN_OR_RETURN(s, sandbox_->Status(tx, call, caller, Now()));
      return Status::Ok();
    }));
    return s;
  }

  Result<CallState> Hangup(const Campaign& c, AccountId caller, CallId call) {
    Result<CallState> out = Status::Internal("not run");
    Status st = Write([&](store::Tx& tx) -> Status {
      out = ops_->Hangup(tx, As(caller), c.id, call);
      return out.status();
    });
    if (!st.ok()) return st;
    return out;
  }

  std::int64_t Count(const std::string& sql) { return env_.Count(sql); }

  template <typename T>
  static T Value(Result<T> r) {
    EXPECT_TRUE(r.has_value()) << r.status().ToString();
    return r.has_value() ? *std::move(r) : T{};
  }

  members::testing::RegisterEnv env_;
  ManualClock clock_{*ParseTimestamp("2026-03-02T10:00:00Z")};  // a Monday, calling hours
  access::Policy policy_;
  UnitId aldershot_;
  AccountId organiser_;
  std::vector<AccountId> callers_;
  std::unique_ptr<SandboxConnector> sandbox_;
  std::unique_ptr<Operations> ops_;
};

TEST_P(CallsTest, TheSandboxRunsTheLifeCycleAndRecordsTheDuration) {
  const Campaign c = LiveJoined({callers_[0]});
  const AccountId me = callers_[0];
  const Lease lease = LeaseEnding(c, me, "completed");
  CallState call = Value(Connect(c, me));
  EXPECT_EQ(call.state, "calling_you");
  EXPECT_EQ(call.id, lease.call);
  Advance(SandboxConnector::kCallerRingSeconds);
  EXPECT_EQ(StatusOf(call.id, me).state, "calling_member");
  Advance(SandboxConnector::kMemberRingSeconds + 5);
  CallState talking = StatusOf(call.id, me);
  EXPECT_EQ(talking.state, "connected");
  EXPECT_EQ(talking.duration_seconds, 5);
  // The row follows the timeline, for the organiser's live counts.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM calls WHERE state = 'connected'"), 1);
  Advance(SandboxConnector::kTalkSeconds);
  CallState ended = StatusOf(call.id, me);
  EXPECT_EQ(ended.state, "ended");
  EXPECT_EQ(ended.end, "completed");
  EXPECT_EQ(ended.suggested, "");
  EXPECT_EQ(ended.duration_seconds, SandboxConnector::kTalkSeconds);
  EXPECT_EQ(Count("SELECT duration_seconds FROM calls WHERE state = 'ended' AND end_reason = "
                  "'completed'"),
            SandboxConnector::kTalkSeconds);
  // The lease stays for the outcome.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM campaign_targets WHERE leased_by IS NOT NULL"), 1);
}

TEST_P(CallsTest, ABusyMemberEndsTheCallWithBusySuggested) {
  const Campaign c = LiveJoined({callers_[0]});
  const AccountId me = callers_[0];
  LeaseEnding(c, me, "busy");
  CallState call = Value(Connect(c, me));
  Advance(SandboxConnector::kCallerRingSeconds + SandboxConnector::kBusySeconds);
  CallState ended = StatusOf(call.id, me);
  EXPECT_EQ(ended.state, "ended");
  EXPECT_EQ(ended.end, "busy");
  EXPECT_EQ(ended.suggested, "busy");
  EXPECT_EQ(ended.duration_seconds, 0);
}

TEST_P(CallsTest, TheSandboxRingsTheMemberForTheCampaignsRingTime) {
  constexpr int kRing = 20;
  static_assert(kRing > SandboxConnector::kNoAnswerSeconds);
  const Campaign c = LiveJoined({callers_[0]}, kRing);
  const AccountId me = callers_[0];
  LeaseEnding(c, me, "no_answer");
  CallState call = Value(Connect(c, me));
  EXPECT_EQ(Count("SELECT ring_seconds FROM calls WHERE state = 'calling_you'"), kRing);
  // Past the sandbox's own no-answer time the member's phone still rings.
  Advance(SandboxConnector::kCallerRingSeconds + SandboxConnector::kNoAnswerSeconds + 1);
  EXPECT_EQ(StatusOf(call.id, me).state, "calling_member");
  Advance(kRing - SandboxConnector::kNoAnswerSeconds - 2);
  EXPECT_EQ(StatusOf(call.id, me).state, "calling_member");
  Advance(1);
  const CallState ended = StatusOf(call.id, me);
  EXPECT_EQ(ended.state, "ended");
  EXPECT_EQ(ended.end, "no_answer");
  EXPECT_EQ(ended.suggested, "no_answer");
  // Ended at the instant the ring time ran out.
  EXPECT_EQ(Count("SELECT (ended_at - connected_at) / 1000000 FROM calls WHERE end_reason = "
                  "'no_answer'"),
            SandboxConnector::kCallerRingSeconds + kRing);
}

TEST_P(CallsTest, HangingUpEndsTheCallAndRecordsHowLongItLasted) {
  const Campaign c = LiveJoined({callers_[0], callers_[1]});
  const AccountId me = callers_[0];
  LeaseEnding(c, me, "completed");
  CallState call = Value(Connect(c, me));
  // Someone else's hang-up finds nothing.
  EXPECT_EQ(Hangup(c, callers_[1], call.id).status().code(), StatusCode::kNotFound);
  Advance(SandboxConnector::kCallerRingSeconds + SandboxConnector::kMemberRingSeconds + 7);
  CallState hung = Value(Hangup(c, me, call.id));
  EXPECT_EQ(hung.state, "ended");
  EXPECT_EQ(hung.end, "completed");
  EXPECT_EQ(hung.duration_seconds, 7);
  EXPECT_EQ(Count("SELECT duration_seconds FROM calls WHERE state = 'ended'"), 7);
  // The timeline reaching its own end later changes nothing.
  Advance(SandboxConnector::kLongestSeconds);
  EXPECT_EQ(StatusOf(call.id, me).duration_seconds, 7);
  CallState again = Value(Hangup(c, me, call.id));
  EXPECT_EQ(again.duration_seconds, 7);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM audit_events WHERE action = 'phonebank.hangup'"), 2);
}

TEST_P(CallsTest, TheTotalLimitRefusesConnectUntilALineIsFree) {
  Limits({.total = 2, .per_campaign = 2});
  const Campaign a = LiveJoined({callers_[0], callers_[1]});
  const Campaign b = LiveJoined({callers_[2]});
  LeaseEnding(a, callers_[0], "completed");
  CallState first = Value(Connect(a, callers_[0]));
  LeaseEnding(b, callers_[2], "completed");
  ASSERT_OK(Connect(b, callers_[2]).status());
  LeaseEnding(a, callers_[1], "completed");
  Status refused = Connect(a, callers_[1]).status();
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(refused.message().find("at most 2 calls at once"), std::string::npos)
      << refused.message();
  // Nothing of the refused call was recorded; the lease is kept.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM calls WHERE state = 'calling_you'"), 2);
  ASSERT_OK(Hangup(a, callers_[0], first.id).status());
  CallState second = Value(Connect(a, callers_[1]));
  EXPECT_EQ(second.state, "calling_you");
}

TEST_P(CallsTest, ThePerCampaignLimitCountsOnlyThatCampaignAndFreesWhenACallEnds) {
  Limits({.total = 10, .per_campaign = 1});
  const Campaign a = LiveJoined({callers_[0], callers_[1]});
  const Campaign b = LiveJoined({callers_[2]});
  LeaseEnding(a, callers_[0], "busy");
  ASSERT_OK(Connect(a, callers_[0]).status());
  LeaseEnding(b, callers_[2], "completed");
  EXPECT_OK(Connect(b, callers_[2]).status());
  LeaseEnding(a, callers_[1], "completed");
  Status refused = Connect(a, callers_[1]).status();
  EXPECT_EQ(refused.code(), StatusCode::kResourceExhausted);
  EXPECT_NE(refused.message().find("this campaign"), std::string::npos) << refused.message();
  // The busy call ends by its timeline, unasked: its line is free again.
  Advance(SandboxConnector::kCallerRingSeconds + SandboxConnector::kBusySeconds);
  EXPECT_OK(Connect(a, callers_[1]).status());
}

TEST_P(CallsTest, ACallerWhoseOwnPhoneDoesNotAnswerGetsTheLeaseBackWithoutUsingAPass) {
  const Campaign c = LiveJoined({callers_[0]});
  const AccountId me = callers_[0];
  const Lease lease = LeaseEnding(c, me, "caller_no_answer");
  CallState call = Value(Connect(c, me));
  Advance(SandboxConnector::kNoAnswerSeconds - 1);
  EXPECT_EQ(StatusOf(call.id, me).state, "calling_you");
  Advance(1);
  CallState ended = StatusOf(call.id, me);
  EXPECT_EQ(ended.state, "ended");
  EXPECT_EQ(ended.end, "caller_no_answer");
  EXPECT_EQ(ended.suggested, "");
  // The member goes back untouched: no pass, no outcome, callable now.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM campaign_targets WHERE leased_by IS NOT NULL"), 0);
  EXPECT_EQ(Count("SELECT SUM(passes) FROM campaign_targets"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM campaign_targets WHERE done = 1"), 0);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM calls WHERE outcome IS NOT NULL"), 0);
  Status outcome =
      Write([&](store::Tx& tx) { return ops_->Outcome(tx, As(me), c.id, "no_answer", ""); });
  EXPECT_EQ(outcome.code(), StatusCode::kFailedPrecondition);
  // Reported again, the end counts once.
  EXPECT_OK(Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(bool again, Connector::RecordEnd(tx, call.id, "caller_no_answer", Now()));
    return again ? Status::Internal("recorded twice") : Status::Ok();
  }));
  // The same member is the next one offered (fewest passes, due first).
  ASSERT_OK(Write([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(NextResult n, Next(tx, c, me, Now()));
    if (!n.lease) return Status::Internal("no lease");
    EXPECT_EQ(n.lease->member, lease.member);
    EXPECT_NE(n.lease->call, lease.call);
    return Status::Ok();
  }));
}

TEST_P(CallsTest, TheKillSwitchEndsEveryActiveCallOfTheCampaign) {
  const Campaign a = LiveJoined({callers_[0], callers_[1]});
  const Campaign b = LiveJoined({callers_[2]});
  LeaseEnding(a, callers_[0], "completed");
  ASSERT_OK(Connect(a, callers_[0]).status());
  LeaseEnding(a, callers_[1], "completed");
  ASSERT_OK(Connect(a, callers_[1]).status());
  LeaseEnding(b, callers_[2], "completed");
  ASSERT_OK(Connect(b, callers_[2]).status());
  Advance(SandboxConnector::kCallerRingSeconds + SandboxConnector::kMemberRingSeconds + 4);
  ASSERT_OK(Write([&](store::Tx& tx) -> Status {
    access::Acting org = As(organiser_);
    Campaign after;
    return ops_->ChangeState(tx, org, a.id, CampaignState::kKilled, after).status();
  }));
  int ended = Value(ops_->EndCalls(*env_.store_, a.id, Now()));
  EXPECT_EQ(ended, 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM calls WHERE state = 'ended' AND end_reason = 'killed' "
                  "AND duration_seconds = 4"),
            2);
  // The other campaign's call goes on.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM calls WHERE state = 'connected'"), 1);
  // The server stopping ends the rest.
  int rest = Value(ops_->EndCalls(*env_.store_, std::nullopt, Now()));
  EXPECT_EQ(rest, 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM calls WHERE state IN ('calling_you', 'calling_member', "
                  "'connected')"),
            0);
}

TEST_P(CallsTest, ReconcileAtStartEndsWhatACrashLeftAndKeepsTheLeases) {
  const Campaign c = LiveJoined({callers_[0], callers_[1], callers_[2]});
  LeaseEnding(c, callers_[0], "completed");
  ASSERT_OK(Connect(c, callers_[0]).status());
  LeaseEnding(c, callers_[1], "completed");
  ASSERT_OK(Connect(c, callers_[1]).status());
  LeaseEnding(c, callers_[2], "busy");
  ASSERT_OK(Connect(c, callers_[2]).status());
  // The server dies; it starts again after the busy call's timeline ended.
  Advance(SandboxConnector::kCallerRingSeconds + SandboxConnector::kBusySeconds + 1);
  int lost = Value(ops_->Reconcile(*env_.store_, Now()));
  EXPECT_EQ(lost, 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM calls WHERE end_reason = 'lost'"), 2);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM calls WHERE end_reason = 'busy'"), 1);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM calls WHERE state IN ('calling_you', 'calling_member', "
                  "'connected')"),
            0);
  // Every lease is still held, and each outcome counts one pass, once.
  EXPECT_EQ(Count("SELECT COUNT(*) FROM campaign_targets WHERE leased_by IS NOT NULL"), 3);
  for (AccountId caller : callers_) {
    EXPECT_OK(
        Write([&](store::Tx& tx) { return ops_->Outcome(tx, As(caller), c.id, "no_answer", ""); }));
  }
  EXPECT_EQ(Count("SELECT SUM(passes) FROM campaign_targets"), 3);
  EXPECT_EQ(Count("SELECT COUNT(*) FROM campaign_targets WHERE leased_by IS NOT NULL"), 0);
  // A second start finds nothing left.
  int again = Value(ops_->Reconcile(*env_.store_, Now()));
  EXPECT_EQ(again, 0);
}

TEST_P(CallsTest, AnOutcomeSavedDuringACallHangsItUp) {
  const Campaign c = LiveJoined({callers_[0]});
  const AccountId me = callers_[0];
  LeaseEnding(c, me, "completed");
  ASSERT_OK(Connect(c, me).status());
  Advance(SandboxConnector::kCallerRingSeconds + SandboxConnector::kMemberRingSeconds + 3);
  ASSERT_OK(Write([&](store::Tx& tx) { return ops_->Outcome(tx, As(me), c.id, "answered", ""); }));
  EXPECT_EQ(Count("SELECT duration_seconds FROM calls WHERE state = 'ended' AND outcome = "
                  "'answered'"),
            3);
}

TEST_P(CallsTest, ProgressCountsTheCallsGoingOnByState) {
  const Campaign c = LiveJoined({callers_[0], callers_[1]});
  LeaseEnding(c, callers_[0], "completed");
  ASSERT_OK(Connect(c, callers_[0]).status());
  Advance(SandboxConnector::kCallerRingSeconds + SandboxConnector::kMemberRingSeconds);
  LeaseEnding(c, callers_[1], "completed");
  ASSERT_OK(Connect(c, callers_[1]).status());  // settles the first: connected
  Progress p;
  ASSERT_OK(env_.store_->Read([&](store::Tx& tx) -> Status {
    SB_ASSIGN_OR_RETURN(p, ops_->ProgressOf(tx, As(organiser_), c.id));
    return Status::Ok();
  }));
  EXPECT_EQ(p.live.calling_you, 1);
  EXPECT_EQ(p.live.calling_member, 0);
  EXPECT_EQ(p.live.connected, 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, CallsTest, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace switchboard::phonebank
